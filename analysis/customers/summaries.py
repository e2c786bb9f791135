"""Per-group summaries of scored customers: customers, revenue and mean R/F/M per RFM segment or value class.

The numbers behind the segment tables and bars of the reports (the segment-analysis stage,
:attr:`analysis.stages.Segments.segments` / ``value_classes``); :func:`analysis.report.tables.styled` shows them.
"""

from __future__ import annotations

import pandas as pd

from analysis.customers.segments import order_like


def group_summary(customers: pd.DataFrame, by: str) -> pd.DataFrame:
    """Per group: customers, share of customers, revenue, share of revenue, mean R/F/M.

    ``revenue`` is the sum of ``monetary`` (spend in the scoring window, currency); shares are
    fractions of all scored customers. Rows are in the canonical order of segments or value classes,
    labelled by the canonical data values (translated at display by :func:`analysis.report.tables.styled`).
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


def value_class_summary(customers: pd.DataFrame) -> pd.DataFrame:
    """:func:`group_summary` by the 8-class ``value_class`` (canonical names, translated at display)."""
    return group_summary(customers, "value_class")
