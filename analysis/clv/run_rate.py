"""Run-rate customer value: the stated fallback when no purchase model can be estimated.

Definitions (time unit u = the CLV time unit; purchases are purchase occasions, i.e. customer-days,
as in :mod:`analysis.clv.summary`; everything up to and including ``as_of``):

* ``rate`` (repeat purchases per unit) = repeat purchase days / max(T, 90 days), with T the time from
  the customer's first purchase day to ``as_of``: each customer's own run rate, the floor keeping a
  customer who bought twice in their first week from a run rate of a purchase a week.
* ``expected_spend`` (currency per purchase) = the customer's total spend / purchase days.
* Retention: among the customers who bought in the window ``[as_of - 2w, as_of - w]`` the share who
  bought again in ``(as_of - w, as_of]``, with ``w`` = 365 days or half the history (whole days) when shorter;
  converted to a retention per unit ``rho = share ** (unit_days / w)``. With no customer in the
  earlier window (history shorter than two days) nobody is assumed lost (``rho = 1``) and the note
  says so.
* Over a horizon of H units split in periods of one unit (see
  :func:`analysis.clv._transaction.discount_weights`): ``expected_purchases`` = rate × sum_k
  (t_k - t_{k-1}) rho ** t_k, and ``clv`` = margin × expected_spend × the same sum discounted by
  ``(1 + d) ** -t_k`` (d per unit).
* ``p_alive`` is missing (NaN): a run rate says nothing about who is still active.

It ignores each customer's own recency: a lapsed customer keeps their past rate. It is labelled as a
run-rate estimate wherever it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.clv._transaction import discount_weights
from analysis.clv.summary import purchase_occasions, unit_days
from analysis.errors import InputError

#: floor on the customer age used for the run rate, in days
MIN_TENURE_DAYS = 90.0
#: longest retention window, in days
RETENTION_WINDOW_DAYS = 365.0


@dataclass(frozen=True)
class RunRateEstimate:
    """Per-customer run-rate value and the retention it assumed.

    Attributes
    ----------
    customers : DataFrame
        Index ``customer_id``: ``p_alive`` (NaN), ``expected_purchases`` (over the horizon),
        ``expected_spend`` (currency per purchase), ``clv`` (discounted, currency).
    retention_per_unit : float
        ``rho``: share of customers still buying one time unit later.
    retention_window_days : float
        ``w`` of the module docstring (0 when retention could not be measured).
    retention_customers : int
        Customers in the earlier window the retention was measured on.
    note : str
        How the retention was measured, in words.
    """

    customers: pd.DataFrame
    retention_per_unit: float
    retention_window_days: float
    retention_customers: int
    note: str
    time_unit: str = "W"


def run_rate_value(
    transactions: pd.DataFrame,
    as_of: object,
    time_unit: str,
    horizon: float,
    discount_rate: float,
    margin: float = 1.0,
) -> RunRateEstimate:
    """Run-rate purchases, spend and CLV per customer (see the module docstring).

    Parameters
    ----------
    transactions : DataFrame
        Clean log (``customer_id``, ``order_date``, ``amount``).
    as_of : date-like
        Last day of history used (inclusive).
    time_unit : {'D', 'W', 'M'}
    horizon : float
        Horizon in time units.
    discount_rate : float
        Discount rate per time unit.
    margin : float, default=1.0
        Share of revenue counted as value.
    """
    length = unit_days(time_unit)
    end = pd.Timestamp(as_of).normalize()
    occ = purchase_occasions(transactions)
    occ = occ[occ["day"] <= end]
    if occ.empty:
        raise InputError(f"no purchase on or before {end.date()}: nothing to value")
    g = occ.groupby("customer_id", sort=True)
    first = g["day"].min()
    days = g.size().astype(float)
    spend = g["amount"].sum().astype(float)
    age_days = (end - first).dt.days.astype(float)
    rate = (days - 1.0) / np.maximum(age_days, MIN_TENURE_DAYS) * length

    span_days = float((end - occ["day"].min()).days)
    w = float(min(RETENTION_WINDOW_DAYS, span_days // 2))
    rho, n_before = 1.0, 0
    if w >= 1.0:
        before = occ[(occ["day"] >= end - pd.Timedelta(days=2 * w)) & (occ["day"] <= end - pd.Timedelta(days=w))]
        after = occ[occ["day"] > end - pd.Timedelta(days=w)]
        earlier = pd.Index(before["customer_id"].unique())
        n_before = len(earlier)
        if n_before:
            share = float(earlier.isin(after["customer_id"].unique()).mean())
            rho = share ** (length / w)
    if n_before:
        note = (
            f"retention measured as the share of the {n_before:,} customers who bought in the {w:.0f} days before "
            f"the last {w:.0f} and bought again in them"
        )
    else:
        note = "retention could not be measured (history too short); no customer is assumed lost"
        w = 0.0
    ends, factors = discount_weights(float(horizon), float(discount_rate))
    steps = np.diff(np.concatenate([[0.0], ends]))
    kept = steps * rho**ends
    purchases = rate * float(kept.sum())
    disc_purchases = rate * float((kept * factors).sum())
    expected_spend = spend / days
    customers = pd.DataFrame(
        {
            "p_alive": np.nan,
            "expected_purchases": purchases,
            "expected_spend": expected_spend,
            "clv": margin * disc_purchases * expected_spend,
        }
    )
    customers.index.name = "customer_id"
    return RunRateEstimate(customers, float(rho), float(w), int(n_before), note, time_unit)
