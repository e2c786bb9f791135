"""Gamma-Gamma model of spend per purchase (Fader & Hardie 2013, "The Gamma-Gamma model of
monetary value"; Colombo & Jiang 1999).

The value of each repeat transaction of a customer is Gamma(p, nu) (shape p, rate nu), with
nu ~ Gamma(q, gamma) across customers, independent of the purchase process. The likelihood of
the mean m of a customer's x repeat transactions is

    f(m | x) = G(px + q) / (G(px) G(q)) * gamma^q * x^(px) * m^(px-1) / (gamma + x m)^(px+q).

Published result (test ``test_gamma_gamma_cdnow_published``): on the 946 CDNOW customers with
at least one repeat purchase day in 1997-01-01 ... 1997-09-30, with m = mean spend of the
repeat purchase *days* (records of one customer on one day summed, the first day excluded):
p = 6.25, q = 3.74, gamma = 15.44 (parameter ``v`` in the JSON, as in lifetimes).
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from analysis.clv import _base
from analysis.clv._base import BaseFitter, CLVFitError, SummaryDataError, check_is_fitted
from analysis.clv._compress import column_codes, dense_ranks, unique_inverse
from analysis.clv.distinct import DistinctSummary
from analysis.errors import InputError, ModelError


class IndependenceWarning(UserWarning):
    """Frequency and spend per purchase are correlated: the Gamma-Gamma assumption is doubtful."""


class GammaGamma(BaseFitter):
    """Gamma-Gamma spend model, fitted on customers with frequency > 0.

    Parameters
    ----------
    penalizer : float, default=0.0
        Weight of the scale-free penalty on log parameters (see :mod:`analysis.clv._base`); the
        same value means the same in any currency or time unit.
    n_starts : int, default=3
        Number of optimiser starting points.
    seed : int, default=0
        Seed of the random starting points.
    corr_threshold : float, default=0.3
        An :class:`IndependenceWarning` is issued when ``|independence_corr_|`` exceeds it.

    Attributes
    ----------
    params_ : Series
        ``p``, ``q``, ``v`` (v is gamma, in currency units).
    independence_corr_ : float
        Pearson correlation of ``frequency`` and ``monetary_value`` among the repeat customers
        (the model assumes spend per purchase is independent of the purchase process).
    """

    param_names = ("p", "q", "v")
    data_columns = ("frequency", "monetary_value")
    model_name = "gamma_gamma"
    display_name = "Gamma-Gamma"
    param_concept: ClassVar[dict[str, str]] = {
        "p": "spend",
        "q": "spend",
        "v": "spend",
    }
    _keep_fit_inputs = False

    def __init__(self, penalizer: float = 0.0, n_starts: int = 3, seed: int = 0, corr_threshold: float = 0.3) -> None:
        super().__init__(penalizer=penalizer, n_starts=n_starts, seed=seed)
        self.corr_threshold = corr_threshold

    def _fit_inputs(
        self, summary: pd.DataFrame | DistinctSummary, weights: Any, unit: str
    ) -> tuple[dict[str, np.ndarray], np.ndarray, float, float, dict[str, Any], dict[str, Any] | None]:
        """The repeat customers' (frequency, monetary_value) rows as they are, read as arrays (a DistinctSummary's
        spends, or the summary's columns), checked, and reduced by :meth:`_reduce` to their distinct x and
        distinct total spends (grouping the (x, m) rows first would be a pass for nothing); see
        :meth:`BaseFitter._fit_inputs`. Rows with ``frequency == 0`` or weight 0 are left out."""
        if isinstance(summary, DistinctSummary):
            x, m = summary.spends.values["frequency"], summary.spends.values["monetary_value"]
            w = summary.spends.weights
            at = summary.repeat  # the customer of each row
        else:
            missing = [c for c in self.data_columns if c not in summary.columns]
            if missing:
                raise InputError(f"summary lacks column(s) {missing}; build it with summary_from_transactions")
            try:
                x, m = (summary[c].to_numpy(dtype=float) for c in self.data_columns)
            except (TypeError, ValueError):
                raise SummaryDataError("Gamma-Gamma: frequency and monetary_value must be numbers") from None
            if weights is None:
                w = np.ones(len(x))
            else:
                w = np.asarray(weights, dtype=float)
                if w.shape != (len(x),) or not np.all(np.isfinite(w)) or np.any(w < 0):
                    raise SummaryDataError("weights must be one finite non-negative number per summary row")
            at = np.arange(len(x))
        if np.any(~np.isfinite(x)) or np.any(x < 0) or np.any(x != np.round(x)):
            raise SummaryDataError("Gamma-Gamma: frequency must be a non-negative whole number")
        keep = (x > 0) & (w > 0)
        if not keep.all():
            rows = np.flatnonzero(keep)
            x, m, w, at = x.take(rows), m.take(rows), w.take(rows), at.take(rows)
        bad = ~np.isfinite(m) | (m <= 0)
        if bad.any():
            raise SummaryDataError(
                f"Gamma-Gamma: monetary_value must be positive for customers with repeat purchases; "
                f"{float(w[bad].sum()):g} have zero, negative or missing spend "
                f"(e.g. {list(summary.index[at[bad][:5]])}): "
                "remove zero-value orders or these customers"
            )
        n = float(w.sum())
        if n < 2 or len(x) < 2:
            raise SummaryDataError(
                f"Gamma-Gamma: too few repeat customers (n={n:g}; fewer than two) to estimate how much "
                "customers spend per order",
                "too_few_repeat_customers",
                n_repeat=n,
                model=self.model_name,
                concepts=["spend"],
            )
        codes, levels = _whole_number_codes(x)
        data = self._extend({"frequency": x, "monetary_value": m, "frequency_u": levels, "frequency_i": codes})
        reduced = self._reduce(data, w)
        explore = None
        if len(w) > _base.SAMPLE_ABOVE_ROWS and max(int(self.n_starts), 1) > 1:
            sample_data, sample_w = self._sample_rows(data, w)
            explore = self._reduce(sample_data, sample_w)
        return data, w, n, n, reduced, explore

    def _initial_guess(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        mean_m = float(np.average(data["monetary_value"], weights=weights))
        return np.array([2.0, 3.0, max(mean_m, 1e-3)])

    def _penalty_centre(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        """p = 1, q = 2 and v = the mean spend per repeat purchase: the centre's mean p v / (q - 1) is
        the observed mean, in the data's currency."""
        mean_m = max(float(np.average(data["monetary_value"], weights=weights)), 1e-12)
        return np.array([1.0, 2.0, mean_m])

    def _n_repeat(self, data: dict[str, np.ndarray], weights: np.ndarray) -> float:
        return float(weights.sum())

    def _loglik_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        p, q, v = theta
        xu, xi = data["frequency_u"], data["frequency_i"]
        x, m = data["frequency"], data["monetary_value"]
        per_x = (gammaln(p * xu + q) - gammaln(p * xu) - gammaln(q) + q * np.log(v) + p * xu * np.log(xu))[xi]
        return per_x + (p * x - 1) * data["log_m"] - (p * x + q) * np.log(v + m * x)

    def _extend(self, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        data["log_m"] = np.log(data["monetary_value"])
        return data

    def _reduce(self, data: dict[str, np.ndarray], weights: np.ndarray) -> dict[str, Any]:
        """Sufficient statistics: the log-likelihood is sum_x W_x per_x(x) + p S1 - S0 -
        sum_y (p A_y + q B_y) log(v + y) over the distinct total spends y = x m, with W_x the weight of
        x, S1 = sum w x log m, S0 = sum w log m, A_y = sum w x and B_y = sum w over the rows with
        total spend y (see :func:`total_spend_codes`)."""
        x, xi = data["frequency"], data["frequency_i"]
        y_codes, y_levels = total_spend_codes(x, data["monetary_value"])
        n_x, n_y = len(data["frequency_u"]), len(y_levels)
        ones = bool(np.all(weights == 1.0))  # one customer per row (the usual case): counts, not weighted sums
        return {
            "W": float(weights.sum()),
            "xu": data["frequency_u"],
            "Wx": np.bincount(xi, minlength=n_x).astype(float) if ones else np.bincount(xi, weights, n_x),
            "S1": float(weights @ (x * data["log_m"])),
            "S0": float(weights @ data["log_m"]),
            "y": y_levels,
            "A": np.bincount(y_codes, x if ones else weights * x, n_y),
            "B": np.bincount(y_codes, minlength=n_y).astype(float) if ones else np.bincount(y_codes, weights, n_y),
        }

    def _loglik_grad(
        self, theta: np.ndarray, reduced: dict[str, Any], grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        p, q, v = theta
        xu, Wx, A, B = reduced["xu"], reduced["Wx"], reduced["A"], reduced["B"]
        with np.errstate(all="ignore"):
            px = p * xu
            per_x = gammaln(px + q) - gammaln(px) - gammaln(q) + px * np.log(xu)
            lvy = np.log(v + reduced["y"])
            coef = p * A + q * B
            ll = float(Wx @ per_x) + reduced["W"] * q * np.log(v) + p * reduced["S1"] - reduced["S0"]
            ll -= float(coef @ lvy)
            if not grad:
                return ll, None
            psi = digamma(px + q)
            d_p = Wx @ (xu * (psi - digamma(px) + np.log(xu))) + reduced["S1"] - A @ lvy
            d_q = Wx @ psi - reduced["W"] * (digamma(q) - np.log(v)) - B @ lvy
            d_v = reduced["W"] * q / v - coef @ (1.0 / (v + reduced["y"]))
        return ll, np.array([d_p, d_q, d_v])

    def _loglik_hess(self, theta: np.ndarray, reduced: dict[str, Any]) -> tuple[float, np.ndarray, np.ndarray]:
        """:meth:`_loglik_grad` with the Hessian in (p, q, v): trigamma sums over the distinct x and
        ``-A / (v + y)``, ``W / v - B / (v + y)``, ``-W q / v^2 + (p A + q B) / (v + y)^2`` summed over the distinct
        total spends."""
        p, q, v = theta
        ll, g = self._loglik_grad(theta, reduced, grad=True)
        xu, Wx, A, B, W = reduced["xu"], reduced["Wx"], reduced["A"], reduced["B"], reduced["W"]
        with np.errstate(all="ignore"):
            px = p * xu
            t_pxq = polygamma(1, px + q)
            ivy = 1.0 / (v + reduced["y"])
            h_pv = -(A @ ivy)
            h_qv = W / v - B @ ivy
            h = np.array(
                [
                    [Wx @ (xu * xu * (t_pxq - polygamma(1, px))), Wx @ (xu * t_pxq), h_pv],
                    [0.0, Wx @ t_pxq - W * polygamma(1, q), h_qv],
                    [0.0, 0.0, -W * q / v**2 + (p * A + q * B) @ (ivy * ivy)],
                ]
            )
        h = np.triu(h) + np.triu(h, 1).T
        return ll, g, h

    def _grad_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        p, q, v = theta
        xu, xi = data["frequency_u"], data["frequency_i"]
        x, m = data["frequency"], data["monetary_value"]
        lvm = np.log(v + m * x)
        d_p = x * ((digamma(p * xu + q) - digamma(p * xu) + np.log(xu))[xi] + data["log_m"] - lvm)
        d_q = digamma(p * xu + q)[xi] - digamma(q) + np.log(v) - lvm
        d_v = q / v - (p * x + q) / (v + m * x)
        return np.column_stack([d_p, d_q, d_v])

    @_base.one_blas_thread
    def fit(
        self,
        summary: pd.DataFrame,
        weights: np.ndarray | pd.Series | None = None,
        time_unit: str | None = None,
    ) -> GammaGamma:
        """Fit on the rows with ``frequency > 0`` (see :meth:`BaseFitter.fit`).

        The time unit is only recorded (spend per purchase does not depend on it); it defaults to
        ``summary.attrs['time_unit']`` and, failing that, to 'W'.
        """
        unit = time_unit or summary.attrs.get("time_unit") or "W"
        super().fit(summary, weights=weights, time_unit=unit)
        if abs(self.independence_corr_) > self.corr_threshold:
            warnings.warn(
                f"Gamma-Gamma: frequency and monetary_value are correlated (Pearson r = "
                f"{self.independence_corr_:.2f}) among repeat customers; the model assumes independence, "
                "so expected spend may be biased",
                IndependenceWarning,
                stacklevel=2,
            )
        return self

    def _fitted_rows(self, data: dict[str, np.ndarray], weights: np.ndarray) -> None:
        """Pearson correlation of frequency and spend over the repeat customers, from their distinct
        (x, m) rows weighted by the number of customers each stands for."""
        self.independence_corr_ = _weighted_corr(data["frequency"], data["monetary_value"], weights)

    def _extra_state(self) -> dict:
        return {"independence_corr": getattr(self, "independence_corr_", None)}

    def _load_extra_state(self, state: dict) -> None:
        corr = state.get("independence_corr")
        self.independence_corr_ = float("nan") if corr is None else float(corr)

    def population_mean_spend(self) -> float:
        """E[spend per purchase] of a new customer, p * v / (q - 1) (currency); needs q > 1."""
        check_is_fitted(self)
        p, q, v = self.params_.to_numpy()
        if q <= 1:
            advice = "; a penalizer pulls it towards the observed mean spend" if self.penalizer_ == 0 else ""
            raise CLVFitError(
                f"Gamma-Gamma: a few very large orders make the average spend per order unbounded (q = {q:.3g} "
                f"<= 1), so spend per order cannot be predicted from this model; check the largest orders{advice}",
                "infinite_mean_spend",
                model=self.model_name,
                q=float(q),
                penalizer_advice=self.penalizer_ == 0,
            )
        return p * v / (q - 1)

    def conditional_expected_average_profit(self, summary: pd.DataFrame) -> pd.Series:
        """Expected spend per future purchase, per customer (currency).

        E[M | x, m] = p (v + x m) / (p x + q - 1), a weighted mean of the population mean
        p v / (q - 1) and the customer's observed mean m. Customers with x = 0 (or no observed
        monetary value) get the population mean.
        """
        check_is_fitted(self)
        p, q, v = self.params_.to_numpy()
        pop = self.population_mean_spend()
        if isinstance(summary, DistinctSummary):
            return self._expected_spend_distinct(summary, p, q, v, pop)
        if not {"frequency", "monetary_value"} <= set(summary.columns):
            raise InputError("summary needs the columns frequency and monetary_value")
        x = summary["frequency"].to_numpy(dtype=float)
        m = summary["monetary_value"].to_numpy(dtype=float)
        use = (x > 0) & np.isfinite(m)
        if np.any(use & (m < 0)):
            raise SummaryDataError("monetary_value must not be negative")
        with np.errstate(all="ignore"):
            cond = p * (v + x * m) / (p * x + q - 1)
        out = pd.Series(np.where(use, cond, pop), index=summary.index, name="spend_per_purchase")
        if not np.all(np.isfinite(out.to_numpy())):
            raise ModelError("Gamma-Gamma: expected spend is not finite")
        return out

    expected_spend = conditional_expected_average_profit

    def _expected_spend_distinct(self, rows: DistinctSummary, p: float, q: float, v: float, pop: float) -> pd.Series:
        """:meth:`conditional_expected_average_profit` from a :class:`~analysis.clv.distinct.DistinctSummary`."""
        return pd.Series(self._spend_values(rows, p, q, v, pop), index=rows.index, name="spend_per_purchase")

    def spend_per_customer(self, rows: DistinctSummary) -> np.ndarray:
        """:meth:`conditional_expected_average_profit` of every customer of ``rows`` as an array in their order."""
        check_is_fitted(self)
        p, q, v = self.params_.to_numpy()
        return self._spend_values(rows, p, q, v, self.population_mean_spend())

    def _spend_values(self, rows: DistinctSummary, p: float, q: float, v: float, pop: float) -> np.ndarray:
        """The expected spend per purchase of each repeat spend row of ``rows`` put at its repeat customers' places;
        the others get ``pop``."""
        x = rows.spends.values["frequency"]
        m = rows.spends.values["monetary_value"]
        use = np.isfinite(m)
        if np.any(use & (m < 0)):
            raise SummaryDataError("monetary_value must not be negative")
        with np.errstate(all="ignore"):
            per_row = np.where(use, p * (v + x * m) / (p * x + q - 1), pop)
        if not (np.all(np.isfinite(per_row)) and np.isfinite(pop)):
            raise ModelError("Gamma-Gamma: expected spend is not finite")
        values = np.full(len(rows.index), pop, dtype=float)
        values[rows.repeat] = per_row  # the spends are the repeat customers' rows, in their order
        return values


def _whole_number_codes(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~analysis.clv._compress.column_codes` of non-negative whole numbers (checked by the caller), counted
    directly on their values when they are small."""
    top = float(x.max()) if x.size else 0.0
    if top > max(4 * x.size, 1 << 16):
        return column_codes(x, 1.0)
    xi = x.astype(np.intp)
    levels, rank = dense_ranks(np.bincount(xi, minlength=int(top) + 1) > 0)
    return rank.take(xi), levels.astype(float)


def total_spend_codes(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of the distinct total spends ``y = x m`` of the rows and those totals: ``levels[codes]`` is each
    row's total.

    When every m is a whole number of cents (``round(m * 100) / 100 == m`` bit for bit, as for any amount with
    at most two decimals) the totals are the whole numbers of cents ``x round(100 m)``, grouped as integers
    (counted when their range is small, hashed otherwise) and given as ``cents / 100`` (the same value as
    ``x * m`` up to its last bit of rounding); otherwise the products ``x * m`` are hashed."""
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    if m.size:
        with np.errstate(all="ignore"):
            cents = np.rint(m * 100.0)
            top = float(np.max(np.abs(cents))) * float(np.max(x))
            on_cents = top < 2.0**52 and np.array_equal(cents / 100.0, m)
        if on_cents:
            key = cents.astype(np.int64)
            key *= x.astype(np.int64)
            lo, hi = int(key.min()), int(key.max())
            if hi - lo <= max(4 * key.size, 1 << 16):
                key -= lo
                uniq, codes = unique_inverse(key, hi - lo + 1)
                return codes, (uniq + lo) / 100.0
            codes, uniq = pd.factorize(key)
            return codes.astype(np.int64, copy=False), np.asarray(uniq, dtype=float) / 100.0
    return column_codes(x * m)


def _weighted_corr(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    total = float(w.sum())
    if len(x) < 2 or total <= 0:
        return float("nan")
    mx, my = float(w @ x) / total, float(w @ y) / total
    dx, dy = x - mx, y - my
    wdx = w * dx
    cov = float(wdx @ dy) / total
    sx = np.sqrt(float(wdx @ dx) / total)
    sy = np.sqrt(float((w * dy) @ dy) / total)
    return float(cov / (sx * sy)) if sx > 0 and sy > 0 else float("nan")
