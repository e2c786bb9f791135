"""The executive summary: headline KPIs with their change, and the top actions with value at stake."""

from __future__ import annotations

import math

import pandas as pd

from analysis import text
from analysis.strategy.actions import StrategyResult, play_texts
from analysis.text import column_label
from analysis.text import format as fmt

#: (KPI field, kind) in the order a manager reads them; labels are ``executive.kpi.<field>`` in the catalog.
HEADLINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("revenue", "money"),
    ("orders", "count"),
    ("customers", "count"),
    ("new_customers", "count"),
    ("aov", "money"),
    ("repeat_rate", "pct"),
    ("retention_rate", "pct"),
    ("gross_margin_pct", "pct"),
)
COLUMNS: tuple[str, ...] = ("this_period", "previous", "change", "year_ago", "change_vs_year")


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
    out = pd.DataFrame(rows, columns=["kpi", *COLUMNS, "kind"]).set_index("kpi")
    return out


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


def format_headline(table: pd.DataFrame, currency: str = "$", language: str = "en") -> pd.DataFrame:
    """The headline table as a reader sees it in ``language``: labelled rows and columns, display strings.

    Money as ``$1,234`` / ``¥1,234``, counts as integers, rates as ``12.3%``; changes signed (``+20.0%``,
    rates in points: ``+5.0 pt``), a growth from a tiny base as "new", a missing comparison as "–".
    """
    text.check_language(language)

    def show(v: float, kind: str) -> str:
        if kind == "money":
            return fmt.money(v, currency, language)
        if kind == "pct":
            return fmt.percent(v, language)
        return fmt.integer(v, language)

    def show_change(v: float, kind: str) -> str:
        return fmt.points(v, language) if kind == "pct" else fmt.change(v, language)

    out = pd.DataFrame(index=[text.label(f"executive.kpi.{k}", language, default=str(k)) for k in table.index])
    for col in COLUMNS:
        if col not in table.columns:
            continue
        f = show_change if col.startswith("change") else show
        out[column_label(col, language)] = [f(v, k) for v, k in zip(table[col], table["kind"], strict=True)]
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
