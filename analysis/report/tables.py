"""Summary tables for the reports, and their display in either language.

The summaries (:func:`analysis.customers.summaries.group_summary`, :func:`quality_table`, :func:`rule_grid`, ...) hold
numbers and
canonical data values (segment names in English, value classes by their canonical Chinese names, lifecycle
stages as ids). :func:`styled` turns any such frame into what a reader sees: column labels from the text
catalog (``column.*``), segment/value-class/stage names translated, money with its symbol (``-$593``,
``¥1,234``), integers without decimals, dates without a time of day, and a single header row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from analysis import text
from analysis.customers.segments import cluster_name_label
from analysis.strategy.executive import SCOPE_ATTR
from analysis.text import column_label
from analysis.text import format as fmt

__all__ = ["column_label", "quality_table", "rule_grid", "strategy_by_segment", "styled", "styled_rule_grid"]

#: Columns shown as money when a currency is given (besides those passed in ``money=``).
MONEY_COLUMNS: frozenset[str] = frozenset(
    {
        "revenue",
        "monetary",
        "clv",
        "value_at_stake",
        "revenue_at_stake",
        "clv_at_stake",
        "budget",
        "expected_return",
        "net_return",
        "aov",
        "amount",
        "mean_value",
        "expected_revenue",
        "spend_per_purchase",
        "expected_spend_horizon",
        "forecast_revenue",
        "actual_revenue",
        "revenue_error",
    }
)
#: Column-name endings shown as percentages (fractions) unless a column is passed otherwise.
PCT_SUFFIXES: tuple[str, ...] = ("_share", "_rate", "_pct", "_pct_error", "roi")
#: Column-name endings shown as signed relative changes.
CHANGE_SUFFIXES: tuple[str, ...] = ("_growth",)


def quality_table(quality: Mapping[str, Any], language: str = "en") -> pd.DataFrame:
    """Row accounting of the cleaning step (``quality.json``) as a table of labelled counts in ``language``.

    ``rows in = rows clean + rows quarantined``; the quarantined rows are broken down by reason.
    """
    rows = [
        (text.t("quality.rows_in", language), quality["rows_in"]),
        (text.t("quality.rows_clean", language), quality["rows_clean"]),
        (text.t("quality.rows_quarantined", language), quality["rows_quarantined"]),
    ]
    rows += [
        (f"  · {text.label(f'quality.reason.{reason}', language, default=reason)}", n)
        for reason, n in quality["reasons"].items()
    ]
    rows += [
        (text.t("quality.outliers_flagged", language), quality["outliers_flagged"]),
        (text.t("quality.customers", language), quality["customers"]),
    ]
    out = pd.DataFrame(rows, columns=["item", "rows"]).set_index("item")
    out.index.name = None
    out["rows"] = out["rows"].astype(int)
    return out


def _is_integral(values: pd.Series) -> bool:
    v = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(v)) and bool(((v - v.round()).abs() < 1e-9).all())


def _formatter(
    df: pd.DataFrame,
    col: Any,
    language: str,
    currency: str | None,
    explicit: dict[str, tuple[Any, ...]],
) -> Callable[[Any], Any] | None:
    """The display function of one column, or None to leave it as it is."""
    s = df[col]
    name = str(col)
    if col in explicit["money"] or (currency is not None and name in MONEY_COLUMNS and not _claimed(col, explicit)):
        if currency is None:
            return lambda v: fmt.number(v, language, decimals=0)
        return lambda v: fmt.money(v, currency, language)
    if col in explicit["pct"]:
        return lambda v: fmt.percent(v, language)
    if col in explicit["ints"]:
        return lambda v: fmt.integer(v, language)
    if col in explicit["decimals"]:
        return lambda v: fmt.number(v, language, decimals=1)
    if pd.api.types.is_bool_dtype(s):
        return None
    if pd.api.types.is_datetime64_any_dtype(s):
        return lambda v: fmt.date(v, language)
    if pd.api.types.is_numeric_dtype(s):
        if name.endswith(CHANGE_SUFFIXES) or name in ("change", "change_vs_year"):
            return lambda v: fmt.change(v, language)
        if name.endswith(PCT_SUFFIXES):
            return lambda v: fmt.percent(v, language)
        if pd.api.types.is_integer_dtype(s) or _is_integral(s):
            return lambda v: fmt.integer(v, language)
        return lambda v: fmt.number(v, language, decimals=2)
    if name in ("name", "cluster_name"):
        shown: Callable[[Any, str], Any] = cluster_name_label  # value-class names with a number
    elif name in ("measure", "feature", "metric"):
        shown = column_label  # the values are column names: recency_days, frequency …
    else:
        shown = text.name

    def show(v: Any) -> Any:
        return fmt.MISSING if v is None or (isinstance(v, float) and pd.isna(v)) else shown(v, language)

    return show


def _claimed(col: Any, explicit: dict[str, tuple[Any, ...]]) -> bool:
    return any(col in cols for cols in explicit.values())


def styled(
    df: pd.DataFrame,
    currency: str | None = None,
    money: tuple[str, ...] = (),
    pct: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
    decimals: tuple[str, ...] = (),
    language: str = "en",
) -> Styler:
    """A table as a reader sees it in ``language``: labelled columns, translated names, formatted figures.

    Parameters
    ----------
    df : DataFrame
        Any summary frame. A meaningful index (anything but a default 0…n-1 range) becomes the first
        column, so the table has one header row.
    currency : str, optional
        Symbol or ISO code of the amounts (params ``currency``). With a currency, the columns in ``money``
        and the known money columns (:data:`MONEY_COLUMNS`) are shown as ``-$593`` / ``¥1,234``; without
        one, amounts are shown as plain whole numbers (never with a wrong symbol).
    money, pct, ints, decimals : tuple of str
        Columns shown as money, percentages (of fractions), integers, or numbers with one decimal.
        Other columns follow their dtype and name: datetimes as dates, ``*_share``/``*_rate``/``*_pct``
        as percentages, ``*_growth`` as signed changes, integer-valued numbers as integers (ranks,
        counts), other numbers with two decimals; text values that are segment, value-class or
        lifecycle-stage names are translated. In a region's KPI table (``df.attrs[SCOPE_ATTR] == "region"``,
        set by :func:`analysis.stages.segment_analysis`) ``new_customers`` is labelled "new to this region".
    language : {"en", "zh"}, default="en"

    Returns
    -------
    Styler
        With the table class ``rfm-table``.
    """
    text.check_language(language)
    region = df.attrs.get(SCOPE_ATTR) == "region"  # a region's KPI table: its new customers are new to the region
    data = df.copy()
    corner = ""
    if not (isinstance(data.index, pd.RangeIndex) and data.index.name is None):
        names = [n if n is not None else "" for n in data.index.names]
        if data.columns.name is not None and len(names) == 1:  # a matrix: rows "previous", columns "current"
            corner = f"{column_label(names[0], language)} \\ {column_label(data.columns.name, language)}"
        taken = {str(c) for c in data.columns}
        data.index = data.index.set_names([n if str(n) not in taken else f"{n} " for n in names])
        data = data.reset_index()
    data.columns = pd.Index(list(data.columns))
    explicit = {"money": tuple(money), "pct": tuple(pct), "ints": tuple(ints), "decimals": tuple(decimals)}
    style = data.style.set_table_attributes('class="rfm-table"').hide(axis="index")
    text_cols = []
    for col in data.columns:
        f = _formatter(data, col, language, currency, explicit)
        # every value is HTML-escaped (data typed by people must never become markup in a report)
        style = style.format(subset=[col], escape="html") if f is None else style.format(_html(f), subset=[col])
        if data[col].dtype == object or pd.api.types.is_string_dtype(data[col]):
            text_cols.append(col)
    if text_cols:
        style = style.set_properties(subset=text_cols, **{"text-align": "left"})
    labels = [_header("new_to_region" if region and c == "new_customers" else c, language) for c in data.columns]
    if corner:
        labels[0] = corner
    return style.relabel_index([_html(str)(label).replace("{", "{{").replace("}", "}}") for label in labels], axis=1)


def _html(show: Callable[[Any], str]) -> Callable[[Any], str]:
    """``show`` with its text HTML-escaped (after it maps a value: a translation lookup sees the raw name)."""
    from analysis.report.markdown import escape  # the one escaping function at the HTML boundary

    return lambda value: escape(show(value), "html")


def _header(column: Any, language: str) -> str:
    """A column's label: a catalog column label, else a translated data name (a segment as a column)."""
    name = str(column).rstrip()
    if text.has(f"column.{name}", language):
        return column_label(name, language)
    shown = text.name(name, language)
    return shown if shown != name else column_label(name, language)


def rule_grid(rules) -> pd.DataFrame:
    """Segment rules as an R score × FM score grid (rows R = 5…1, columns FM = 1…5 in half steps).

    A cell lists every segment that some (F, M) pair with that FM average reaches at that R (canonical
    names joined by " / "; :func:`styled_rule_grid` shows them in a language).
    """
    from analysis.customers.segments import rule_table

    t = rule_table(rules)
    t["fm"] = (t["f_score"] + t["m_score"]) / 2
    grid = t.groupby(["r_score", "fm"])["segment"].agg(lambda s: " / ".join(sorted(set(s)))).unstack("fm")
    grid = grid.reindex(index=[5, 4, 3, 2, 1])
    grid.index.name = "r_score"
    grid.columns = [f"FM {c:g}" for c in grid.columns]
    return grid


def styled_rule_grid(rules, language: str = "en") -> Styler:
    """:func:`rule_grid` with the segment names in ``language``."""

    def names(cell: Any) -> Any:
        return " / ".join(str(text.name(s, language)) for s in cell.split(" / ")) if isinstance(cell, str) else cell

    grid = rule_grid(rules).map(names)
    return styled(grid, language=language)


def strategy_by_segment(plan, language: str = "en") -> pd.DataFrame:
    """Per segment: customers, revenue, their shares and the segment's main action in ``language``.

    ``plan`` is an :class:`analysis.strategy.actions.StrategyResult`; the objective, action and channel
    texts come from its playbook. The index keeps the canonical segment names (:func:`styled` translates).
    """
    from analysis.strategy.actions import play_texts

    t = plan.by_segment.copy()
    t.insert(1, "customer_share", t["customers"] / max(t["customers"].sum(), 1))
    t.insert(3, "revenue_share", t["revenue"] / (t["revenue"].sum() or 1.0))
    texts = play_texts(plan.playbook, language)
    for col in ("objective", "action", "channel"):
        t[col] = t["main_action"].map(texts[col])
    keep = [
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
    ]
    return t[[c for c in keep if c in t.columns]]


def action_table(plan, language: str = "en") -> pd.DataFrame:
    """Per action, for readers: the playbook's name of it and who it reaches in ``language``, with its figures.

    ``plan`` is an :class:`analysis.strategy.actions.StrategyResult`. Index ``priority`` (1 = highest net
    return); columns ``action``, ``group`` (the segments or override groups reached), ``customers``,
    ``value_at_stake``, ``budget``, ``expected_return``, ``net_return`` (currency) and ``roi`` (a fraction).
    Action ids are machine names and are left out.
    """
    from analysis.strategy.actions import play_texts, rule_label

    a = plan.actions.sort_values("priority")
    sep = text.t("strategy.list_separator", language)
    groups = [sep.join(rule_label(r, language) for r in str(rules).split(", ") if r) for rules in a["rules"]]
    out = pd.DataFrame(
        {
            "action": a.index.map(play_texts(plan.playbook, language)["action"]).to_numpy(),
            "group": groups,
            **{c: a[c].to_numpy() for c in ("customers", "value_at_stake", "budget", "expected_return", "net_return",
                                            "roi")},
        },
        index=pd.Index(a["priority"].astype(int).to_numpy(), name="priority"),
    )  # fmt: skip
    return out


def churn_table(warnings: pd.DataFrame, language: str = "en", n: int | None = 15) -> pd.DataFrame:
    """The first ``n`` churn warnings for readers: segment, ABC tier, days silent, value at stake and the reason.

    ``warnings`` is :func:`analysis.strategy.churn.churn_warnings` output (highest value at stake first);
    the ``reason`` column is worded in ``language`` by :func:`analysis.strategy.churn.churn_reasons`.
    """
    from analysis.strategy.churn import churn_reasons

    w = warnings if n is None else warnings.head(n)
    cols = [c for c in ("rank", "segment", "value_class", "abc_class", "recency_days", "usual_gap_days", "p_alive",
                        "value_at_stake") if c in w.columns]  # fmt: skip
    out = w[cols].copy()
    out["reason"] = churn_reasons(w, language)
    return out


def styled_backtest(
    backtest: pd.DataFrame, currency: str = "", language: str = "en", min_customers: int = 20
) -> Styler:
    """A forecast backtest (by segment or by frequency bucket, :mod:`analysis.strategy.forecast`) as a styled table:
    revenue in currency, errors in percent, purchase counts with decimals. A row of fewer than ``min_customers``
    customers (params ``report.min_customers``) shows no percentage error — on a handful of customers one order
    moves it by thousands of percent — and says why in a column *reliability*."""
    data = backtest
    if "customers" in backtest.columns:
        small = backtest["customers"].fillna(0) < min_customers
        if small.any():
            data = backtest.copy()
            pct_cols = [c for c in ("purchases_pct_error", "revenue_pct_error") if c in data.columns]
            data.loc[small, pct_cols] = float("nan")
            data["reliability"] = [
                text.t(
                    "cards.unreliable",
                    language,
                    reason=text.t("cards.few_customers", language, n=fmt.integer(n, language)),
                )
                if is_small
                else ""
                for n, is_small in zip(backtest["customers"].fillna(0), small, strict=True)
            ]
    return styled(
        data,
        currency,
        money=("forecast_revenue", "actual_revenue", "revenue_error"),
        pct=("purchases_pct_error", "revenue_pct_error"),
        decimals=("forecast_purchases", "actual_purchases", "purchases_error"),
        language=language,
    )
