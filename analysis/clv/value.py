"""Per-customer value predictions: P(alive), expected purchases, expected spend and CLV.

CLV definition (revenue, or margin if ``margin`` < 1), for a horizon of H time units and a
discount rate d *per time unit* (the model's ``time_unit_``; e.g. 10 % a year is
d = 1.10 ** (7 / 365.25) - 1 = 0.00183 per week):

    CLV = margin * E[spend per purchase] * sum_k (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d) ** t_k,

with periods of one time unit, t_k = min(k, H), k = 1 .. ceil(H): each period's expected
purchases are discounted at the end of the period. E[Y(t)] is the model's conditional expected
number of purchases in (T, T + t] and E[spend per purchase] the Gamma-Gamma conditional mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import text
from analysis.clv._transaction import TransactionModel
from analysis.clv.distinct import DistinctSummary
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.summary import unit_days
from analysis.errors import InputError, ModelError

#: default yearly discount rate, converted to the time unit by :func:`discount_rate_per_unit`
ANNUAL_DISCOUNT_RATE = 0.10


def discount_rate_per_unit(annual_rate: float, time_unit: str) -> float:
    """Convert a yearly discount rate into the equivalent rate per time unit.

    ``(1 + annual_rate) ** (unit_days / 365.25) - 1``.
    """
    return (1.0 + annual_rate) ** (unit_days(time_unit) / 365.25) - 1.0


def default_horizon(time_unit: str) -> float:
    """One year in ``time_unit`` (365 days, 52 weeks or 12 months)."""
    return float(round(365.25 / unit_days(time_unit)))


def _check_unit(model: TransactionModel, summary: pd.DataFrame) -> None:
    unit = summary.attrs.get("time_unit")
    if unit is not None and unit != model.time_unit_:
        raise ModelError(
            f"the model was fitted in time unit {model.time_unit_!r} but the summary is in {unit!r}: "
            "rebuild the summary with the model's time unit"
        )


def customer_lifetime_value(
    transaction_model: TransactionModel,
    spend_model: GammaGamma,
    summary: pd.DataFrame,
    horizon: float,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> pd.Series:
    """Discounted CLV over ``horizon`` time units, per customer (currency; see module docstring).

    Parameters
    ----------
    transaction_model : BGNBD, ModifiedBGNBD or ParetoNBD
        Fitted purchase-count model.
    spend_model : GammaGamma
        Fitted spend model.
    summary : DataFrame or DistinctSummary
        Columns ``frequency``, ``t_x``, ``T``, ``monetary_value`` in the model's time unit, or the same grouped
        once (:class:`analysis.clv.distinct.DistinctSummary`: every prediction made once per distinct row).
    horizon : float
        Number of time units ahead.
    discount_rate : float, default=0.0
        Discount rate per time unit.
    margin : float, default=1.0
        Share of revenue counted as value.

    Returns
    -------
    Series
        ``clv`` indexed like ``summary``; never negative.
    """
    if not (math.isfinite(margin) and margin >= 0):
        raise InputError(f"margin must be >= 0, got {margin!r}")
    _check_unit(transaction_model, summary)
    if isinstance(summary, DistinctSummary):  # once per distinct history, one gather to the customers
        grouped = transaction_model._histories(summary)
        per_history = transaction_model._discounted_unique(grouped, summary, horizon, discount_rate)
        spend_per_customer = spend_model.spend_per_customer(summary)
        values = margin * per_history.take(grouped.inverse) * spend_per_customer
        return pd.Series(values, index=summary.index, name="clv")
    purchases = transaction_model.discounted_expected_purchases(summary, horizon, discount_rate)
    spend = spend_model.conditional_expected_average_profit(summary)
    if purchases.index is spend.index:  # both indexed by the summary's customers: no alignment needed
        return pd.Series(margin * purchases.to_numpy() * spend.to_numpy(), index=purchases.index, name="clv")
    return (margin * purchases * spend).rename("clv")


def predict_customers(
    transaction_model: TransactionModel,
    spend_model: GammaGamma,
    summary: pd.DataFrame,
    horizon: float,
    discount_rate: float = 0.0,
    margin: float = 1.0,
) -> pd.DataFrame:
    """All per-customer predictions in one frame indexed like ``summary``.

    Returns
    -------
    DataFrame
        ``p_alive``, ``expected_purchases`` (undiscounted, over ``horizon`` units),
        ``spend_per_purchase`` (expected spend per purchase, currency), ``expected_spend_horizon``
        (``expected_purchases`` × ``spend_per_purchase``: expected spend over the horizon, undiscounted, currency),
        ``clv`` (discounted, currency).
    """
    _check_unit(transaction_model, summary)
    p_alive = transaction_model.conditional_probability_alive(summary)
    purchases = transaction_model.conditional_expected_purchases(horizon, summary)
    spend = spend_model.conditional_expected_average_profit(summary)
    clv = customer_lifetime_value(transaction_model, spend_model, summary, horizon, discount_rate, margin)
    return value_frame(p_alive, purchases, spend, clv)


def value_frame(p_alive: pd.Series | float, purchases: pd.Series, spend: pd.Series, clv: pd.Series) -> pd.DataFrame:
    """The per-customer value columns in their order, named by what they hold: ``p_alive``, ``expected_purchases``
    (over the horizon), ``spend_per_purchase`` (currency), ``expected_spend_horizon`` (their product: spend over the
    horizon, undiscounted) and ``clv`` (discounted)."""
    return pd.DataFrame(
        {
            "p_alive": p_alive,
            "expected_purchases": purchases,
            "spend_per_purchase": spend,
            "expected_spend_horizon": purchases * spend,
            "clv": clv,
        }
    )


def totals_by_segment(
    predictions: pd.DataFrame,
    segments: pd.Series,
    columns: tuple[str, ...] = ("expected_purchases", "clv"),
    unassigned: str = "(unsegmented)",
) -> pd.DataFrame:
    """Next-period totals per segment.

    Parameters
    ----------
    predictions : DataFrame
        Per-customer predictions indexed by ``customer_id`` (e.g. from :func:`predict_customers`).
    segments : Series
        Segment label per ``customer_id``; customers missing from it are grouped as ``unassigned``.
    columns : tuple of str
        Prediction columns to add up.

    Returns
    -------
    DataFrame
        Indexed by segment: ``customers`` and, per column, its total and its mean per customer,
        plus each segment's share of the total of the first column.
    """
    missing = [c for c in columns if c not in predictions.columns]
    if missing:
        raise InputError(f"predictions lack column(s) {missing}")
    if not isinstance(segments, pd.Series):
        raise InputError("segments must be a pandas Series indexed by customer_id")
    labels = segments.reindex(predictions.index).astype(object)
    labels = labels.where(labels.notna(), unassigned).rename("segment")
    grouped = predictions.loc[:, list(columns)].groupby(labels, sort=True)
    out = pd.DataFrame({"customers": grouped.size()})
    for col in columns:
        out[f"{col}_total"] = grouped[col].sum()
        out[f"{col}_mean"] = grouped[col].mean()
    first = f"{columns[0]}_total"
    total = out[first].sum()
    out[f"{columns[0]}_share"] = out[first] / total if total > 0 else np.nan
    return out


#: P(alive) above this counts as "practically certain to be active"
P_ALIVE_CERTAIN = 0.95
#: P(alive) does not separate customers when at least this share of repeat customers is above P_ALIVE_CERTAIN
P_ALIVE_MAX_CERTAIN_SHARE = 0.90
#: ... or when the 10th–90th percentile range of P(alive) across repeat customers is below this
P_ALIVE_MIN_SPREAD = 0.10
#: ... or when fewer repeat customers than this have a P(alive)
P_ALIVE_MIN_CUSTOMERS = 10


@dataclass(frozen=True)
class PAliveCheck:
    """Whether P(alive) separates customers, and why not.

    Measured over the customers with a repeat purchase (for BG/NBD a one-time buyer's P(alive) is 1
    by construction, so they would say nothing): ``share_certain`` is the share with P(alive) >
    :data:`P_ALIVE_CERTAIN`, ``spread`` the range between the 10th and 90th percentiles. P(alive)
    is *informative* when there are at least :data:`P_ALIVE_MIN_CUSTOMERS` such customers,
    ``share_certain`` < :data:`P_ALIVE_MAX_CERTAIN_SHARE` and ``spread`` >= :data:`P_ALIVE_MIN_SPREAD`.
    ``code`` is None when informative, else ``no_p_alive``, ``too_few_repeat_customers``,
    ``nearly_all_certain`` or ``too_little_spread``; ``reason`` says the same in English words
    (:meth:`describe` in any catalog language).
    """

    informative: bool
    n_customers: int
    share_certain: float
    spread: float
    code: str | None
    reason: str | None

    def describe(self, language: str) -> str | None:
        """:attr:`reason` in ``language`` (catalog ``clv_fit.p_alive.<code>``); None when informative."""
        if self.code is None:
            return None
        return text.t(
            f"clv_fit.p_alive.{self.code}",
            language,
            n=self.n_customers,
            share=f"{self.share_certain:.0%}",
            spread=f"{self.spread:.2f}",
        )


def p_alive_separation(p_alive: pd.Series | None, repeat: pd.Series | None = None) -> PAliveCheck:
    """Check whether P(alive) can tell customers apart (see :class:`PAliveCheck`).

    Parameters
    ----------
    p_alive : Series or None
        P(alive) per customer (NaN = none, e.g. a run-rate estimate).
    repeat : Series of bool, optional
        Which customers have a repeat purchase (same index); default every customer with a P(alive).
    """
    values = pd.Series(dtype=float) if p_alive is None else pd.to_numeric(p_alive, errors="coerce").astype(float)
    nan = float("nan")
    if not values.notna().any():
        return _p_alive_check(False, 0, nan, nan, "no_p_alive")
    if repeat is not None:
        values = values[repeat.reindex(values.index).fillna(False).astype(bool)]
    values = values.dropna()
    n = len(values)
    if n < P_ALIVE_MIN_CUSTOMERS:
        return _p_alive_check(False, n, nan, nan, "too_few_repeat_customers")
    share = float((values > P_ALIVE_CERTAIN).mean())
    spread = float(values.quantile(0.9) - values.quantile(0.1))
    if share >= P_ALIVE_MAX_CERTAIN_SHARE:
        return _p_alive_check(False, n, share, spread, "nearly_all_certain")
    if spread < P_ALIVE_MIN_SPREAD:
        return _p_alive_check(False, n, share, spread, "too_little_spread")
    return _p_alive_check(True, n, share, spread, None)


def _p_alive_check(informative: bool, n: int, share: float, spread: float, code: str | None) -> PAliveCheck:
    check = PAliveCheck(informative, n, share, spread, code, None)
    return PAliveCheck(informative, n, share, spread, code, check.describe("en"))
