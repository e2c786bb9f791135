"""Who the customers are: segment × attribute tables and a province → city drill-down.

Attributes (:mod:`analysis.grading.inputs`) are fixed per customer, read as of the run. Customers without a row,
or with an empty value, count under ``(missing)``, so every table's customers add up to the scored customers.

Per attribute value (:func:`attribute_profile`): ``customers``, ``customer_share``, ``spend_per_customer``
(``monetary``, currency, the scoring window), ``clv_per_customer`` (when the CLV models ran) and ``retention``:
of the customers who first bought before the period, the share who bought in it (``last_purchase`` on or after the
period's first day).

Small cells (:func:`suppress_small`): a row resting on fewer than ``min_customers`` customers (params
``report.min_customers``) keeps its customer count, but its figures (shares, spend, CLV, retention) are not shown
and ``small`` marks it: a province with three customers says nothing reliable, and a figure about so few people
could point at one of them. :func:`attribute_tables` builds every table of the report's dimensions (params
``grading.dimensions``) for the run's customers only (a region's run: its region's customers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MISSING = "(missing)"
#: Attributes shown as report dimensions, in order (those present in the data).
DIMENSIONS: tuple[str, ...] = ("age_band", "gender", "country", "province", "industry", "revenue_band")


def joined(customers: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """The scored customers with their attributes (``(missing)`` where none)."""
    a = attributes.set_index("customer_id")
    a = a[~a.index.duplicated()]
    out = customers.copy()
    for col in a.columns:
        vals = a[col].reindex(customers.index.astype(str)).to_numpy()
        out[col] = pd.Series(vals, index=customers.index, dtype=object).fillna(MISSING)
    return out


def dimensions(attributes: pd.DataFrame) -> list[str]:
    """The attribute columns with at least one value (report dimensions)."""
    return [c for c in DIMENSIONS if c in attributes.columns and attributes[c].notna().any()]


def segment_by_attribute(customers: pd.DataFrame, attributes: pd.DataFrame, attribute: str) -> pd.DataFrame:
    """Share of each attribute value's customers in each segment (rows: values, columns: segments; rows sum to 1),
    with the ``customers`` per value."""
    from analysis.customers.segments import order_like

    df = joined(customers, attributes)
    t = pd.crosstab(df[attribute], df["segment"], normalize="index")
    t = t[order_like(t.columns, "segment")]
    t.insert(0, "customers", df[attribute].value_counts())
    t.index.name = attribute
    t.columns.name = None
    return t.sort_values("customers", ascending=False)


def attribute_profile(
    customers: pd.DataFrame, attributes: pd.DataFrame, attribute: str, period_start: pd.Timestamp
) -> pd.DataFrame:
    """Per value of ``attribute``: customers, share, spend and CLV per customer, retention (module docstring)."""
    df = joined(customers, attributes)
    g = df.groupby(attribute)
    out = pd.DataFrame({"customers": g.size()})
    out["customer_share"] = out["customers"] / max(len(df), 1)
    out["spend_per_customer"] = g["monetary"].mean()
    if "clv" in df and df["clv"].notna().any():
        out["clv_per_customer"] = g["clv"].mean()
    start = pd.Timestamp(period_start).normalize()
    before = pd.to_datetime(df["first_purchase"]) < start
    kept = before & (pd.to_datetime(df["last_purchase"]) >= start)
    out["retention"] = kept.groupby(df[attribute]).sum() / before.groupby(df[attribute]).sum().where(lambda x: x > 0)
    out.index.name = attribute
    return out.sort_values("customers", ascending=False)


def drill_down(
    customers: pd.DataFrame, attributes: pd.DataFrame, period_start: pd.Timestamp, outer: str = "province",
    inner: str = "city",
) -> pd.DataFrame:  # fmt: skip
    """:func:`attribute_profile` by ``outer`` and, within each, by ``inner`` (index ``outer``, ``inner``; outer values
    by customers, then inner values by customers)."""
    df = joined(customers, attributes)
    df["_pair"] = list(zip(df[outer], df[inner], strict=True))
    prof = attribute_profile(df.drop(columns=[outer, inner]), attributes.iloc[:0], "_pair", period_start)
    prof.index = pd.MultiIndex.from_tuples(prof.index, names=[outer, inner])
    order = df[outer].value_counts()
    prof["_o"] = prof.index.get_level_values(0).map(order)
    prof = prof.sort_values(["_o", "customers"], ascending=False).drop(columns="_o")
    prof["customer_share"] = prof["customers"] / max(len(df), 1)
    return prof


def suppress_small(frame: pd.DataFrame, min_customers: int) -> pd.DataFrame:
    """``frame`` (a table with a ``customers`` column) with the figures of rows of fewer than ``min_customers``
    customers blanked (NaN) and a boolean column ``small`` marking them; the counts stay."""
    out = frame.copy()
    small = out["customers"] < min_customers
    figures = [c for c in out.columns if c != "customers" and pd.api.types.is_numeric_dtype(out[c])]
    out.loc[small, figures] = np.nan
    out["small"] = small.to_numpy()
    return out


@dataclass(frozen=True)
class AttributeTables:
    """The run's customers by their attributes: per dimension (``tables``: name → ``profile`` (customers, share,
    spend and CLV per customer, retention per value) and ``segments`` (segment shares per value)), ``drill`` (the
    province → city profile, None without cities), small cells suppressed below ``min_customers``."""

    tables: dict[str, dict[str, pd.DataFrame]]
    drill: pd.DataFrame | None
    min_customers: int


def attribute_tables(
    customers: pd.DataFrame,
    attributes: pd.DataFrame,
    period_start: pd.Timestamp,
    dims: list[str] | None = None,
    min_customers: int = 1,
) -> AttributeTables:
    """Every attribute table of the run (see :class:`AttributeTables`): the dimensions ``dims`` that the input has
    (None: all of :func:`dimensions`), in the order of :data:`DIMENSIONS`; small cells suppressed
    (:func:`suppress_small`)."""
    have = dimensions(attributes)
    chosen = [d for d in have if dims is None or d in dims]
    tables = {
        d: {"profile": suppress_small(attribute_profile(customers, attributes, d, period_start), min_customers),
            "segments": suppress_small(segment_by_attribute(customers, attributes, d), min_customers)}
        for d in chosen
    }  # fmt: skip
    drill = None
    if "province" in chosen and "city" in attributes.columns and attributes["city"].notna().any():
        drill = suppress_small(drill_down(customers, attributes, period_start), min_customers)
    return AttributeTables(tables, drill, min_customers)
