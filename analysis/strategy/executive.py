"""The executive summary: headline KPIs with their change, and the top actions with value at stake."""

from __future__ import annotations

import math

import pandas as pd

#: (KPI field, English label, Chinese label, kind) in the order a manager reads them.
HEADLINE_FIELDS: tuple[tuple[str, str, str, str], ...] = (
    ("revenue", "Revenue", "收入", "money"),
    ("orders", "Orders", "订单数", "count"),
    ("customers", "Buying customers", "购买客户数", "count"),
    ("new_customers", "New customers", "新客户数", "count"),
    ("aov", "Average order value", "客单价", "money"),
    ("repeat_rate", "Repeat rate", "复购率", "pct"),
    ("retention_rate", "Retention rate", "留存率", "pct"),
    ("gross_margin_pct", "Gross margin", "毛利率", "pct"),
)


def headline_kpis(
    totals: pd.Series, previous: pd.Series | None = None, year_ago: pd.Series | None = None, language: str = "en"
) -> pd.DataFrame:
    """A table of headline KPIs: this period, previous period, change, a year ago, change.

    Parameters
    ----------
    totals : Series
        This period's KPIs (:func:`analysis.customers.kpi.kpi_totals`).
    previous, year_ago : Series, optional
        The same KPIs for the previous period and the same period a year earlier. When omitted,
        ``totals`` supplies ``<field>_prev`` / ``<field>_yoy`` where the KPI report has them.
    language : {"en", "zh"}
        Row labels and column names.

    Returns
    -------
    DataFrame
        One row per KPI present (index: label); columns ``this period``, ``previous``, ``change``
        (relative change, a fraction), ``a year ago``, ``change vs year`` (or their Chinese
        names); ``kind`` says how to format the row (money, count or pct).
    """
    zh = language == "zh"
    rows = []
    for field, en, zh_label, kind in HEADLINE_FIELDS:
        if field not in totals or pd.isna(totals[field]):
            continue
        cur = float(totals[field])
        prev = _ref(previous, totals, field, "_prev")
        yoy = _ref(year_ago, totals, field, "_yoy")
        rows.append(
            {
                "kpi": zh_label if zh else en,
                "this_period": cur,
                "previous": prev,
                "change": _change(cur, prev, kind),
                "year_ago": yoy,
                "change_vs_year": _change(cur, yoy, kind),
                "kind": kind,
            }
        )
    out = (
        pd.DataFrame(rows).set_index("kpi")
        if rows
        else pd.DataFrame(columns=["this_period", "previous", "change", "year_ago", "change_vs_year", "kind"])
    )
    if zh:
        out.index.name = "指标"
        out = out.rename(
            columns={
                "this_period": "本期",
                "previous": "上期",
                "change": "环比",
                "year_ago": "去年同期",
                "change_vs_year": "同比",
            }
        )
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


def format_headline(table: pd.DataFrame, currency: str = "$") -> pd.DataFrame:
    """The headline table as display strings (thousands separators, currency, % and points)."""

    def fmt(v: float, kind: str) -> str:
        if pd.isna(v):
            return "–"
        if kind == "money":
            return f"{currency}{v:,.0f}"
        if kind == "pct":
            return f"{v:.1%}"
        return f"{v:,.0f}"

    def fmt_change(v: float, kind: str) -> str:
        if pd.isna(v):
            return "–"
        if kind == "pct":
            return f"{v * 100:+.1f} pt"
        return f"{v:+.1%}"

    cols = list(table.columns)
    out = pd.DataFrame(index=table.index)
    for i, col in enumerate(cols[:-1]):
        is_change = i in (2, 4)
        out[col] = [
            fmt_change(v, k) if is_change else fmt(v, k) for v, k in zip(table[col], table["kind"], strict=True)
        ]
    if "this_period" in out.columns:
        out = out.rename(columns={"this_period": "this period", "year_ago": "a year ago",
                                  "change_vs_year": "change vs year"})
    return out


def top_actions(actions: pd.DataFrame, recommendations: pd.DataFrame, n: int = 5, language: str = "en") -> pd.DataFrame:
    """The ``n`` highest-priority actions: customers, value at stake, budget, expected return, one sentence."""
    sentence = "sentence_zh" if language == "zh" else "sentence_en"
    rec = recommendations.set_index("action_id")
    t = actions.sort_values("priority").head(n)
    out = pd.DataFrame(
        {
            "customers": t["customers"],
            "value_at_stake": t["value_at_stake"],
            "budget": t["budget"],
            "expected_return": t["expected_return"],
            "what to do" if language != "zh" else "建议": rec.loc[t.index, sentence].to_numpy(),
        },
        index=t.index,
    )
    out.index.name = "action"
    return out
