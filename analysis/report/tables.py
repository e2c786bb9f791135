"""Summary tables for the reports, and their display formatting (thousands separators, currency)."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from analysis.customers.segments import VALUE_CLASS_EN
from analysis.report.plots.rfm import order_like


def group_summary(customers: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group: customers, share of customers, revenue, share of revenue, mean R/F/M.

    ``revenue`` is the sum of ``monetary`` (spend in the scoring window, currency); shares are
    fractions of all scored customers. Rows are in the canonical order of segments or value classes.
    """
    total_c = max(len(customers), 1)
    total_r = customers["monetary"].sum() or 1.0
    g = customers.groupby(by, observed=True).agg(
        customers=("monetary", "size"),
        revenue=("monetary", "sum"),
        recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"),
        monetary=("monetary", "mean"),
    )
    g.insert(1, "customer_share", g["customers"] / total_c)
    g.insert(3, "revenue_share", g["revenue"] / total_r)
    g = g.reindex(order_like(g.index, "segment" if by == "segment" else "value_class"))
    g.index.name = by
    return g


def segment_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """:func:`group_summary` by the 11-segment ``segment``."""
    return group_summary(customers, "segment")


def value_class_summary(customers: pd.DataFrame, language: str = "en") -> pd.DataFrame:
    """:func:`group_summary` by the 8-class ``value_class``, labelled in ``language``."""
    g = group_summary(customers, "value_class")
    if language == "en":
        g.index = pd.Index([f"{VALUE_CLASS_EN.get(i, i)} ({i})" for i in g.index], name="value_class")
    return g


def quality_table(quality: dict) -> pd.DataFrame:
    """Row accounting of the cleaning step as a two-column table."""
    rows = [
        ("rows in", quality["rows_in"]),
        ("rows clean", quality["rows_clean"]),
        ("rows quarantined", quality["rows_quarantined"]),
    ]
    rows += [(f"  · {reason}", n) for reason, n in quality["reasons"].items()]
    rows += [("outliers flagged (kept)", quality["outliers_flagged"]), ("customers", quality["customers"])]
    return pd.DataFrame(rows, columns=["", "rows"]).set_index("")


#: Column and index labels shown in Chinese reports.
LABELS_ZH: dict[str, str] = {
    "customers": "客户数",
    "customer_share": "客户占比",
    "revenue": "收入",
    "revenue_share": "收入占比",
    "recency_days": "最近消费天数",
    "frequency": "频次",
    "monetary": "消费金额",
    "segment": "客户群",
    "value_class": "价值类别",
    "rows": "行数",
    "amount": "金额",
    "order_date": "订单日期",
    "customer_id": "客户编号",
    "rfm_code": "RFM 代码",
    "value_class_en": "价值类别（英）",
    "p_alive": "活跃概率",
    "expected_purchases": "预计购买次数",
    "clv": "客户终身价值",
    "value_at_stake": "涉及价值",
    "budget": "预算",
    "expected_return": "预期回报",
    "net_return": "净回报",
    "objective": "目标",
    "action": "行动",
    "channel": "渠道",
    "abc_class": "ABC 等级",
    "orders": "订单数",
    "new_customers": "新客户数",
    "aov": "客单价",
    "repeat_rate": "复购率",
    "retention_rate": "留存率",
    "revenue_growth": "收入环比",
    "revenue_yoy_growth": "收入同比",
    "gross_margin_pct": "毛利率",
    "reason": "原因",
    "reason_zh": "原因",
    "rank": "排名",
    "mean_value": "平均价值",
    "measure": "指标",
    "source": "来源",
    "lifecycle_stage": "生命周期阶段",
    "name": "名称",
    "expected_revenue": "预计收入",
    "cluster": "聚类",
}

#: Lifecycle stages as shown in Chinese reports.
STAGE_NAMES_ZH: dict[str, str] = {
    "new": "新客",
    "active": "活跃",
    "reactivated": "回流",
    "dormant": "沉睡",
    "lost": "流失",
}

_LANGUAGE = {"value": "en"}


def set_language(language: str) -> None:
    """The language of table labels in this session's reports (``en`` or ``zh``); set by notebook setup."""
    _LANGUAGE["value"] = language


def styled(
    df: pd.DataFrame,
    currency: str = "$",
    money: tuple[str, ...] = (),
    pct: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
    decimals: tuple[str, ...] = (),
) -> Styler:
    """A Styler with thousands separators, currency and percentages, for tables in reports.

    Columns are formatted by name: anything in ``money`` as currency, ``pct`` as percent, ``ints``
    with separators, ``decimals`` with one decimal; other numeric columns get separators.
    """
    fmt: dict[str, str] = {}
    for col in df.columns:
        if col in money:
            fmt[col] = currency + "{:,.0f}"
        elif col in pct:
            fmt[col] = "{:.1%}"
        elif col in ints:
            fmt[col] = "{:,.0f}"
        elif col in decimals:
            fmt[col] = "{:,.1f}"
        elif pd.api.types.is_integer_dtype(df[col]):
            fmt[col] = "{:,}"
        elif pd.api.types.is_float_dtype(df[col]):
            fmt[col] = "{:,.2f}"
    style = df.style.format(fmt, na_rep="–").set_table_attributes('class="rfm-table"')
    text_cols = [c for c in df.columns if df[c].dtype == object or pd.api.types.is_string_dtype(df[c])]
    if text_cols:
        style = style.set_properties(subset=text_cols, **{"text-align": "left"})
    if _LANGUAGE["value"] == "zh":
        from analysis.strategy.playbook import SEGMENT_NAMES_ZH

        def zh_value(v: object) -> object:
            return SEGMENT_NAMES_ZH.get(v, STAGE_NAMES_ZH.get(v, v)) if isinstance(v, str) else v

        style = style.format_index(zh_value, axis=0)
        if text_cols:
            style = style.format(zh_value, subset=text_cols)
        style = style.relabel_index([LABELS_ZH.get(str(c), str(c)) for c in df.columns], axis=1)
        if df.index.name:
            style.index.names = [LABELS_ZH.get(str(df.index.name), str(df.index.name))]
    elif isinstance(df.columns, pd.Index) and not isinstance(df.columns, pd.MultiIndex):
        style = style.relabel_index([str(c).replace("_", " ") for c in df.columns], axis=1)
        if df.index.name:
            style.index.names = [str(df.index.name).replace("_", " ")]
    return style


def rule_grid(rules) -> pd.DataFrame:
    """Segment rules as an R score × FM score grid (rows R = 5…1, columns FM = 1…5 in half steps).

    A cell lists every segment that some (F, M) pair with that FM average reaches at that R.
    """
    from analysis.customers.segments import rule_table

    t = rule_table(rules)
    t["fm"] = (t["f_score"] + t["m_score"]) / 2
    grid = t.groupby(["r_score", "fm"])["segment"].agg(lambda s: " / ".join(sorted(set(s)))).unstack("fm")
    grid = grid.reindex(index=[5, 4, 3, 2, 1])
    grid.index.name = "R score"
    grid.columns = [f"FM {c:g}" for c in grid.columns]
    return grid


def strategy_by_segment(
    by_segment: pd.DataFrame, language: str = "en", actions: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per segment: customers, revenue, their shares and the segment's main action, for the report.

    ``by_segment`` is :attr:`analysis.strategy.actions.StrategyResult.by_segment`; ``actions`` (its
    ``actions``) supplies the action texts in ``language``.
    """
    t = by_segment.copy()
    t.insert(1, "customer_share", t["customers"] / max(t["customers"].sum(), 1))
    t.insert(3, "revenue_share", t["revenue"] / (t["revenue"].sum() or 1.0))
    if actions is not None:
        sfx = "_zh" if language == "zh" else ""
        for col in ("objective", "action", "channel"):
            t[col] = t["main_action"].map(actions[f"{col}{sfx}"])
    if language == "zh":
        t.index = pd.Index([f"{zh}" for zh in t["segment_zh"]], name="segment")
    keep = [
        c
        for c in (
            "customers",
            "customer_share",
            "revenue",
            "revenue_share",
            "value_at_stake",
            "objective",
            "action",
            "channel",
            "budget",
            "expected_return",
        )
        if c in t.columns
    ]
    return t[keep]
