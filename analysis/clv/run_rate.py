"""Run-rate customer value: the stated fallback when no purchase model can be estimated.

Definitions (time unit u = the CLV time unit; purchases are purchase occasions, i.e. customer-days,
as in :mod:`analysis.clv.summary`; everything up to and including ``as_of``):

* ``rate`` (repeat purchases per unit) = (repeat purchase days + R × 90 days) / (T + 90 days), with T the time
  from the customer's first purchase day to ``as_of`` and R = all customers' repeat purchase days / all their
  days since their first purchase (the population's repeat rate): each customer's own run rate, shrunk towards
  the population's by the weight of 90 days of history (the posterior mean rate of a Poisson buyer whose rate has
  a Gamma prior centred on R). A customer who bought twice in their first week does not get a purchase a week, and
  a new customer with one purchase so far gets the population's rate for their age, not 0 by construction (0 only
  when nobody has bought twice).
* ``spend_per_purchase`` (currency) = the customer's total spend / purchase days; ``expected_spend_horizon`` =
  ``expected_purchases`` × ``spend_per_purchase``.
* Retention: among the customers who bought in the window ``[as_of - 2w, as_of - w]`` the share who
  bought again in ``(as_of - w, as_of]``, with ``w`` = 365 days or half the history (whole days) when shorter;
  converted to a retention per unit ``rho = share ** (unit_days / w)``. With no customer in the
  earlier window (history shorter than two days) nobody is assumed lost (``rho = 1``) and the note
  says so.
* Over a horizon of H units split in periods of one unit (see
  :func:`analysis.clv._transaction.discount_weights`): ``expected_purchases`` = rate × sum_k
  (t_k - t_{k-1}) rho ** t_k, and ``clv`` = margin × spend_per_purchase × the same sum discounted by
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
from analysis.clv.value import value_frame
from analysis.errors import InputError
from analysis.window import as_day

#: weight of the population's repeat rate in each customer's run rate, in days of history
PRIOR_DAYS = 90.0
#: longest retention window, in days
RETENTION_WINDOW_DAYS = 365.0


@dataclass(frozen=True)
class RunRateEstimate:
    """Per-customer run-rate value and the retention it assumed.

    Attributes
    ----------
    customers : DataFrame
        Index ``customer_id``: ``p_alive`` (NaN), ``expected_purchases`` (over the horizon),
        ``spend_per_purchase`` (currency), ``expected_spend_horizon`` (currency, undiscounted), ``clv``
        (discounted, currency).
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


def retention_window_days(first_day: object, as_of: object) -> float:
    """``w`` of the module docstring, in whole days: 365 or half the history from ``first_day`` (the first
    purchase day of the log) to ``as_of`` when shorter; below 1 no retention can be measured."""
    span_days = float((as_day(as_of) - as_day(first_day)).days)
    return float(min(RETENTION_WINDOW_DAYS, span_days // 2))


def retention_base_days(w: float, as_of: object) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The earlier retention window ``[as_of - 2w, as_of - w]`` (both days included), None when ``w < 1``."""
    if w < 1.0:
        return None
    end = as_day(as_of)
    return end - pd.Timedelta(days=2 * w), end - pd.Timedelta(days=w)


def run_rate_facts(transactions: pd.DataFrame, as_of: object) -> pd.DataFrame:
    """What the run rate takes from the log, per customer (index ``customer_id``, sorted), up to ``as_of``.

    Columns: ``first_purchase`` / ``last_purchase`` (first / last purchase day), ``purchase_days`` (purchase
    occasions), ``spend`` (total spend, currency) and ``in_retention_base`` (a purchase day in the earlier
    retention window of :func:`retention_base_days`, with ``w`` from :func:`retention_window_days`). Engines
    compute the same frame in their one pass over the log (:class:`analysis.engines.base.ScoreInputs`).
    """
    end = as_day(as_of)
    occ = purchase_occasions(transactions)
    occ = occ[occ["day"] <= end]
    if occ.empty:
        raise InputError(f"no purchase on or before {end.date()}: nothing to value")
    g = occ.groupby("customer_id", sort=True)
    facts = pd.DataFrame(
        {
            "first_purchase": g["day"].min(),
            "last_purchase": g["day"].max(),
            "purchase_days": g.size(),
            "spend": g["amount"].sum().astype(float),
        }
    )
    base = retention_base_days(retention_window_days(occ["day"].min(), end), end)
    in_base = pd.Index([])
    if base is not None:
        in_base = pd.Index(occ.loc[(occ["day"] >= base[0]) & (occ["day"] <= base[1]), "customer_id"].unique())
    facts["in_retention_base"] = facts.index.isin(in_base)
    facts.index.name = "customer_id"
    return facts


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
    return run_rate_from_facts(run_rate_facts(transactions, as_of), as_of, time_unit, horizon, discount_rate, margin)


def run_rate_from_facts(
    facts: pd.DataFrame,
    as_of: object,
    time_unit: str,
    horizon: float,
    discount_rate: float,
    margin: float = 1.0,
) -> RunRateEstimate:
    """:func:`run_rate_value` from the per-customer facts of :func:`run_rate_facts` (as an engine computed them:
    the log is not read again)."""
    length = unit_days(time_unit)
    end = as_day(as_of)
    if facts.empty:
        raise InputError(f"no purchase on or before {end.date()}: nothing to value")
    days = facts["purchase_days"].astype(float)
    age_days = (end - facts["first_purchase"]).dt.days.astype(float)
    total_age = float(age_days.sum())
    population = float((days - 1.0).sum()) / total_age if total_age > 0 else 0.0  # repeat purchase days per day
    rate = (days - 1.0 + population * PRIOR_DAYS) / (age_days + PRIOR_DAYS) * length

    w = retention_window_days(facts["first_purchase"].min(), end)
    rho, n_before = 1.0, 0
    if w >= 1.0:
        earlier = facts["in_retention_base"].to_numpy(dtype=bool)
        n_before = int(earlier.sum())
        if n_before:
            after = (facts["last_purchase"] > end - pd.Timedelta(days=w)).to_numpy(dtype=bool)
            share = float(after[earlier].mean())
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
    spend = facts["spend"].astype(float) / days
    customers = value_frame(np.nan, purchases, spend, margin * disc_purchases * spend)
    customers.index.name = "customer_id"
    return RunRateEstimate(customers, float(rho), float(w), int(n_before), note, time_unit)
