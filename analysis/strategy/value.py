"""What a customer is worth to an action: value at stake, net of returns, and which estimate it is.

Definitions (amounts in the source's currency, everything up to and including ``as_of``)
----------------------------------------------------------------------------------------
Net spend
    The transactions are the net log (:meth:`analysis.data.clean.CleanResult.net`): every return matched to the
    order it undoes has already lowered that order, and an order cancelled in full is gone, so ``monetary`` (the
    scoring window's purchases) and the CLV are net of them; nothing here nets them again. Left are the returns
    matched to **no** purchase (``match == "unmatched"``: the original predates the data; the strategy stage passes
    only those, :func:`analysis.data.cancellations.unmatched`): they lower the customer's spend in the window they
    occur in. Net spend = ``monetary`` − those returns, floored at 0 (a customer is never worth less than nothing).
    Order counts are not changed by them (a return is not an order). See docs/cancellations.md.
Kept share
    Net spend / ``monetary``, in [0, 1] (1 without unmatched returns): the share of the window's purchases the
    customer kept once the unmatched returns are taken off. A customer whose net spend is 0 has no value at stake.
Value at stake (per customer), by basis, first that applies
    * ``clv``: the CLV of the purchase models (BG/NBD or a fallback model + Gamma-Gamma) × kept share;
    * ``run_rate``: the run-rate estimate of :mod:`analysis.clv.run_rate` × kept share — each customer's
      purchase days per time unit over their tenure × their spend per purchase day × the measured share of
      customers still buying, over the CLV horizon, discounted. Used when the models could not be estimated
      (the CLV columns then hold it already) or did not run (CLV disabled, or not identifiable): it is computed
      here from the transactions, so a value at stake is never all-time spend;
    * ``net_spend``: net spend in the scoring window — only when neither CLV columns nor transactions are
      given (a library call on a bare customer frame; the pipeline always passes transactions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.cancellations import unmatched
from analysis.errors import InputError
from analysis.window import as_day

#: The bases of a value at stake, best first.
BASES: tuple[str, ...] = ("clv", "run_rate", "net_spend")


def returns_by_customer(
    returns: pd.DataFrame | None,
    as_of: str | pd.Timestamp | None = None,
    since: str | pd.Timestamp | None = None,
) -> pd.Series:
    """Returned value per customer (currency, positive), from ``since`` (exclusive) to ``as_of`` (inclusive).

    ``returns``: the returns still to net (``customer_id``, ``order_date``, ``amount``), in a run the unmatched ones
    (:func:`analysis.data.cancellations.unmatched`; the matched ones are in the net log already: given the whole
    :attr:`CleanResult.returns`, only their unmatched amounts count); rows without a customer id are ignored.
    Index ``customer_id`` (str).
    """
    if returns is None or returns.empty:
        return pd.Series(dtype=float, index=pd.Index([], name="customer_id", dtype=object))
    missing = [c for c in ("customer_id", "order_date", "amount") if c not in returns.columns]
    if missing:
        raise InputError(f"returns: missing column(s) {missing}; pass CleanResult.returns from analysis.data.clean")
    r = unmatched(returns)  # returns matched to an order are in the net log already: never netted twice
    r = r[r["customer_id"].notna()]
    day = pd.to_datetime(r["order_date"]).dt.normalize()
    keep = pd.Series(True, index=r.index)
    if as_of is not None:
        keep &= day <= as_day(as_of)
    if since is not None:
        keep &= day > as_day(since)
    r = r[keep]
    out = r["amount"].abs().astype(float).groupby(r["customer_id"].astype(str)).sum()
    out.index.name = "customer_id"
    return out


def net_spend(customers: pd.DataFrame, returned: pd.Series) -> pd.DataFrame:
    """``monetary_net`` (currency, >= 0) and ``kept_share`` (in [0, 1]) per customer (index as ``customers``).

    ``returned`` is :func:`returns_by_customer` over the customers' scoring window.
    """
    if "monetary" not in customers.columns:
        raise InputError("customer frame: missing column 'monetary'; score customers with analysis.customers.rfm")
    gross = customers["monetary"].astype(float)
    back = returned.reindex(customers.index.astype(str)).fillna(0.0).to_numpy()
    net = np.maximum(gross.to_numpy() - back, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kept = np.where(gross.to_numpy() > 0, net / gross.to_numpy(), 1.0)
    return pd.DataFrame({"monetary_net": net, "kept_share": np.clip(kept, 0.0, 1.0)}, index=customers.index)


@dataclass(frozen=True)
class ValueAtStake:
    """Value at stake per customer and how it was estimated.

    Attributes
    ----------
    values : Series
        Index ``customer_id``: value at stake (currency), net of returns.
    basis : str
        One of :data:`BASES` (see the module docstring).
    monetary_net : Series
        Net spend in the scoring window (currency).
    kept_share : Series
        Net / gross spend per customer.
    horizon : float or None
        The horizon of the ``clv``/``run_rate`` estimate, in ``time_unit`` units.
    time_unit : str or None
    """

    values: pd.Series
    basis: str
    monetary_net: pd.Series
    kept_share: pd.Series
    horizon: float | None = None
    time_unit: str | None = None


def value_at_stake(
    customers: pd.DataFrame,
    *,
    returns: pd.DataFrame | None = None,
    transactions: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
    since: str | pd.Timestamp | None = None,
    method: str | None = None,
    time_unit: str = "W",
    horizon: float | None = None,
    discount_rate: float | None = None,
) -> ValueAtStake:
    """Value at stake of every customer (see the module docstring for the bases).

    Parameters
    ----------
    customers : DataFrame
        Scored customers (index ``customer_id``) with ``monetary``; ``clv`` when the CLV step ran.
    returns : DataFrame, optional
        The returns still to net: in a run, those matched to no purchase (the net log holds the others already);
        netted from spend and CLV by the kept share.
    transactions : DataFrame, optional
        The clean transactions the customers were scored on; needed for the run-rate estimate when there
        are no CLV columns.
    as_of : date-like, optional
        The scoring day (inclusive); required with ``transactions``.
    since : date-like, optional
        The day before the scoring window starts (``rfm.lookback_days``); returns before it are not netted.
    method : str, optional
        How the CLV columns were obtained (``CustomerValue.method``: ``run_rate`` labels them a run-rate
        estimate); None: a model's CLV.
    time_unit, horizon, discount_rate
        The CLV settings (``CLVParams``), used by the run-rate estimate; ``horizon`` in time units
        (default one year), ``discount_rate`` per time unit (default 10 % a year).

    Returns
    -------
    ValueAtStake
    """
    returned = returns_by_customer(returns, as_of, since)
    net = net_spend(customers, returned)
    kept = net["kept_share"]
    has_clv = "clv" in customers.columns and bool(customers["clv"].notna().any())
    if has_clv:
        basis = "run_rate" if method == "run_rate" else "clv"
        clv = customers["clv"].astype(float)
        if clv.isna().any() and transactions is not None and as_of is not None:
            clv = clv.fillna(_run_rate(customers, transactions, as_of, time_unit, horizon, discount_rate))
        values = clv.fillna(net["monetary_net"]) * kept
    elif transactions is not None:
        if as_of is None:
            raise InputError("value at stake: the run-rate estimate needs as_of (the scoring day)")
        basis = "run_rate"
        values = _run_rate(customers, transactions, as_of, time_unit, horizon, discount_rate) * kept
    else:
        basis, values = "net_spend", net["monetary_net"]
    h = _clv_settings(time_unit, horizon, discount_rate)[0]
    return ValueAtStake(
        values=values.astype(float).rename("value_at_stake"),
        basis=basis,
        monetary_net=net["monetary_net"],
        kept_share=kept,
        horizon=h if basis != "net_spend" else None,
        time_unit=time_unit if basis != "net_spend" else None,
    )


def _clv_settings(time_unit: str, horizon: float | None, discount_rate: float | None) -> tuple[float, float]:
    """Horizon (units) and discount rate (per unit): as given, else the defaults of :class:`CLVParams`."""
    from analysis.params import CLVParams

    default = CLVParams(time_unit=time_unit)
    h = float(horizon) if horizon is not None else float(default.horizon)
    d = float(discount_rate) if discount_rate is not None else float(default.discount_rate)
    return h, d


def _run_rate(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    as_of: str | pd.Timestamp,
    time_unit: str,
    horizon: float | None,
    discount_rate: float | None,
) -> pd.Series:
    """The run-rate CLV of :func:`analysis.clv.run_rate.run_rate_value` per customer of ``customers``."""
    from analysis.clv.run_rate import run_rate_value

    if customers.empty:
        return pd.Series(dtype=float, index=customers.index)
    h, d = _clv_settings(time_unit, horizon, discount_rate)
    rr = run_rate_value(transactions, as_of, time_unit, h, d)
    values = rr.customers["clv"]
    values.index = values.index.astype(str)
    return pd.Series(values.reindex(customers.index.astype(str)).to_numpy(), index=customers.index, dtype=float)
