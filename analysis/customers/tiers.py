"""ABC tiers by cumulative revenue share (Pareto classes).

Definition
----------
1. Sort customers by value (``monetary``, currency) descending; ties are broken by ``customer_id``
   ascending, so the result does not depend on the input order.
2. For each customer compute ``share_before``: the revenue of every customer ranked above them
   divided by total revenue (0 for the first customer).
3. A customer is **A** if ``share_before < a`` (default 0.80), else **B** if ``share_before < b``
   (default 0.95, i.e. A plus the next 15 %), else **C**.

So the customer whose revenue *crosses* the 80 % line is A, and a customer starting exactly at
80 % is B. Shares are rounded to 12 decimals before comparing, so sums such as 0.5 + 0.3 land
exactly on 0.8. Customers with zero value are always C (they add nothing to revenue).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError, ParamsError

ABC_CLASSES: tuple[str, ...] = ("A", "B", "C")


def _check_thresholds(thresholds: tuple[float, float]) -> tuple[float, float]:
    if len(thresholds) != 2:
        raise ParamsError(f"abc thresholds must be two cumulative shares (a, b), got {thresholds!r}")
    a, b = (float(t) for t in thresholds)
    if not 0 < a <= b <= 1:
        raise ParamsError(
            f"abc thresholds must satisfy 0 < a <= b <= 1 (cumulative revenue shares), got ({a}, {b});"
            " e.g. (0.80, 0.95)"
        )
    return a, b


def abc_classes(
    customers: pd.DataFrame | pd.Series,
    thresholds: tuple[float, float] = (0.80, 0.95),
    *,
    column: str = "monetary",
) -> pd.DataFrame:
    """Assign each customer to tier A, B or C by cumulative revenue share.

    Parameters
    ----------
    customers : DataFrame or Series
        Customer frame (index ``customer_id``) with ``column``, or a Series of values.
    thresholds : tuple of float, default=(0.80, 0.95)
        Cumulative revenue shares (0–1) closing tiers A and B; see the module docstring.
    column : str, default="monetary"
        Value column (currency), e.g. ``monetary`` or ``clv``.

    Returns
    -------
    DataFrame
        Same index and order as the input; columns ``value`` (currency), ``rank`` (1 = highest),
        ``share`` (of total revenue), ``share_before``, ``cum_share`` (including the customer)
        and ``abc_class`` ("A", "B" or "C").

    Raises
    ------
    InputError
        If the column is missing, or values are negative or missing.
    ParamsError
        If the thresholds are not ``0 < a <= b <= 1``.

    Examples
    --------
    >>> s = pd.Series([50.0, 30.0, 15.0, 5.0], index=pd.Index(list("wxyz"), name="customer_id"))
    >>> abc_classes(s)["abc_class"].tolist()
    ['A', 'A', 'B', 'C']
    """
    a, b = _check_thresholds(thresholds)
    if isinstance(customers, pd.DataFrame):
        if column not in customers.columns:
            raise InputError(f"customer frame: column '{column}' missing; needed for ABC tiers")
        values = customers[column]
    else:
        values = customers
    values = values.astype(float)
    if values.isna().any() or (values < 0).any():
        bad = list(values.index[values.isna() | (values < 0)][:5])
        raise InputError(
            f"column '{column}': ABC tiers need non-negative values; customers {bad} are missing or "
            "negative (drop or fill them first)"
        )
    order = _ranking(values)
    v = values.to_numpy()[order]
    total = v.sum()
    cum = np.cumsum(v)
    share = v / total if total > 0 else np.zeros_like(v)
    cum_share = np.round(cum / total, 12) if total > 0 else np.zeros_like(v)
    before = np.round(np.concatenate([[0.0], cum[:-1]]) / total, 12) if total > 0 else np.ones_like(v)
    code = np.where(before < a, 0, np.where(before < b, 1, 2))
    code = np.where(v > 0, code, 2)
    # back in the input's order: position order[i] holds the i-th ranked customer (no realignment by id)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    classes = np.array(ABC_CLASSES, dtype=object)
    return pd.DataFrame(
        {
            "value": values.to_numpy(),
            "rank": back + 1,
            "share": share[back],
            "share_before": (before if total > 0 else np.zeros_like(v))[back],
            "cum_share": cum_share[back],
            "abc_class": pd.Series(classes[code[back]], index=values.index, dtype=object),
        },
        index=values.index,
    )


def _ranking(values: pd.Series) -> np.ndarray:
    """Positions of ``values`` by value descending, ties by ``customer_id`` ascending (the ids' text order)."""
    index = values.index
    if _is_text(index) and index.is_monotonic_increasing:
        # ids already in order (as every engine returns them): positions rank them, equal ids in input order, so
        # a stable sort by value alone gives the order of the lexsort below
        return np.argsort(-values.to_numpy(), kind="stable")
    # the ids' ranks in sorted order (ties share one): integer keys sort much faster than text
    ranks, _ = pd.factorize(index.astype(str), sort=True)
    # lexsort: last key is primary -> value descending, then customer_id ascending
    return np.lexsort((ranks, -values.to_numpy()))


def _is_text(index: pd.Index) -> bool:
    """True when every id is text, so that the index's own order is the order of ``index.astype(str)``."""
    if index.dtype == object:
        return pd.api.types.infer_dtype(index, skipna=False) == "string"
    return pd.api.types.is_string_dtype(index.dtype) and not index.hasnans


def net_tiers(
    customers: pd.DataFrame, returned: pd.Series, thresholds: tuple[float, float] = (0.80, 0.95)
) -> pd.Series:
    """ABC tiers (:func:`abc_classes`) on net spend: ``monetary`` (currency, the net log's) less ``returned``
    (index ``customer_id``: the returns matched to no purchase over the same window,
    :func:`analysis.strategy.value.returns_by_customer`), floored at 0. A customer who returned as much as they
    bought or more has no value and is tier **C**; the others are ranked by what they kept."""
    return net_abc(customers, returned, thresholds)["abc_class"]


def net_abc(
    customers: pd.DataFrame, returned: pd.Series | None, thresholds: tuple[float, float] = (0.80, 0.95)
) -> pd.DataFrame:
    """:func:`abc_classes` of :func:`net_tiers`: ranks, shares and tiers on net spend floored at 0, with ``value``
    the net spend itself (currency: ``monetary`` − ``returned``, negative for a customer who returned more than they
    bought in the window), so that :func:`abc_summary`'s revenue adds up to the window's net revenue of these
    customers. ``returned`` None or empty: :func:`abc_classes` of ``monetary``."""
    back = (
        np.zeros(len(customers))
        if returned is None or returned.empty
        else returned.reindex(customers.index.astype(str)).fillna(0.0).to_numpy(dtype=float)
    )
    net = customers["monetary"].to_numpy(dtype=float) - back
    out = abc_classes(pd.Series(np.maximum(net, 0.0), index=customers.index), thresholds)
    return out.assign(value=net)


def abc_summary(tiers: pd.DataFrame) -> pd.DataFrame:
    """Customers and revenue per tier.

    Parameters
    ----------
    tiers : DataFrame
        Output of :func:`abc_classes`.

    Returns
    -------
    DataFrame
        Index ``abc_class`` (A, B, C); columns ``customers``, ``customer_share``, ``revenue``
        (currency), ``revenue_share``, ``mean_value`` (currency per customer).
    """
    g = tiers.groupby("abc_class")["value"]
    t = pd.DataFrame({"customers": g.size(), "revenue": g.sum()}).reindex(list(ABC_CLASSES), fill_value=0)
    t["customers"] = t["customers"].astype(int)
    t["customer_share"] = t["customers"] / max(len(tiers), 1)
    total = t["revenue"].sum()
    t["revenue_share"] = t["revenue"] / total if total > 0 else 0.0
    t["mean_value"] = t["revenue"] / t["customers"].where(t["customers"] > 0)
    t.index.name = "abc_class"
    return t[["customers", "customer_share", "revenue", "revenue_share", "mean_value"]]


def pareto_curve(tiers: pd.DataFrame, max_points: int = 200) -> pd.DataFrame:
    """Cumulative customer share vs cumulative revenue share, for a Pareto (Lorenz-type) chart.

    Parameters
    ----------
    tiers : DataFrame
        Output of :func:`abc_classes`.
    max_points : int, default=200
        Down-sample to at most this many points (plus the origin), keeping the last one.

    Returns
    -------
    DataFrame
        Columns ``customer_share``, ``cum_share`` (revenue), ``abc_class``; starts at (0, 0).
    """
    t = tiers.sort_values("rank")
    n = len(t)
    idx = np.unique(np.linspace(0, n - 1, num=min(n, max_points)).round().astype(int)) if n else []
    pts = pd.DataFrame(
        {
            "customer_share": (np.asarray(idx) + 1) / max(n, 1),
            "cum_share": t["cum_share"].to_numpy()[idx],
            "abc_class": t["abc_class"].to_numpy()[idx],
        }
    )
    origin = pd.DataFrame({"customer_share": [0.0], "cum_share": [0.0], "abc_class": ["A"]})
    return pd.concat([origin, pts], ignore_index=True)
