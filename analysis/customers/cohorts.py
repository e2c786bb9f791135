"""Monthly acquisition cohorts.

Definitions
-----------
Cohort
    The calendar month of a customer's first purchase in the log.
Months since first purchase (``m``)
    Calendar-month difference between a purchase month and the cohort month (a purchase on
    31 January by a customer acquired on 30 January is in month 0; on 1 February in month 1).
Counts
    ``counts[cohort, m]`` = distinct customers of the cohort who bought in month ``cohort + m``.
    Month 0 is the cohort size.
Retention
    ``counts / cohort size`` as a fraction (0–1; multiply by 100 for %). Month 0 is 1.
Unobserved cells
    Cells whose month lies after the last observed month (the month of ``as_of``, default the last
    purchase in the log) are NaN, not 0: they have not happened yet. A partly observed last month
    counts as observed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.window import as_day


@dataclass(frozen=True)
class CohortTable:
    """Output of :func:`cohort_table`.

    Attributes
    ----------
    counts : DataFrame
        Index ``cohort`` (monthly Period), columns ``months_since_first`` (0, 1, ...); customers.
    retention : DataFrame
        Same shape; fraction of the cohort (0–1).
    revenue : DataFrame
        Same shape; revenue (currency) of the cohort in that month.
    sizes : Series
        Customers acquired per cohort.
    """

    counts: pd.DataFrame
    retention: pd.DataFrame
    revenue: pd.DataFrame
    sizes: pd.Series


def cohort_table(
    transactions: pd.DataFrame,
    *,
    as_of: str | pd.Timestamp | None = None,
    max_months: int | None = None,
) -> CohortTable:
    """Monthly acquisition cohorts × months since first purchase.

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions with ``customer_id``, ``order_date`` and ``amount`` (currency).
    as_of : str or Timestamp, optional
        Last observed day; later purchases are ignored. Defaults to the last purchase.
    max_months : int, optional
        Keep months since first purchase ``0..max_months``.

    Returns
    -------
    CohortTable

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "amount": [1.0, 2.0, 3.0],
    ...     "order_date": pd.to_datetime(["2024-01-05", "2024-02-01", "2024-02-10"])})
    >>> cohort_table(tx).retention.to_numpy().tolist()
    [[1.0, 1.0], [1.0, nan]]
    """
    missing = [c for c in ("customer_id", "order_date", "amount") if c not in transactions.columns]
    if missing:
        raise InputError(f"transactions: missing column(s) {missing}; pass the clean transactions")
    date = pd.to_datetime(transactions["order_date"])
    tx = pd.DataFrame(
        {
            "customer_id": transactions["customer_id"].astype(str).to_numpy(),
            "date": date.to_numpy(),
            "amount": transactions["amount"].astype(float).to_numpy(),
        }
    )
    if as_of is not None:
        tx = tx[tx["date"].dt.normalize() <= as_day(as_of)]
    if tx.empty:
        raise InputError("transactions: no purchases on or before as_of; nothing to build cohorts from")
    month = tx["date"].dt.to_period("M")
    tx["month"] = month
    tx["cohort"] = month.groupby(tx["customer_id"]).transform("min")
    month_no = tx["month"].dt.year * 12 + tx["month"].dt.month  # months since year 0
    tx["m"] = month_no - (tx["cohort"].dt.year * 12 + tx["cohort"].dt.month)
    last = pd.Timestamp(as_of).to_period("M") if as_of is not None else tx["month"].max()
    counts = tx.groupby(["cohort", "m"])["customer_id"].nunique().unstack("m", fill_value=0)
    revenue = tx.groupby(["cohort", "m"])["amount"].sum().unstack("m", fill_value=0.0)
    n_months = int((last.year - counts.index.min().year) * 12 + last.month - counts.index.min().month) + 1
    if max_months is not None:
        n_months = min(n_months, max_months + 1)
    cols = list(range(n_months))
    counts = counts.reindex(columns=cols, fill_value=0).astype(float)
    revenue = revenue.reindex(columns=cols, fill_value=0.0)
    # cells after the last observed month have not happened yet
    age = np.array([(last.year - c.year) * 12 + last.month - c.month for c in counts.index])
    unobserved = np.asarray(cols)[None, :] > age[:, None]
    counts = counts.mask(unobserved)
    revenue = revenue.mask(unobserved)
    sizes = counts[0].astype(int)
    retention = counts.div(sizes, axis=0)
    for t in (counts, revenue, retention):
        t.index.name, t.columns.name = "cohort", "months_since_first"
    sizes.name = "customers"
    return CohortTable(counts=counts, retention=retention, revenue=revenue, sizes=sizes)
