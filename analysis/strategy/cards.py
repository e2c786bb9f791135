"""The first screen of a report: 4–6 KPI cards and the alerts (issue 22 item 1).

A card is one figure a manager reads first — revenue, buying customers, new customers, retention, the CLV of the
customer base, the value at stake of the planned actions — with its change against the previous period and a year
ago (the same number of days, from the summary's headline table), the figure without flagged orders when those move
a change by at least ``flagged_points`` points of growth, a one-line *why* where the kit knows it, and an
*unreliable* note when the figure rests on fewer than ``min_customers`` customers, and a trend line: the card's
measure over the last :data:`TREND_PERIODS` periods (:func:`kpi_trend`, the same computation as the card's value).
Computation only: the HTML is :func:`analysis.report.cards.cards_html`; the words come from the catalogs
(``cards.*``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.text import format as fmt
from analysis.text import t
from analysis.window import Window, month_coverage, period_bounds

if TYPE_CHECKING:
    from analysis.strategy.executive import Flagged

#: (card, headline-table row or None, kind) in reading order; ``kind`` is money, count or pct.
CARD_FIELDS: tuple[tuple[str, str | None, str], ...] = (
    ("revenue", "revenue", "money"),
    ("buyers", "customers", "count"),
    ("new_customers", "new_customers", "count"),
    ("retention_rate", "retention_rate", "pct"),
    ("clv", None, "money"),
    ("value_at_stake", None, "money"),
)


#: Periods a card's trend line shows, this run's period included.
TREND_PERIODS = 12
#: Card -> the KPI (:func:`analysis.customers.kpi.kpi_totals`) its trend line follows. The CLV of the base and the
#: value at stake are figures of this run's scoring only: they have no history to draw.
TREND_MEASURES: dict[str, str] = {
    "revenue": "revenue",
    "buyers": "customers",
    "new_customers": "new_customers",
    "retention_rate": "retention_rate",
}
#: Sums over a period's sales: 0 in a period of the data without sales (rates have no value then).
_ADDITIVE = frozenset({"revenue", "customers", "new_customers"})


@dataclass(frozen=True)
class Trend:
    """One KPI over the periods up to this run's, oldest first: ``periods`` (``YYYY-MM``), ``values`` (NaN where the
    data cannot give one), ``days`` (the days of each period the data cover), ``period_days`` (its length) and
    ``covered`` (:func:`analysis.window.month_coverage`: the first and last day the data cover of a partial month,
    None for a whole one).

    A period is *partial* when the data cover only part of it (:meth:`partial`, the kit's one definition, as every
    chart marks it): this run's period when the data end inside it, the data's first month when they start inside it.
    """

    periods: tuple[str, ...]
    values: tuple[float, ...]
    days: tuple[int, ...]
    period_days: tuple[int, ...]
    covered: tuple[tuple[pd.Timestamp, pd.Timestamp] | None, ...] = ()

    def partial(self, i: int) -> bool:
        """Whether the data cover only part of period ``i``."""
        if self.covered:
            return self.covered[i] is not None
        return self.days[i] < self.period_days[i]

    def __len__(self) -> int:
        return len(self.periods)


def trend_windows(
    window: Window, n: int = TREND_PERIODS
) -> list[tuple[str, tuple[pd.Timestamp, pd.Timestamp], tuple[pd.Timestamp, pd.Timestamp]]]:
    """The windows of a trend line: ``(period, (first, last), retention base)`` for the ``n`` calendar months up to
    this run's, oldest first, leaving out months that end before the data start.

    Each month is the window a run of that month scores (the same :class:`~analysis.window.Window` rules, so an
    earlier month is whole), its retention base ``Window.before`` of it, as in the headline; this run's month is
    exactly the headline's window (``window.start`` to ``window.as_of``), so the line's last point is the card's
    value.
    """
    p = pd.Period(window.period, freq="M")
    out = []
    for k in range(n - 1, -1, -1):
        w = window if k == 0 else replace(window, period=str(p - k))
        if k and window.data_start is not None and w.period_end < window.data_start.normalize():
            continue
        bounds = (w.start, w.as_of)
        out.append((w.period, bounds, w.before(bounds)))
    return out


def kpi_trend(
    transactions: pd.DataFrame,
    window: Window,
    n: int = TREND_PERIODS,
    *,
    net_revenue: Callable[[pd.Timestamp, pd.Timestamp], float] | None = None,
) -> dict[str, Trend]:
    """Each card's KPI (:data:`TREND_MEASURES`) over the windows of :func:`trend_windows`, by card key.

    Every value is :func:`analysis.customers.kpi.kpi_totals` of one window with its retention base, the call the
    summary makes for the headline (so this run's point equals the card); revenue is ``net_revenue(first, last)``
    when given — the summary passes :meth:`analysis.stages.Cleaned.money`'s ``net``, which also subtracts the returns
    matched to no purchase, as the card's value does — else the sum of ``transactions``' amounts (a net log without
    unmatched returns). Where the data cannot give a value it is
    NaN, as in the headline: no new customers in the data's first month (every buyer's first purchase is in it), no
    retention when its base month starts before the data. A month of the data without sales counts 0 revenue,
    buyers and new customers.
    """
    from analysis.customers import kpi

    first_day = window.data_start.normalize() if window.data_start is not None else None
    last_day = window.data_end.normalize() if window.data_end is not None else None
    periods, days, lengths, covered = [], [], [], []
    values: dict[str, list[float]] = {card: [] for card in TREND_MEASURES}
    for period, (first, last), base in trend_windows(window, n):
        totals = kpi.kpi_totals(transactions, first, last, previous=base)
        if net_revenue is not None:  # NaN (no sales) stays NaN unless returns moved the window's revenue
            net = float(net_revenue(first, last))
            if net or not pd.isna(totals.get("revenue")):
                totals = totals.copy()
                totals["revenue"] = net
        start, end = period_bounds(period)
        part = month_coverage(period, first_day, last_day)
        lo, hi = part if part is not None else (start, end)
        if (first_day is not None and end < first_day) or (last_day is not None and start > last_day):
            lo, hi = start, start - pd.Timedelta(days=1)  # no day of it in the data
        periods.append(period)
        covered.append(part)
        days.append(int((hi - lo).days) + 1)
        lengths.append(int((end - start).days) + 1)
        for card, measure in TREND_MEASURES.items():
            v = totals.get(measure, math.nan)
            v = math.nan if v is None or pd.isna(v) else float(v)
            if math.isnan(v) and measure in _ADDITIVE and days[-1] > 0:
                v = 0.0
            if first_day is not None and (
                (measure == "new_customers" and first_day >= start)
                or (measure == "retention_rate" and base[0] < first_day)
            ):
                v = math.nan
            values[card].append(v)
    return {
        card: Trend(tuple(periods), tuple(v), tuple(days), tuple(lengths), tuple(covered))
        for card, v in values.items()
        if any(not math.isnan(x) for x in v)
    }


@dataclass(frozen=True)
class KpiCard:
    """One KPI card. ``change`` / ``change_vs_year``: a fraction (``pct`` cards: a difference in points, also a
    fraction), NaN when there is nothing to compare with (``unavailable`` then holds the reason per comparison,
    ``previous`` / ``year_ago``). ``without_flagged`` and its changes are set only when flagged orders move a change
    by at least the threshold. ``why`` and ``unreliable`` are sentences in the run's language ("" when none).
    ``flagged_orders`` / ``flagged_revenue``: this period's flagged orders (``is_outlier``), how many and their revenue
    (currency) — the summary's one count (:class:`analysis.strategy.executive.Flagged`, the count the executive note
    states); ``flagged_orders`` is None when not known. The card's sentence about the figure without flagged orders
    is chosen by this count, never by whether the two figures look the same once rounded."""

    key: str
    kind: str
    value: float
    change: float = math.nan
    change_vs_year: float = math.nan
    without_flagged: float = math.nan
    change_without_flagged: float = math.nan
    change_vs_year_without_flagged: float = math.nan
    unavailable: dict[str, str] = field(default_factory=dict)
    why: str = ""
    unreliable: str = ""
    #: the card's measure over the last periods (:func:`kpi_trend`); None for a figure without history
    trend: Trend | None = None
    flagged_orders: int | None = None
    flagged_revenue: float = 0.0

    @property
    def shows_unflagged(self) -> bool:
        """Whether the card shows the figure without flagged orders."""
        return not math.isnan(self.without_flagged)


def _get(row: pd.Series | None, col: str) -> float:
    if row is None or col not in row.index:
        return math.nan
    v = row[col]
    return float(v) if v is not None and not pd.isna(v) else math.nan


def _moved(a: float, b: float, threshold: float) -> bool:
    return not (math.isnan(a) or math.isnan(b)) and abs(a - b) >= threshold


def kpi_cards(
    head: pd.DataFrame,
    headline: dict[str, Any],
    actions: pd.DataFrame,
    unavailable: dict[str, str],
    currency: str,
    language: str,
    *,
    action_names: dict[Any, str] | None = None,
    clv_reason: str = "",
    flagged_points: float = 10.0,
    min_customers: int = 20,
    trends: dict[str, Trend] | None = None,
    flagged: Flagged | None = None,
) -> list[KpiCard]:
    """The KPI cards of a run.

    Parameters
    ----------
    head : DataFrame
        The summary's headline table (:func:`analysis.strategy.executive.headline_kpis`, with
        :func:`~analysis.strategy.executive.with_unflagged`'s columns when some orders are flagged).
    headline : dict
        The summary's ``headline`` (``clv_total``, ``customers``, ``buyers``).
    actions : DataFrame
        The plan's actions (``customers``, ``value_at_stake``, ``priority``), index the action id.
    unavailable : dict
        Why a comparison (``previous``, ``year_ago``) or a KPI (``new_customers``) has no data, as shown.
    currency, language : str
    action_names : dict, optional
        Action id -> its name in ``language`` (for the value-at-stake card's *why*).
    clv_reason : str
        Why the CLV figures are what they are (e.g. the run-rate fallback), in ``language``.
    flagged_points : float, default=10
        Flagged orders moving a change by at least this many points of growth show the figure without them.
    min_customers : int, default=20
        A figure resting on fewer customers is marked unreliable, with the count.
    trends : dict, optional
        Card key -> its trend line (:func:`kpi_trend`).
    flagged : Flagged, optional
        The flagged orders of each window, as counted once by the summary for the executive note
        (:func:`analysis.strategy.executive.flagged_sentences`); this period's count and revenue go on the cards of
        the headline table (``flagged_orders``, ``flagged_revenue``). Without it the count is unknown (None).
    """
    threshold = flagged_points / 100.0
    now: dict[str, Any] = {}
    if flagged is not None:
        now = {"flagged_orders": int(flagged.orders.get("this_period", 0)),
               "flagged_revenue": float(flagged.revenue.get("this_period", 0.0))}  # fmt: skip
    cards: list[KpiCard] = []
    buyers = _get(head.loc["customers"] if "customers" in head.index else None, "this_period")
    for key, row_key, kind in CARD_FIELDS:
        why, unreliable = "", ""
        gone = {k: v for k, v in unavailable.items() if k in ("previous", "year_ago")}
        if row_key is not None:
            if row_key not in head.index:
                if row_key in unavailable:  # e.g. new customers in the data's first month
                    cards.append(KpiCard(key, kind, math.nan, unavailable={"value": unavailable[row_key]}))
                continue
            row = head.loc[row_key]
            value = _get(row, "this_period")
            if math.isnan(value) and row_key in unavailable:
                cards.append(KpiCard(key, kind, math.nan, unavailable={"value": unavailable[row_key]}))
                continue
            change, year = _get(row, "change"), _get(row, "change_vs_year")
            clean = {
                "without_flagged": _get(row, "without_flagged"),
                "change_without_flagged": _get(row, "change_without_flagged"),
                "change_vs_year_without_flagged": _get(row, "change_vs_year_without_flagged"),
            }
            moved = _moved(change, clean["change_without_flagged"], threshold) or _moved(
                year, clean["change_vs_year_without_flagged"], threshold
            )
            if not moved:
                clean = dict.fromkeys(clean, math.nan)
            if key == "revenue":
                why = _revenue_why(head, language)
            if key in ("buyers", "retention_rate") and not math.isnan(buyers) and buyers < min_customers:
                unreliable = t("cards.few_customers", language, n=fmt.integer(buyers, language))
            cards.append(KpiCard(key, kind, value, change, year, **clean, unavailable=gone, why=why,
                                 unreliable=unreliable, trend=(trends or {}).get(key), **now))  # fmt: skip
        elif key == "clv":
            if headline.get("clv_total") is None:
                continue
            n = int(headline.get("customers") or 0)
            why = clv_reason or t("cards.clv_why", language, n=fmt.integer(n, language))
            unreliable = t("cards.few_customers", language, n=fmt.integer(n, language)) if n < min_customers else ""
            na = t("cards.not_compared", language)
            cards.append(KpiCard(key, kind, float(headline["clv_total"]), unavailable={"previous": na, "year_ago": na},
                                 why=why, unreliable=unreliable))  # fmt: skip
        elif key == "value_at_stake" and len(actions) and "value_at_stake" in actions.columns:
            total = float(actions["value_at_stake"].sum())
            top = actions.sort_values("priority").iloc[0] if "priority" in actions.columns else actions.iloc[0]
            name = (action_names or {}).get(top.name, "")
            if name:
                why = t("cards.stake_why", language, n=fmt.integer(len(actions), language),
                        customers=fmt.integer(int(actions["customers"].sum()), language), action=name,
                        value=fmt.money(float(top["value_at_stake"]), currency, language))  # fmt: skip
            na = t("cards.not_compared", language)
            cards.append(KpiCard(key, kind, total, unavailable={"previous": na, "year_ago": na}, why=why))
    return cards


def _revenue_why(head: pd.DataFrame, language: str) -> str:
    """Revenue's change split into buying customers and revenue per buying customer (vs the previous period)."""
    if "customers" not in head.index:
        return ""
    rev, cust = _get(head.loc["revenue"], "change"), _get(head.loc["customers"], "change")
    if math.isnan(rev) or math.isnan(cust) or cust <= -1:
        return ""
    per_buyer = (1 + rev) / (1 + cust) - 1
    return t(
        "cards.revenue_why", language, buyers=fmt.change(cust, language), per_buyer=fmt.change(per_buyer, language)
    )


def alerts(
    warnings: pd.DataFrame,
    rows_in: int,
    rows_quarantined: int,
    currency: str,
    language: str,
    *,
    quarantine_share: float = 0.01,
) -> list[str]:
    """The first screen's alerts in ``language``: valuable customers with a churn warning (how many, their value at
    stake), and rows set aside by cleaning when they are at least ``quarantine_share`` of the input."""
    out = []
    if len(warnings):
        value = float(warnings["value_at_stake"].sum()) if "value_at_stake" in warnings.columns else math.nan
        key = "cards.alert_churn" if not math.isnan(value) else "cards.alert_churn_count"
        out.append(t(key, language, n=fmt.integer(len(warnings), language), value=fmt.money(value, currency, language)))
    if rows_in and rows_quarantined / rows_in >= quarantine_share:
        out.append(t("cards.alert_quality", language, n=fmt.integer(rows_quarantined, language),
                     share=fmt.percent(rows_quarantined / rows_in, language)))  # fmt: skip
    return out
