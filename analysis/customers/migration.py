"""Segment migration between two scoring periods.

Definitions
-----------
Rows are the previous period's category, columns this period's; a customer only in this period
is in row ``"(new)"``, a customer only in the previous period is in column ``"(gone)"``.

``counts``
    Customers per (previous, current) cell.
``revenue``
    Sum of ``value_column`` (default ``monetary``, currency) per cell, taken from **this** period's
    frame — except in the ``"(gone)"`` column, which holds the previous period's value (the revenue
    that walked away).
``shares``
    ``counts`` divided by its row total (share of each previous category that moved where).
Up / down
    Categories are ranked by an explicit value order, best first (:data:`SEGMENT_ORDER` for
    ``segment``, the 8-class order for ``value_class``/``value_class_en``, A > B > C for
    ``abc_class``). A customer moved *up* when their current rank is better than their previous
    one, *down* when worse.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.customers.segments import SEGMENT_ORDER as SEGMENTS
from analysis.customers.segments import VALUE_CLASS_EN
from analysis.customers.segments import VALUE_CLASS_ORDER as _VC_ORDER
from analysis.errors import InputError, ParamsError

#: Segment value order, best first (from :mod:`analysis.customers.segments`).
SEGMENT_ORDER: tuple[str, ...] = SEGMENTS
#: Chinese 8-class value order, best first.
VALUE_CLASS_ORDER: tuple[str, ...] = _VC_ORDER
#: English 8-class value order, best first (same order as :data:`VALUE_CLASS_ORDER`).
VALUE_CLASS_EN_ORDER: tuple[str, ...] = tuple(VALUE_CLASS_EN[zh] for zh in _VC_ORDER)
DEFAULT_ORDERS: dict[str, tuple[str, ...]] = {
    "segment": SEGMENT_ORDER,
    "value_class": VALUE_CLASS_ORDER,
    "value_class_en": VALUE_CLASS_EN_ORDER,
    "abc_class": ("A", "B", "C"),
}
NEW, GONE = "(new)", "(gone)"


@dataclass(frozen=True)
class MigrationResult:
    """Output of :func:`migration`; see the module docstring for definitions.

    Attributes
    ----------
    column : str
        The category compared.
    counts, revenue, shares : DataFrame
        Previous category (rows, plus ``"(new)"``) × current category (columns, plus ``"(gone)"``).
    moves : DataFrame
        One row per customer in either period (index ``customer_id``): ``previous``, ``current``
        (NaN when absent), ``previous_rank``, ``current_rank`` (0 = best), ``rank_change``
        (positive = moved up), ``direction`` (up, down, same, new, gone), ``value_previous``,
        ``value_current`` (currency).
    moved_up, moved_down : DataFrame
        Rows of ``moves`` that moved up / down, biggest move first, then by value.
    """

    column: str
    counts: pd.DataFrame
    revenue: pd.DataFrame
    shares: pd.DataFrame
    moves: pd.DataFrame
    moved_up: pd.DataFrame
    moved_down: pd.DataFrame


def migration(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    column: str = "segment",
    *,
    order: Sequence[str] | None = None,
    value_column: str = "monetary",
) -> MigrationResult:
    """Compare each customer's category this period with the previous period's.

    Parameters
    ----------
    previous, current : DataFrame
        Customer frames (index ``customer_id``) with ``column`` and ``value_column``.
    column : str, default="segment"
        Category to compare: ``segment``, ``value_class``, ``value_class_en``, ``abc_class`` or any
        other column when ``order`` is given.
    order : sequence of str, optional
        Categories best first; defaults to :data:`DEFAULT_ORDERS` for ``column``.
    value_column : str, default="monetary"
        Value summed in the revenue matrix (currency).

    Returns
    -------
    MigrationResult

    Raises
    ------
    InputError
        If a column is missing or a category is not in ``order``.
    ParamsError
        If ``column`` has no default order and ``order`` is not given.
    """
    if order is None:
        if column not in DEFAULT_ORDERS:
            raise ParamsError(f"migration: no default value order for column '{column}'; pass order=[...]")
        order = DEFAULT_ORDERS[column]
    order = list(order)
    for name, frame in (("previous", previous), ("current", current)):
        missing = [c for c in (column, value_column) if c not in frame.columns]
        if missing:
            raise InputError(f"migration: {name} customer frame lacks column(s) {missing}")
        unknown = sorted(set(frame[column].dropna().astype(str)) - set(order))
        if unknown:
            raise InputError(
                f"migration: {name} frame column '{column}' has value(s) {unknown} not in the order {order}"
            )
    rank = {c: i for i, c in enumerate(order)}
    ids = previous.index.union(current.index)
    prev = previous[column].reindex(ids)
    cur = current[column].reindex(ids)
    moves = pd.DataFrame(
        {
            "previous": prev,
            "current": cur,
            "previous_rank": prev.map(rank).astype(float),
            "current_rank": cur.map(rank).astype(float),
            "value_previous": previous[value_column].reindex(ids).astype(float),
            "value_current": current[value_column].reindex(ids).astype(float),
        },
        index=ids,
    )
    moves.index.name = previous.index.name or current.index.name or "customer_id"
    moves["rank_change"] = moves["previous_rank"] - moves["current_rank"]
    moves["direction"] = np.select(
        [prev.isna().to_numpy(), cur.isna().to_numpy(), moves["rank_change"] > 0, moves["rank_change"] < 0],
        ["new", "gone", "up", "down"],
        "same",
    )

    row = prev.fillna(NEW).astype(str)
    col = cur.fillna(GONE).astype(str)
    val = moves["value_current"].where(cur.notna(), moves["value_previous"])
    rows, cols = [*order, NEW], [*order, GONE]
    counts = pd.crosstab(row, col).reindex(index=rows, columns=cols, fill_value=0)
    revenue = pd.crosstab(row, col, values=val, aggfunc="sum").reindex(index=rows, columns=cols).fillna(0.0)
    for t in (counts, revenue):
        t.index.name, t.columns.name = f"previous_{column}", f"current_{column}"
    totals = counts.sum(axis=1)
    shares = counts.div(totals.where(totals > 0), axis=0)

    def _sorted(mask: pd.Series, ascending: bool) -> pd.DataFrame:
        m = moves[mask]
        return m.sort_values(["rank_change", "value_current"], ascending=[ascending, False])

    return MigrationResult(
        column=column,
        counts=counts,
        revenue=revenue,
        shares=shares,
        moves=moves,
        moved_up=_sorted(moves["direction"] == "up", ascending=False),
        moved_down=_sorted(moves["direction"] == "down", ascending=True),
    )
