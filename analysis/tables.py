"""Summary tables for the reports, and their display formatting (thousands separators, currency)."""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

from analysis.plots.rfm import order_like
from analysis.segments import VALUE_CLASS_EN


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
    rows = [("rows in", quality["rows_in"]), ("rows clean", quality["rows_clean"]),
            ("rows quarantined", quality["rows_quarantined"])]
    rows += [(f"  · {reason}", n) for reason, n in quality["reasons"].items()]
    rows += [("outliers flagged (kept)", quality["outliers_flagged"]), ("customers", quality["customers"])]
    return pd.DataFrame(rows, columns=["", "rows"]).set_index("")


def styled(df: pd.DataFrame, currency: str = "$", money: tuple[str, ...] = (), pct: tuple[str, ...] = (),
           ints: tuple[str, ...] = (), decimals: tuple[str, ...] = ()) -> Styler:
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
    return df.style.format(fmt, na_rep="–").set_table_attributes('class="rfm-table"')
