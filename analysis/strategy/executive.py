"""The executive summary: headline KPIs with their change, and the top actions with value at stake.

Honest headline figures: a comparison whose window starts before the data does is shown as
"n/a — data starts YYYY-MM-DD" (``unavailable`` in :func:`format_headline`), never as a change from zero; the
figures without flagged orders (``is_outlier``) stand beside the totals (:func:`with_unflagged`), and a change
that the flagged orders drive is said in a sentence (:func:`flagged_sentences`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from analysis import text
from analysis.strategy.actions import StrategyResult, play_texts
from analysis.text import column_label
from analysis.text import format as fmt

#: (KPI field, kind) in the order a manager reads them; labels are ``executive.kpi.<field>`` in the catalog.
HEADLINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("revenue", "money"),  # net of returns and cancellations (docs/cancellations.md) …
    ("revenue_gross", "money"),  # … with the sales as placed and the returns netted from them beside it
    ("returns", "money"),
    # only when the log has sales without a customer id: revenue with them, and their share of it
    ("revenue_all_sales", "money"),
    ("anonymous_share", "pct"),
    ("orders", "count"),
    ("customers", "count"),
    ("new_customers", "count"),
    # only in a region's report: customers whose first purchase anywhere (every region) is in the window;
    # ``new_customers`` there is new to the region (see docs/figures.md, Regions)
    ("new_to_business", "count"),
    ("aov", "money"),
    ("repeat_rate", "pct"),
    ("retention_rate", "pct"),
    ("gross_margin_pct", "pct"),
)
COLUMNS: tuple[str, ...] = (
    "this_period", "without_flagged", "previous", "change", "change_without_flagged", "year_ago", "change_vs_year",
    "change_vs_year_without_flagged",
)  # fmt: skip
#: The columns each comparison fills: blanked with the reason when the comparison has no data.
COMPARISON_COLUMNS: dict[str, tuple[str, ...]] = {
    "previous": ("previous", "change", "change_without_flagged"),
    "year_ago": ("year_ago", "change_vs_year", "change_vs_year_without_flagged"),
}
#: A change differs this much (as a fraction; rates: in points) with and without flagged orders: the flagged
#: orders drive it, and :func:`flagged_sentences` says so.
FLAGGED_DRIVE = 0.10


def headline_kpis(
    totals: pd.Series, previous: pd.Series | None = None, year_ago: pd.Series | None = None
) -> pd.DataFrame:
    """A table of headline KPIs: this period, previous period, change, a year ago, change.

    Parameters
    ----------
    totals : Series
        This period's KPIs (:func:`analysis.customers.kpi.kpi_totals`).
    previous, year_ago : Series, optional
        The same KPIs for the previous period and the same period a year earlier. When omitted,
        ``totals`` supplies ``<field>_prev`` / ``<field>_yoy`` where the KPI report has them.

    Returns
    -------
    DataFrame
        One row per KPI present (index ``kpi``: the field, e.g. ``revenue``); columns ``this_period``,
        ``previous``, ``change`` (relative change, a fraction; for rates the difference in points),
        ``year_ago``, ``change_vs_year``; ``kind`` says how to format the row (money, count or pct).
        :func:`format_headline` shows it in a language.
    """
    rows = []
    for field, kind in HEADLINE_FIELDS:
        if field not in totals or pd.isna(totals[field]):
            continue
        cur = float(totals[field])
        prev = _ref(previous, totals, field, "_prev")
        yoy = _ref(year_ago, totals, field, "_yoy")
        rows.append(
            {
                "kpi": field,
                "this_period": cur,
                "previous": prev,
                "change": _change(cur, prev, kind),
                "year_ago": yoy,
                "change_vs_year": _change(cur, yoy, kind),
                "kind": kind,
            }
        )
    base = ("this_period", "previous", "change", "year_ago", "change_vs_year")
    out = pd.DataFrame(rows, columns=["kpi", *base, "kind"]).set_index("kpi")
    return out


def with_unflagged(table: pd.DataFrame, unflagged: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the figures without flagged orders beside the totals.

    ``unflagged`` is :func:`headline_kpis` of the same windows with the flagged orders (``is_outlier``) left out.
    Adds ``without_flagged`` (this period) and the changes ``change_without_flagged`` /
    ``change_vs_year_without_flagged``, in the order of :data:`COLUMNS`.
    """
    u = unflagged.reindex(table.index)
    out = table.assign(
        without_flagged=u["this_period"],
        change_without_flagged=u["change"],
        change_vs_year_without_flagged=u["change_vs_year"],
    )
    return out[[c for c in (*COLUMNS, "kind") if c in out.columns]]


@dataclass(frozen=True)
class Flagged:
    """The flagged orders (``is_outlier``) of each window: ``orders`` and ``revenue`` (currency) per window name
    (``this_period``, ``previous``, ``year_ago``)."""

    orders: dict[str, int]
    revenue: dict[str, float]


def flagged_sentences(
    table: pd.DataFrame, flagged: Flagged, currency: str = "$", language: str = "en", drive: float = FLAGGED_DRIVE
) -> list[str]:
    """One sentence per revenue comparison that the flagged orders drive (``drive``, a fraction: the params'
    ``report.flagged_change_points`` / 100, by default :data:`FLAGGED_DRIVE`).

    ``table`` is :func:`with_unflagged`'s; a comparison is driven by flagged orders when there are some in this
    period or in the window compared with, and the revenue change with them differs from the change without
    them by at least :data:`FLAGGED_DRIVE` (ten points of growth).
    """
    if "revenue" not in table.index or "without_flagged" not in table.columns:
        return []
    row = table.loc["revenue"]
    out = []
    for ref, change, clean in (
        ("previous", "change", "change_without_flagged"),
        ("year_ago", "change_vs_year", "change_vs_year_without_flagged"),
    ):
        n_now, n_then = flagged.orders.get("this_period", 0), flagged.orders.get(ref, 0)
        ch, ch_clean = row.get(change), row.get(clean)
        if n_now + n_then == 0 or pd.isna(ch) or pd.isna(ch_clean) or abs(ch - ch_clean) < drive:
            continue
        out.append(
            text.t(
                "executive.flagged_drive" if n_now else "executive.flagged_drive_then",  # none now: not "0 … of"
                language,
                vs=text.t(f"executive.vs.{ref}", language),
                change=fmt.change(ch, language),
                clean=fmt.change(ch_clean, language),
                n=fmt.integer(n_now, language),
                flagged=fmt.money(flagged.revenue.get("this_period", 0.0), currency, language),
                total=fmt.money(row["this_period"], currency, language),
                n_then=fmt.integer(n_then, language),
                flagged_then=fmt.money(flagged.revenue.get(ref, 0.0), currency, language),
            )
        )
    return out


#: ``headline.csv``'s columns: one row per measure and window (``this``, ``previous``, ``year_ago``).
HEADLINE_CSV_COLUMNS: tuple[str, ...] = ("measure", "window", "start", "end", "value", "note")
#: Sums over a window's sales: 0 in a window of the data without sales (the others have no value then).
ADDITIVE = frozenset({"revenue", "revenue_gross", "returns", "orders", "customers", "new_customers", "new_to_business"})
#: ``DataFrame.attrs`` key of a headline table whose run is one region's: its ``new_customers`` row is shown as
#: "New to this region" (:func:`format_headline`).
SCOPE_ATTR = "scope"


def headline_measures(
    totals: Mapping[str, pd.Series],
    windows: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]],
    retention_base: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]],
    gaps: Mapping[tuple[str, str], str],
    language: str = "en",
    notes: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """``headline.csv``: every headline measure in every window, with the window's days, machine-readable.

    Parameters
    ----------
    totals : mapping of window name to Series
        :func:`analysis.customers.kpi.kpi_totals` of each window (``this``, ``previous``, ``year_ago``), each
        computed with its own retention base window.
    windows : mapping of window name to (first, last)
        The windows' first and last days (inclusive), as the headline names them.
    retention_base : mapping of window name to (first, last)
        The window whose buyers each window's retention follows (the month before, cut to the same days).
    gaps : mapping of (measure, window name) to str
        Why a value cannot be computed (e.g. "n/a — data starts 2010-12-01"): the value is left empty and the
        reason goes to ``note``.
    language : {"en", "zh"}
        Language of ``note``.
    notes : mapping of measure to str, optional
        What a measure's value means in this run, as its ``note`` where it has a value (a region's
        ``new_customers``: new to this region; ``new_to_business``: new anywhere).

    Returns
    -------
    DataFrame
        Columns :data:`HEADLINE_CSV_COLUMNS`: ``measure`` (a :data:`HEADLINE_FIELDS` name; ``gross_margin_pct``
        only with costs), ``window``, ``start`` / ``end`` (ISO days, inclusive), ``value`` (text: counts whole,
        money in cents, rates as shares 0-1; empty when there is none) and ``note`` (why it is empty, or for
        retention the buyers it follows).
    """
    text.check_language(language)
    present = set().union(*(set(t.index) for t in totals.values()))
    rows = []
    for measure, kind in HEADLINE_FIELDS:
        if measure not in present:
            continue
        for name, (first, last) in windows.items():
            value = totals[name].get(measure, math.nan) if name in totals else math.nan
            note = ""
            if (measure, name) in gaps:
                value, note = math.nan, gaps[(measure, name)]
            elif pd.isna(value) and measure in ADDITIVE:
                value, note = 0.0, text.t("executive.csv.no_sales", language)
            elif pd.isna(value):
                b = retention_base[name]
                note = (
                    text.t("executive.csv.no_base_buyers", language, a=b[0].date(), b=b[1].date())
                    if measure == "retention_rate"
                    else text.t("executive.csv.no_sales", language)
                )
            elif measure == "retention_rate":
                b = retention_base[name]
                note = text.t("executive.csv.retention", language, a=b[0].date(), b=b[1].date())
            else:
                note = (notes or {}).get(measure, "")
            rows.append(
                {
                    "measure": measure,
                    "window": name,
                    "start": first.date().isoformat(),
                    "end": last.date().isoformat(),
                    "value": _csv_value(value, kind),
                    "note": note,
                }
            )
    return pd.DataFrame(rows, columns=list(HEADLINE_CSV_COLUMNS))


def _csv_value(value: float, kind: str) -> str:
    """A figure of ``headline.csv`` as text: empty when missing, counts whole, money in cents, rates to 6 places."""
    if pd.isna(value):
        return ""
    if kind == "count":
        return str(round(float(value)))
    if kind == "money":
        return f"{float(value):.2f}"
    return f"{float(value):.6f}".rstrip("0").rstrip(".") or "0"


def _ref(frame: pd.Series | None, totals: pd.Series, field: str, suffix: str) -> float:
    if frame is not None and field in frame:
        return float(frame[field])
    v = totals.get(f"{field}{suffix}")
    return float(v) if v is not None and not pd.isna(v) else math.nan


def _change(cur: float, ref: float, kind: str) -> float:
    """Relative change for amounts and counts; difference in percentage points for rates."""
    if math.isnan(ref):
        return math.nan
    if kind == "pct":
        return cur - ref
    return math.nan if ref == 0 else cur / ref - 1


def format_headline(
    table: pd.DataFrame, currency: str = "$", language: str = "en", unavailable: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The headline table as a reader sees it in ``language``: labelled rows and columns, display strings.

    Money as ``$1,234`` / ``¥1,234``, counts as integers, rates as ``12.3%``; changes signed (``+20.0%``,
    rates in points: ``+5.0 pt``), a growth from a tiny base as "new", a missing comparison as "–".
    ``unavailable`` maps a comparison (``previous``, ``year_ago``: its columns, see :data:`COMPARISON_COLUMNS`)
    or a KPI (``new_customers``: its row) to the text shown instead, e.g. "n/a — data starts 2010-12-01".
    In a region's table (``table.attrs[SCOPE_ATTR] == "region"``) the ``new_customers`` row is labelled
    "New to this region", beside "New to the business".
    """
    text.check_language(language)
    unavailable = dict(unavailable or {})
    region = table.attrs.get(SCOPE_ATTR) == "region"

    def show(v: float, kind: str) -> str:
        if kind == "money":
            return fmt.money(v, currency, language)
        if kind == "pct":
            return fmt.percent(v, language)
        return fmt.integer(v, language)

    def show_change(v: float, kind: str) -> str:
        return fmt.points(v, language) if kind == "pct" else fmt.change(v, language)

    keys = ["new_to_region" if region and k == "new_customers" else k for k in table.index]
    out = pd.DataFrame(index=[text.label(f"executive.kpi.{k}", language, default=str(k)) for k in keys])
    for col in COLUMNS:
        if col not in table.columns:
            continue
        f = show_change if col.startswith("change") else show
        cells = [f(v, k) for v, k in zip(table[col], table["kind"], strict=True)]
        for ref, cols in COMPARISON_COLUMNS.items():
            if col in cols and ref in unavailable:
                cells = [unavailable[ref]] * len(cells)
        cells = [unavailable.get(str(k), c) for k, c in zip(table.index, cells, strict=True)]
        out[column_label(col, language)] = cells
    out.index.name = column_label("kpi", language)
    return out


def top_actions(plan: StrategyResult, n: int = 5, language: str = "en") -> pd.DataFrame:
    """The ``n`` highest-priority actions: the action's name, customers, value at stake, budget, expected return
    and the recommendation in ``language``.

    Parameters
    ----------
    plan : StrategyResult
        From :func:`analysis.strategy.actions.apply_playbook`.
    n : int, default=5
    language : {"en", "zh"}, default="en"

    Returns
    -------
    DataFrame
        Index ``priority`` (1 = first); columns ``action`` (the playbook's name of it in ``language``),
        ``customers``, ``value_at_stake``, ``budget``, ``expected_return`` (currency) and ``what_to_do``
        (the sentence). Action ids are left out: they are machine names, not words for a reader.
    """
    t = plan.actions.sort_values("priority").head(n)
    out = pd.DataFrame(
        {
            "action": t.index.map(play_texts(plan.playbook, language)["action"]).to_numpy(),
            "customers": t["customers"].astype(int).to_numpy(),
            "value_at_stake": t["value_at_stake"].to_numpy(),
            "budget": t["budget"].to_numpy(),
            "expected_return": t["expected_return"].to_numpy(),
            "what_to_do": plan.sentences(language).reindex(t.index).to_numpy(),
        },
        index=pd.Index(t["priority"].astype(int).to_numpy(), name="priority"),
    )
    return out
