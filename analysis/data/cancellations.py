"""Cancellations and returns matched to the orders they undo, and the net log every money figure is read from.

Cleaning sets each return or cancellation aside (:attr:`analysis.data.clean.CleanResult.returns`, positive
amounts). :func:`match_returns` then finds, for each, the purchase line(s) it undoes, trying in this order (the
first rule that finds a purchase wins; ``match`` names it):

``order_id``
    the log carries the original order's id on the return (a return row with the same ``order_id`` as the
    purchase, as many ERP exports write it): the same customer's lines of that order, up to the return's time,
    lines of the same product first (``product_line`` and ``unit_price``, where mapped), the latest first. A
    cancellation *invoice* such as Online Retail's ``C536379`` is a number of its own, not the original's: its
    prefix is never stripped to guess one.
``product``
    the same customer and product (``product_line`` and/or ``unit_price``; only when one of them is mapped): the
    latest earlier line whose amount still open covers the return, one with exactly the return's amount first.
``amount``
    the same customer: the latest earlier order (``order_id``, else the customer's purchase day) whose amount still
    open covers the return, one with exactly the return's amount first; spread over that order's lines, largest
    first.
``unmatched``
    nothing found (the original predates the data, or the return is larger than anything still open): the return
    stays a return in the period it occurs (it lowers that period's net revenue, see :mod:`analysis.stages`).

"Earlier" includes the same moment (a log with dates only). Returns are matched in time order, each against what
earlier returns left open, so a match never depends on anything after the return: the matching of a log cut at
any day is the matching of the whole log restricted to it. A return can be matched only in part (an ``order_id``
return larger than its order): the rest is unmatched (``amount_unmatched``).

The **net log** (:func:`net_log`) is the clean purchases with each line's amount lowered by the returns matched to
it up to a day: a line brought to zero is gone (a fully cancelled order is no longer an order, a customer or
spend), a partly returned line keeps its order with a lower amount. Everything a manager reads as money — revenue,
KPIs, RFM monetary, ABC tiers, CLV inputs, value at stake, the action evaluation — is computed from it.

Money is conserved (:func:`check_conserved`): gross purchases − matched returns = the net log's total, and
matched + unmatched = the returns' total; every return row is counted once as matched by one rule or unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.orders import order_keys

__all__ = ["MATCH_RULES", "Matching", "check_conserved", "match_counts", "match_returns", "net_log", "unmatched"]

#: How a return was matched, in the order tried; ``unmatched`` when nothing was found.
MATCH_RULES: tuple[str, ...] = ("order_id", "product", "amount", "unmatched")
#: Columns that name a product, used by the ``order_id`` and ``product`` rules when the log has them.
PRODUCT_COLUMNS: tuple[str, ...] = ("product_line", "unit_price")
#: The columns :func:`match_returns` adds to the returns.
MATCH_COLUMNS: tuple[str, ...] = ("match", "matched_row_id", "amount_matched", "amount_unmatched")
#: Allocation columns: the return's and the purchase line's ``row_id`` and the amount (currency, > 0).
ALLOCATION_COLUMNS: tuple[str, ...] = ("return_row_id", "purchase_row_id", "amount")


def _tol(x: float) -> float:
    """Float tolerance for comparing money amounts of size ``x`` (currency): rounding, never a real difference."""
    return 1e-9 * max(1.0, abs(x))


@dataclass(frozen=True)
class Matching:
    """The outcome of :func:`match_returns`.

    ``returns``: the returns as given (positive ``amount``) plus ``match`` (one of :data:`MATCH_RULES`),
    ``matched_row_id`` (the ``row_id`` of the purchase line that took the largest part; <NA> when unmatched),
    ``amount_matched`` and ``amount_unmatched`` (currency; they add up to ``amount``). ``allocations``: one row per
    (return, purchase line) with the amount netted from that line (:data:`ALLOCATION_COLUMNS`).
    """

    returns: pd.DataFrame
    allocations: pd.DataFrame


def _empty_allocations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "return_row_id": pd.Series(dtype="int64"),
            "purchase_row_id": pd.Series(dtype="int64"),
            "amount": pd.Series(dtype="float64"),
        }
    )


def _text(values: pd.Series) -> np.ndarray:
    """Values as comparable Python objects (None for missing)."""
    out = values.astype(object).to_numpy()
    return np.where(pd.isna(out), None, out)


def match_returns(clean: pd.DataFrame, returns: pd.DataFrame) -> Matching:
    """Match each return to the purchase line(s) it undoes (see the module docstring for the rules).

    Parameters
    ----------
    clean : DataFrame
        Clean purchases (:attr:`CleanResult.clean`): ``customer_id``, ``order_date``, ``amount`` (> 0), ``row_id``;
        optionally ``order_id``, ``product_line``, ``unit_price``.
    returns : DataFrame
        The returns (:attr:`CleanResult.returns`): the same columns, ``amount`` positive (the value returned).

    Returns
    -------
    Matching
    """
    ret = returns.reset_index(drop=True)
    n = len(ret)
    match = np.full(n, "unmatched", dtype=object)
    matched_row = np.full(n, -1, dtype=np.int64)
    got = np.zeros(n, dtype=float)
    allocations: list[tuple[int, int, float]] = []
    ret_amount = ret["amount"].to_numpy(dtype=float) if n else np.zeros(0)
    if n and len(clean):
        product_cols = [c for c in PRODUCT_COLUMNS if c in clean.columns and c in ret.columns]
        use_order_id = "order_id" in clean.columns and "order_id" in ret.columns
        purchases = clean.reset_index(drop=True)
        purchases = purchases.iloc[np.lexsort((purchases["row_id"].to_numpy(), purchases["order_date"].to_numpy()))]
        open_ = purchases["amount"].to_numpy(dtype=float).copy()
        p_when = purchases["order_date"].to_numpy()
        p_row = purchases["row_id"].to_numpy(dtype=np.int64)
        p_cust = _text(purchases["customer_id"])
        p_order = _text(purchases["order_id"]) if use_order_id else None
        # each line's order, the one rule for counting orders (order_id, else one order per customer and day)
        p_key = pd.factorize(order_keys(purchases))[0]
        p_product = [_text(purchases[c]) for c in product_cols]
        # each customer's purchase positions (in the sorted frame), in time order
        by_customer: dict[Any, np.ndarray] = {}
        codes, uniques = pd.factorize(pd.Series(p_cust, dtype=object))
        order = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
        for k, cust in enumerate(uniques):
            by_customer[cust] = order[bounds[k] : bounds[k + 1]]
        r_cust = _text(ret["customer_id"])
        r_when = ret["order_date"].to_numpy()
        r_row = ret["row_id"].to_numpy(dtype=np.int64)
        r_order = _text(ret["order_id"]) if use_order_id else None
        r_product = [_text(ret[c]) for c in product_cols]

        def allocate(i: int, positions: np.ndarray, rule: str) -> None:
            left = ret_amount[i]
            best, best_amount = -1, 0.0
            for p in positions:
                if left <= _tol(ret_amount[i]):
                    break
                take = min(open_[p], left)
                if take <= 0:
                    continue
                open_[p] -= take
                left -= take
                allocations.append((int(r_row[i]), int(p_row[p]), float(take)))
                if take > best_amount:
                    best, best_amount = int(p_row[p]), take
            if best >= 0:
                match[i], matched_row[i] = rule, best
                got[i] = ret_amount[i] - max(left, 0.0) if left > _tol(ret_amount[i]) else ret_amount[i]

        def latest_covering(positions: np.ndarray, amounts: np.ndarray, amount: float) -> int | None:
            """Index into ``positions`` of the latest whose open amount covers ``amount``, exact amounts first."""
            covers = amounts >= amount - _tol(amount)
            if not covers.any():
                return None
            exact = covers & (np.abs(amounts - amount) <= _tol(amount))
            pick = exact if exact.any() else covers
            return int(np.flatnonzero(pick)[-1])

        for i in np.lexsort((r_row, r_when)):
            mine = by_customer.get(r_cust[i])
            amount = ret_amount[i]
            if mine is None or amount <= 0:
                continue
            mine = mine[(p_when[mine] <= r_when[i]) & (open_[mine] > 0)]
            if not len(mine):
                continue
            same_product = np.ones(len(mine), dtype=bool)
            for pp, rp in zip(p_product, r_product, strict=True):
                same_product &= pp[mine] == rp[i]
            # 1. the original order's id, when the return carries it
            if r_order is not None and r_order[i] is not None:
                of_order = p_order[mine] == r_order[i]
                if of_order.any():
                    cands = mine[of_order]
                    first = same_product[of_order]
                    allocate(i, np.concatenate([cands[first][::-1], cands[~first][::-1]]), "order_id")
                    continue
            # 2. customer + product + amount: the latest earlier line that covers it
            if product_cols and same_product.any():
                cands = mine[same_product]
                k = latest_covering(cands, open_[cands], amount)
                if k is not None:
                    allocate(i, cands[k : k + 1], "product")
                    continue
            # 3. customer + amount: the latest earlier order that covers it — only for a return that names no
            # product: one that does (product columns mapped) is never netted against another product's order
            if any(rp[i] is not None for rp in r_product):
                continue
            key_codes, key_first = pd.factorize(p_key[mine])
            totals = np.bincount(key_codes, weights=open_[mine], minlength=len(key_first))
            last_pos = np.zeros(len(key_first), dtype=np.int64)
            np.maximum.at(last_pos, key_codes, np.arange(len(mine)))
            by_time = np.argsort(last_pos, kind="stable")  # orders in time order of their last line
            k = latest_covering(by_time, totals[by_time], amount)
            if k is not None:
                lines = mine[key_codes == by_time[k]]
                allocate(i, lines[np.argsort(-open_[lines], kind="stable")], "amount")
    out = ret.assign(
        match=pd.Series(match, dtype=object),
        matched_row_id=pd.array(np.where(matched_row >= 0, matched_row, 0), dtype="Int64"),
        amount_matched=got,
        amount_unmatched=np.where(match == "unmatched", ret_amount, ret_amount - got),
    )
    out.loc[match == "unmatched", "matched_row_id"] = pd.NA
    alloc = (
        pd.DataFrame(allocations, columns=list(ALLOCATION_COLUMNS)).astype(
            {"return_row_id": "int64", "purchase_row_id": "int64", "amount": "float64"}
        )
        if allocations
        else _empty_allocations()
    )
    return Matching(out, alloc)


def net_log(
    clean: pd.DataFrame,
    returns: pd.DataFrame,
    allocations: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The clean purchases net of the returns matched to them that happened up to ``as_of`` (inclusive day; None:
    all): each line's ``amount`` lowered by what was returned of it; lines returned in full are left out.

    ``returns`` and ``allocations`` are :class:`Matching`'s (``returns`` needs ``row_id`` and ``order_date``).
    Columns and order as ``clean``; amounts stay >= 0 (an allocation never exceeds what was open).
    """
    if allocations is None or allocations.empty or returns is None or returns.empty:
        return clean
    alloc = allocations
    if as_of is not None:
        when = pd.Series(returns["order_date"].dt.normalize().to_numpy(), index=returns["row_id"].to_numpy())
        alloc = alloc[(when.reindex(alloc["return_row_id"].to_numpy()) <= as_of).to_numpy()]
    if alloc.empty:
        return clean
    back = alloc.groupby("purchase_row_id")["amount"].sum()
    returned = back.reindex(clean["row_id"].to_numpy()).fillna(0.0).to_numpy()
    if not returned.any():
        return clean
    gross = clean["amount"].to_numpy(dtype=float)
    net = gross - returned
    gone = (returned > 0) & (net <= np.vectorize(_tol, otypes=[float])(gross))
    out = clean.assign(amount=np.where(returned > 0, np.maximum(net, 0.0), gross))
    return out.loc[~gone]


def unmatched(returns: pd.DataFrame) -> pd.DataFrame:
    """The returns (or their parts) matched to no purchase, with ``amount`` = the unmatched amount: returns that
    stay returns in the period they occur. Returns without match columns are all unmatched."""
    if returns is None or returns.empty or "amount_unmatched" not in returns.columns:
        return returns if returns is not None else pd.DataFrame()
    part = returns[returns["amount_unmatched"] > 0]
    return part.assign(amount=part["amount_unmatched"].to_numpy())


def match_counts(returns: pd.DataFrame, clean: pd.DataFrame, net: pd.DataFrame) -> dict[str, Any]:
    """The matching in numbers, for ``quality.json`` and the data-quality section (they reconcile).

    ``rows``: return rows; one count per rule of :data:`MATCH_RULES` (they add up to ``rows``); ``value``,
    ``value_matched``, ``value_unmatched`` (currency; matched + unmatched = value); ``lines_cancelled`` (purchase
    lines returned in full), ``orders_cancelled`` (orders none of whose lines is left), ``gross`` and ``net``
    (the purchases' total before and after netting).
    """
    rows = len(returns)
    counts = {rule: 0 for rule in MATCH_RULES}
    if rows and "match" in returns.columns:
        for rule, k in returns["match"].value_counts().items():
            counts[str(rule)] = int(k)
    elif rows:
        counts["unmatched"] = rows
    value = float(returns["amount"].sum()) if rows else 0.0
    matched = float(returns["amount_matched"].sum()) if rows and "amount_matched" in returns.columns else 0.0
    gone = clean[~clean["row_id"].isin(net["row_id"])] if len(clean) else clean
    orders_before = set(order_keys(clean)) if len(clean) else set()
    orders_after = set(order_keys(net)) if len(net) else set()
    return {
        "rows": rows,
        **counts,
        "value": round(value, 2),
        "value_matched": round(matched, 2),
        "value_unmatched": round(value - matched, 2),
        "lines_cancelled": len(gone),
        "orders_cancelled": len(orders_before - orders_after),
        "gross": round(float(clean["amount"].sum()), 2) if len(clean) else 0.0,
        "net": round(float(net["amount"].sum()), 2) if len(net) else 0.0,
    }


def check_conserved(clean: pd.DataFrame, matching: Matching, net: pd.DataFrame) -> None:
    """Raise AssertionError unless money and rows are conserved (a bug, never a user error): net total = gross −
    matched, matched + unmatched = returned, every return row counted once, no purchase line gained value."""
    r = matching.returns
    gross, returned = float(clean["amount"].sum()), float(r["amount"].sum()) if len(r) else 0.0
    matched = float(matching.allocations["amount"].sum()) if len(matching.allocations) else 0.0
    tol = 1e-6 * max(1.0, gross + returned)
    if abs(float(net["amount"].sum()) - (gross - matched)) > tol:
        raise AssertionError("net log does not equal gross − matched returns; this is a bug")
    if len(r) and abs(float((r["amount_matched"] + r["amount_unmatched"]).sum()) - returned) > tol:
        raise AssertionError("matched + unmatched returns do not add up to the returns; this is a bug")
    if len(r) and not r["match"].isin(MATCH_RULES).all():
        raise AssertionError("a return has no match rule; this is a bug")
