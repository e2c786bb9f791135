"""Predictions shared by the transaction models (BG/NBD, MBG/NBD, Pareto/NBD).

Each model supplies two vectorised pieces:

* ``_p_alive(theta, x, t_x, T)``: probability that a customer with history (x, t_x, T) is
  still active at T;
* ``_expected_if_alive(theta, x, T, t)``: expected number of purchases in (T, T + t] given that
  the customer is active at T. For all three models this depends on (x, T) only, so it is
  evaluated once per distinct (x, T) pair and the conditional expectation is the product
  ``p_alive * expected_if_alive``.

Every time (t_x, T, t, horizons) is in the model's ``time_unit_``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.clv._base import BaseFitter, CLVFitError, SummaryDataError, check_is_fitted
from analysis.clv._compress import Grouped, group_rows, unique_inverse
from analysis.clv.distinct import DistinctSummary
from analysis.clv.summary import unit_days
from analysis.errors import InputError, ModelError


def _distinct_histories(summary: pd.DataFrame, steps: dict[str, float | None]) -> Grouped:
    """The distinct (frequency, t_x, T) rows of ``summary`` with the row -> distinct row map, checked
    (finite, t_x <= T) on the distinct rows."""
    missing = [c for c in ("frequency", "t_x", "T") if c not in summary.columns]
    if missing:
        raise InputError(f"summary lacks column(s) {missing}; build it with summary_from_transactions")
    try:
        columns = {c: summary[c].to_numpy(dtype=float) for c in ("frequency", "t_x", "T")}
    except (TypeError, ValueError):
        raise SummaryDataError("frequency, t_x and T must be numbers to predict") from None
    grouped = group_rows(columns, steps)
    _check_histories(grouped)
    return grouped


def _check_histories(grouped: Grouped) -> None:
    """SummaryDataError unless the distinct histories are finite with t_x <= T."""
    v = grouped.values
    if not (np.all(np.isfinite(v["frequency"])) and np.all(np.isfinite(v["t_x"])) and np.all(np.isfinite(v["T"]))):
        raise SummaryDataError("frequency, t_x and T must be finite to predict")
    if np.any(v["t_x"] > v["T"] * (1 + 1e-9) + 1e-12):
        raise SummaryDataError("t_x > T for some customers: rebuild the summary")


def discount_weights(horizon: float, discount_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """Period end times and discount factors of a CLV horizon.

    Periods are whole time units: period k covers (k-1, k] (the last one ends at ``horizon``) and
    its purchases are discounted by ``(1 + discount_rate) ** -t_k`` with ``t_k = min(k, horizon)``.

    Returns
    -------
    ends : ndarray
        ``t_k`` for k = 1 .. ceil(horizon).
    factors : ndarray
        Discount factors of the periods.
    """
    if not (math.isfinite(horizon) and horizon > 0):
        raise InputError(f"horizon must be a positive number of time units, got {horizon!r}")
    if not (math.isfinite(discount_rate) and discount_rate > -1):
        raise InputError(f"discount_rate must be > -1 (per time unit), got {discount_rate!r}")
    k = np.arange(1, math.ceil(horizon - 1e-12) + 1, dtype=float)
    ends = np.minimum(k, horizon)
    return ends, (1.0 + discount_rate) ** -ends


class TransactionModel(BaseFitter):
    """Base of the purchase-count models; adds the per-customer predictions."""

    data_columns = ("frequency", "t_x", "T")

    def _lattice_steps(self, time_unit: str) -> dict[str, float | None]:
        """frequency is a whole number; t_x and T are day counts divided by the unit's length."""
        days = unit_days(time_unit)
        return {"frequency": 1.0, "t_x": days, "T": days}

    # hooks ---------------------------------------------------------------------------
    def _p_alive(self, theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def _expected_if_alive(self, theta: np.ndarray, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    # public predictions -----------------------------------------------------------------
    def _theta(self) -> np.ndarray:
        check_is_fitted(self)
        return self.params_.to_numpy(dtype=float)

    def _histories(self, summary: pd.DataFrame | DistinctSummary) -> Grouped:
        """The distinct (x, t_x, T) rows of ``summary`` with each customer's row: grouped here, or the grouping a
        :class:`~analysis.clv.distinct.DistinctSummary` holds already (checked the same way)."""
        if isinstance(summary, DistinctSummary):
            _check_histories(summary.histories)
            return summary.histories
        return _distinct_histories(summary, self._lattice_steps(self.time_unit_))

    def _p_alive_unique(self, grouped: Grouped) -> np.ndarray:
        v = grouped.values
        with np.errstate(all="ignore"):
            return self._p_alive(self._theta(), v["frequency"], v["t_x"], v["T"])

    def _if_alive_unique(self, grouped: Grouped, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """E[purchases in (T, T+t] | alive] for each distinct (x, T) of the distinct histories and each
        t: (values of shape (pairs, len(times)), index of each distinct history's pair)."""
        theta = self._theta()
        levels, codes = grouped.levels, grouped.codes
        n_T = len(levels["T"])
        pair = codes["frequency"].astype(np.int64) * n_T + codes["T"]
        keys, inv = unique_inverse(pair, len(levels["frequency"]) * n_T)
        x = levels["frequency"][keys // n_T][:, None]
        T = levels["T"][keys % n_T][:, None]
        t = np.asarray(times, dtype=float)[None, :]
        xb, Tb, tb = np.broadcast_arrays(x, T, t)
        with np.errstate(all="ignore"):
            vals = self._expected_if_alive(theta, xb.ravel(), Tb.ravel(), tb.ravel()).reshape(xb.shape)
        return vals, inv

    def _per_customer(
        self, values: np.ndarray, grouped: Grouped, summary: pd.DataFrame, name: str, what: str | None = None
    ) -> pd.Series:
        """Values of the distinct histories spread to every customer, checked (finite, not negative;
        see :meth:`_checked`, whose message calls them ``what``) and clipped at 0."""
        bad = ~np.isfinite(values) | (values < -1e-12)
        if bad.any():
            series = pd.Series(values[grouped.inverse], index=summary.index, name=name)
            return self._checked(series, what or name)
        return pd.Series(np.maximum(values, 0.0).take(grouped.inverse), index=summary.index, name=name)

    def conditional_probability_alive(self, summary: pd.DataFrame) -> pd.Series:
        """P(customer still active at T | x, t_x, T), per customer (index of ``summary``)."""
        grouped = self._histories(summary)
        return self._per_customer(self._p_alive_unique(grouped), grouped, summary, "p_alive")

    def conditional_expected_purchases(self, t: float, summary: pd.DataFrame) -> pd.Series:
        """Expected number of purchases in the next ``t`` time units, per customer.

        Parameters
        ----------
        t : float
            Length of the future period, in ``time_unit_``.
        summary : DataFrame
            Columns ``frequency``, ``t_x``, ``T`` (in ``time_unit_``).
        """
        if not (math.isfinite(t) and t >= 0):
            raise InputError(f"t must be a finite number of time units >= 0, got {t!r}")
        grouped = self._histories(summary)
        p = self._checked_p_alive(grouped, summary)
        vals, inv = self._if_alive_unique(grouped, np.array([float(t)]))
        return self._per_customer(p * vals[inv, 0], grouped, summary, "expected_purchases", "expected purchases")

    def discounted_expected_purchases(
        self, summary: pd.DataFrame, horizon: float, discount_rate: float = 0.0
    ) -> pd.Series:
        """Discounted expected purchases over ``horizon`` units (see :func:`discount_weights`).

        Sum over periods k of (E[Y(t_k)] - E[Y(t_{k-1})]) * (1 + discount_rate) ** -t_k, where
        E[Y(t)] is :meth:`conditional_expected_purchases`; ``discount_rate`` is per time unit. Computed
        once per distinct (x, t_x, T) (the expectations at the period ends once per distinct (x, T))
        and spread to the customers.
        """
        grouped = self._histories(summary)
        values = self._discounted_unique(grouped, summary, horizon, discount_rate)
        return pd.Series(values.take(grouped.inverse), index=summary.index, name="discounted_purchases")

    def _discounted_unique(
        self, grouped: Grouped, summary: pd.DataFrame | DistinctSummary, horizon: float, discount_rate: float
    ) -> np.ndarray:
        """:meth:`discounted_expected_purchases` of each distinct history of ``grouped``, checked (finite, not
        negative: else :class:`CLVFitError` naming customers) and clipped at 0."""
        ends, factors = discount_weights(float(horizon), float(discount_rate))
        p = self._checked_p_alive(grouped, summary)
        vals, inv = self._if_alive_unique(grouped, ends)
        # sum_k (E_k - E_{k-1}) f_k = sum_k E_k (f_k - f_{k+1}) with f_{K+1} = 0
        disc = vals @ (factors - np.append(factors[1:], 0.0))
        values = p * disc[inv]
        if not np.all(np.isfinite(values) & (values >= -1e-12)):
            self._per_customer(values, grouped, summary, "discounted_purchases", "discounted expected purchases")
        return np.maximum(values, 0.0)

    def _checked_p_alive(self, grouped: Grouped, summary: pd.DataFrame) -> np.ndarray:
        p = self._p_alive_unique(grouped)
        if not np.all(np.isfinite(p) & (p >= -1e-12)):
            self._per_customer(p, grouped, summary, "p_alive")  # raises with the customers concerned
        return np.maximum(p, 0.0)

    def expected_purchases_new_customer(self, t: float | np.ndarray) -> np.ndarray | float:
        """Unconditional E[X(t)]: expected repeat purchases of a new customer in t units after the first."""
        theta = self._theta()
        tt = np.atleast_1d(np.asarray(t, dtype=float))
        if np.any(~np.isfinite(tt)) or np.any(tt < 0):
            raise InputError("t must be finite and >= 0")
        zero = np.zeros_like(tt)
        with np.errstate(all="ignore"):
            val = self._p_alive(theta, zero, zero, zero) * self._expected_if_alive(theta, zero, zero, tt)
        if not np.all(np.isfinite(val)):
            raise ModelError(f"{type(self).__name__}: expected purchases are not finite for these parameters")
        return float(val[0]) if np.ndim(t) == 0 else val

    def _checked(self, series: pd.Series, what: str) -> pd.Series:
        bad = ~np.isfinite(series.to_numpy()) | (series.to_numpy() < -1e-12)
        if bad.any():
            raise CLVFitError(
                f"{self.display_name or type(self).__name__}: {what} cannot be computed for {int(bad.sum())} "
                f"customer(s) (e.g. {list(series.index[bad][:5])}) with the fitted parameters "
                f"({', '.join(f'{k}={v:.3g}' for k, v in self.params_.items())})",
                "not_finite",
                model=self.model_name,
            )
        return series.clip(lower=0.0)
