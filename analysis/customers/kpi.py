"""Graded sales report (分级销售报表): KPIs for a period by segment, tier, region, channel, ...

Definitions (all amounts in currency, periods in whole days)
------------------------------------------------------------
Period
    ``[start, end]``, both days inclusive (time of day ignored).
Previous period
    The period of the same number of days ending the day before ``start``, unless the caller names it
    (``previous=(first, last)``: the run's stages pass the previous calendar month's window of as many days,
    :func:`analysis.window.equal_window`: 1–9 Nov for 1–9 Dec, 31 Aug – 30 Sep for October's 31 days).
Same period a year earlier
    ``[start − 1 year, end − 1 year]`` (calendar years), unless named (``year_ago=(first, last)``: the run's
    stages pass the same month a year before, as many days, by the same rule).
Order
    A distinct ``order_id``; lines without an ``order_id`` form one order per (customer, day).
revenue, orders, customers
    Sum of ``amount``; distinct orders; distinct customers — of the group in the period.
aov
    Average order value = revenue / orders.
revenue_share
    Group revenue / revenue of the whole period (all groups).
new_customers
    Customers of the group whose first purchase in the whole log is inside the period (the log
    must include the history before ``start`` for this to mean "new").
repeat_rate
    Share of the group's customers with at least 2 orders in the period.
retention_rate, churn_rate
    Of the customers who bought in the group in the previous period, the share who bought in the
    same group again in this period; churn = 1 − retention. NaN when the group had no customers in
    the previous period. Transaction attributes (region, channel, product_line, sales_rep) are taken
    per purchase.
Customer attributes (segment, value_class, abc_class, ...)
    This period's purchases are grouped by the ``customers`` frame (the customers as scored at the
    period's end). With ``previous_customers`` (scored at the previous period's end), the previous
    period is grouped by *that* frame: each group's customers of the previous period are followed into
    this one, so ``retention_rate`` is the share of last period's buyers in the group (say, last
    period's Champions) who bought again this period, whatever their group now, and ``revenue_prev``
    is what last period's Champions spent last period. Likewise ``year_ago_customers`` for the same
    period a year earlier. Without such a frame the comparison would group the past by today's
    attribute, which is circular (today's Champions bought, by definition; today's New Customers had
    no past). So: with ``previous_customers`` but no ``year_ago_customers``, the year-ago columns of
    customer-attribute groupings are NaN; with neither, every period is grouped by today's attribute
    (right for a fixed attribute such as a customer's home region, circular for RFM segments).
cost, gross_margin, gross_margin_pct
    Only when transactions have ``cost``: margin = revenue − cost; pct = margin / revenue.
``*_prev``, ``*_yoy``, ``*_growth``, ``*_yoy_growth``
    Revenue, orders and customers of the previous period and of the same period a year earlier,
    and growth = this / that − 1 (NaN when that is 0 or the group is absent).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.customers.rfm import order_keys
from analysis.errors import InputError, ParamsError
from analysis.window import as_day, previous_end

ALL = "(all)"
UNKNOWN = "(unknown)"
#: Groupings the report is designed for (any other column present also works).
GROUPINGS: tuple[str, ...] = (
    "segment",
    "value_class",
    "value_class_en",
    "abc_class",
    "lifecycle_stage",
    "region",
    "channel",
    "product_line",
    "sales_rep",
)


def require_columns(df: pd.DataFrame, columns: Sequence[str], what: str, fix: str) -> None:
    """Raise :class:`InputError` naming the missing ``columns`` of ``what`` and the ``fix``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{what}: missing column(s) {missing}; {fix}")


def period_mask(transactions: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Lines whose day is within ``[start, end]`` (inclusive days)."""
    day = pd.to_datetime(transactions["order_date"]).dt.normalize()
    return (day >= start.normalize()) & (day <= end.normalize())


def _prepare(transactions: pd.DataFrame, by: Sequence[str], customers: pd.DataFrame | None) -> pd.DataFrame:
    require_columns(
        transactions, ("customer_id", "order_date", "amount"), "transactions", "pass the clean transactions"
    )
    cols = ["customer_id", "order_date", "amount", *(c for c in ("cost",) if c in transactions.columns)]
    tx = transactions[cols].copy()
    tx["customer_id"] = tx["customer_id"].astype(str)
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx["_order"] = order_keys(transactions).to_numpy()
    for b in by:
        if b in transactions.columns:
            tx[b] = transactions[b].to_numpy()
        elif customers is not None and b in customers.columns:
            attr = customers[b]
            attr.index = attr.index.astype(str)
            tx[b] = tx["customer_id"].map(attr)
        else:
            hint = (
                "compute it with analysis.customers.tiers.abc_classes and add it to the customer frame"
                if b == "abc_class"
                else "add it to the transactions or pass a customer frame that has it"
            )
            raise InputError(f"sales report: grouping column '{b}' not found; {hint}")
        tx[b] = tx[b].astype(object).where(tx[b].notna(), UNKNOWN).astype(str)
    return tx


def _metrics(tx: pd.DataFrame, keys: list[str], first_purchase: pd.Series, start: pd.Timestamp) -> pd.DataFrame:
    g = tx.groupby(keys, sort=False)
    out = pd.DataFrame(
        {
            "revenue": g["amount"].sum(),
            "orders": g["_order"].nunique(),
            "customers": g["customer_id"].nunique(),
        }
    )
    per_cust = tx.groupby([*keys, "customer_id"], sort=False)["_order"].nunique()
    lvl = keys if len(keys) > 1 else keys[0]
    out["repeat_customers"] = (per_cust >= 2).groupby(level=lvl, sort=False).sum()
    is_new = tx["customer_id"].map(first_purchase.to_dict()) >= start.normalize()
    out["new_customers"] = tx[is_new].groupby(keys, sort=False)["customer_id"].nunique()
    if "cost" in tx.columns:
        out["cost"] = g["cost"].sum()
    return out.fillna({"new_customers": 0, "repeat_customers": 0})


def _regroup(t: pd.DataFrame, columns: list[str], frame: pd.DataFrame | None) -> pd.DataFrame:
    """``t`` with the customer-attribute ``columns`` taken from ``frame`` (NaN-filled when ``frame`` is None)."""
    if not columns:
        return t
    t = t.copy()
    for b in columns:
        if frame is None or b not in frame.columns:
            t[b] = UNKNOWN
            continue
        attr = frame[b]
        attr.index = attr.index.astype(str)
        t[b] = t["customer_id"].map(attr).astype(object)
        t[b] = t[b].where(t[b].notna(), UNKNOWN).astype(str)
    return t


def sales_report(
    transactions: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    by: str | Sequence[str] = ("segment",),
    customers: pd.DataFrame | None = None,
    *,
    total: bool = True,
    previous_customers: pd.DataFrame | None = None,
    year_ago_customers: pd.DataFrame | None = None,
    previous: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    year_ago: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """KPIs for the period ``[start, end]`` by any combination of groupings.

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions (``customer_id``, ``order_date``, ``amount``; optional ``order_id``,
        ``cost``, ``region``, ``channel``, ``product_line``, ``sales_rep``), including history before
        ``start`` (for new customers, retention and growth).
    start, end : str or Timestamp
        First and last day of the period (inclusive).
    by : str or sequence of str, default=("segment",)
        Grouping columns, from the transactions or from ``customers`` (e.g. ``segment``,
        ``value_class``, ``abc_class`` × ``region``, ``channel``, ``product_line``). May be empty
        for a single total row.
    customers : DataFrame, optional
        Customer frame (index ``customer_id``) supplying customer-level groupings, scored at ``end``.
    total : bool, default=True
        Append a row labelled ``"(all)"`` on every level with the whole period's KPIs.
    previous_customers, year_ago_customers : DataFrame, optional
        The customers scored at the previous period's end and at the end of the same period a year
        earlier: the previous (year-ago) period is grouped by them, so each group's customers are
        followed into this period (see the module docstring). When ``previous_customers`` is given
        and ``year_ago_customers`` is not, the year-ago columns of customer-attribute groupings are NaN.
    previous, year_ago : (Timestamp, Timestamp), optional
        First and last day (inclusive) of the windows compared with; default: see the module docstring.

    Returns
    -------
    DataFrame
        Index: the groupings (customers without a value are grouped as ``"(unknown)"``); groups that
        sold in the previous period but not in this one are included with zero sales; rows by
        revenue, highest first, total last. Columns: ``revenue``, ``revenue_share``, ``orders``,
        ``customers``, ``new_customers``, ``aov``, ``repeat_rate``, ``retention_rate``,
        ``churn_rate``, [``cost``, ``gross_margin``, ``gross_margin_pct``], ``revenue_prev``,
        ``revenue_growth``, ``orders_prev``, ``orders_growth``, ``customers_prev``,
        ``customers_growth``, and the same six with ``_yoy``. See the module docstring.

    Raises
    ------
    InputError
        If a required or grouping column is missing.
    ParamsError
        If ``end`` is before ``start``.
    """
    by = [by] if isinstance(by, str) else list(by)
    start, end = as_day(start), as_day(end)
    if end < start:
        raise ParamsError(f"sales report: end {end.date()} is before start {start.date()}")
    tx = _prepare(transactions, by, customers)
    keys = by or ["_all"]
    if not by:
        tx["_all"] = ALL
    first_purchase = tx.groupby("customer_id")["order_date"].min().dt.normalize()
    if previous is None:
        prev_end = previous_end(start, start)  # the day before the window
        prev_start = prev_end - (end - start)
    else:
        prev_start, prev_end = (as_day(d) for d in previous)
    if year_ago is None:
        yoy_start, yoy_end = start - pd.DateOffset(years=1), end - pd.DateOffset(years=1)
    else:
        yoy_start, yoy_end = (as_day(d) for d in year_ago)
    cur_tx = tx[period_mask(tx, start, end)]
    prev_tx = tx[period_mask(tx, prev_start, prev_end)]
    yoy_tx = tx[period_mask(tx, yoy_start, yoy_end)]
    # customer attributes: the past is grouped by the customers as they were then (followed, not circular)
    followed = [b for b in by if b not in transactions.columns] if previous_customers is not None else []
    yoy_unknown = bool(followed) and year_ago_customers is None
    prev_tx = _regroup(prev_tx, followed, previous_customers)
    yoy_tx = _regroup(yoy_tx, followed, year_ago_customers)

    def block(t_cur: pd.DataFrame, t_prev: pd.DataFrame, t_yoy: pd.DataFrame, k: list[str]) -> pd.DataFrame:
        m = _metrics(t_cur, k, first_purchase, start)
        prev_groups = t_prev.groupby(k, sort=False).size().index
        extra = prev_groups.difference(m.index) if len(m) else prev_groups
        if len(extra):  # groups that sold last period but not now: zero sales, retention 0
            m = m.reindex(m.index.append(extra))
            m = m.fillna({c: 0 for c in m.columns})
        if m.empty:
            return m
        m["revenue_share"] = m["revenue"] / cur_tx["amount"].sum()
        m["aov"] = m["revenue"] / m["orders"]
        m["repeat_rate"] = m["repeat_customers"] / m["customers"]
        # a followed customer attribute does not have to match: last period's Champions who bought again, as anything
        same = [x for x in k if x not in followed]
        prev_pairs = t_prev[[*k, "customer_id"]].drop_duplicates()
        cur_pairs = t_cur[[*same, "customer_id"]].drop_duplicates().assign(_kept=True)
        pp = prev_pairs.merge(cur_pairs, on=[*same, "customer_id"], how="left")
        pp["_kept"] = pp["_kept"].astype("boolean").fillna(False).astype(bool)
        gp = pp.groupby(k, sort=False)["_kept"]
        m["retention_rate"] = (gp.sum() / gp.size()).reindex(m.index)
        m["churn_rate"] = 1 - m["retention_rate"]
        if "cost" in m.columns:
            m["gross_margin"] = m["revenue"] - m["cost"]
            m["gross_margin_pct"] = m["gross_margin"] / m["revenue"].where(m["revenue"] != 0)
        for suffix, t in (("prev", t_prev), ("yoy", t_yoy)):
            gg = t.groupby(k, sort=False)
            base = pd.DataFrame(
                {
                    "revenue": gg["amount"].sum(),
                    "orders": gg["_order"].nunique(),
                    "customers": gg["customer_id"].nunique(),
                }
            ).reindex(m.index)
            unknown = suffix == "yoy" and yoy_unknown and any(x in followed for x in k)
            for v in ("revenue", "orders", "customers"):
                m[f"{v}_{suffix}"] = np.nan if unknown else base[v]
                denom = m[f"{v}_{suffix}"].where(m[f"{v}_{suffix}"] > 0)
                growth_name = f"{v}_growth" if suffix == "prev" else f"{v}_yoy_growth"
                m[growth_name] = m[v] / denom - 1
        return m

    report = block(cur_tx, prev_tx, yoy_tx, keys).sort_values("revenue", ascending=False, kind="stable")
    if total and by and not cur_tx.empty:
        tot = block(*(t.assign(_all=ALL) for t in (cur_tx, prev_tx, yoy_tx)), ["_all"])
        label = ALL if len(by) == 1 else tuple([ALL] * len(by))
        tot.index = pd.Index([label]) if len(by) == 1 else pd.MultiIndex.from_tuples([label])
        report = pd.concat([report, tot])
    cols = ["revenue", "revenue_share", "orders", "customers", "new_customers", "aov", "repeat_rate"]
    cols += ["retention_rate", "churn_rate"]
    if "cost" in report.columns:
        cols += ["cost", "gross_margin", "gross_margin_pct"]
    for ref, growth in (("_prev", "_growth"), ("_yoy", "_yoy_growth")):
        for v in ("revenue", "orders", "customers"):
            cols += [f"{v}{ref}", f"{v}{growth}"]
    report = report.reindex(columns=cols)
    for c in ("orders", "customers", "new_customers"):
        report[c] = report[c].fillna(0).astype(int)
    if by:
        report.index.names = by
    else:
        report.index = pd.Index([ALL] * len(report))  # no row when the window has no sales
    return report


def sales_rep_report(
    transactions: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    total: bool = True,
    previous: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    year_ago: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.DataFrame:
    """Sales-rep performance: :func:`sales_report` by ``sales_rep`` plus a revenue rank (``previous`` and
    ``year_ago``: the windows compared with, see :func:`sales_report`).

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions with a ``sales_rep`` column.
    start, end : str or Timestamp
        First and last day of the period (inclusive).
    total : bool, default=True
        Append the ``"(all)"`` row.

    Returns
    -------
    DataFrame
        Index ``sales_rep``; the report columns plus ``rank`` (1 = highest revenue; NaN on the
        total row).

    Raises
    ------
    InputError
        If the transactions have no ``sales_rep`` column.
    """
    require_columns(transactions, ("sales_rep",), "transactions", "map a sales-rep column in the column mapping")
    rep = sales_report(transactions, start, end, by="sales_rep", total=total, previous=previous, year_ago=year_ago)
    rank = rep["revenue"].drop(ALL, errors="ignore").rank(ascending=False, method="min")
    rep.insert(0, "rank", rank.reindex(rep.index))
    return rep


def kpi_totals(
    transactions: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    *,
    previous: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    year_ago: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.Series:
    """Headline KPIs for the whole period (the ``"(all)"`` row of :func:`sales_report`); ``previous`` and
    ``year_ago`` name the windows compared with (see :func:`sales_report`).

    Returns
    -------
    Series
        Same fields as the report columns (all NaN when the period has no sales).
    """
    rep = sales_report(transactions, start, end, by=(), total=False, previous=previous, year_ago=year_ago)
    if rep.empty:
        return pd.Series(np.nan, index=rep.columns)
    return rep.iloc[0]
