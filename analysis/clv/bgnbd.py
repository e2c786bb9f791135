"""BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

While active, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha) (shape r,
rate alpha, in purchases per time unit); after each *repeat* purchase they drop out with
probability p ~ Beta(a, b). The likelihood of (x, t_x, T) is

    L = B(a, b+x)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x)),

computed in log space with log-sum-exp.

Published result (test ``test_bgnbd_cdnow_published``): on the CDNOW sample, calibration
1997-01-01 ... 1997-09-30, time unit weeks (days / 7), x = number of repeat purchase *days*,
t_x and T measured between calendar dates (T = (1997-09-30 - first purchase date) / 7, so 38.86
weeks for a 1997-01-01 customer), 2,357 customers: r = 0.243, alpha = 4.414, a = 0.793,
b = 2.426, log-likelihood = -9582.4.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from analysis.clv._base import repeat_time_scale, validate_transaction_summary
from analysis.clv._special import bg_bracket, near_one
from analysis.clv._transaction import TransactionModel


class BGNBD(TransactionModel):
    """Beta-geometric / negative binomial distribution model of repeat purchasing.

    Parameters
    ----------
    penalizer : float, default=0.0
        Weight of the scale-free penalty on log parameters (see :mod:`analysis.clv._base`); the
        same value means the same in any currency or time unit.
    n_starts : int, default=3
        Number of optimiser starting points.
    seed : int, default=0
        Seed of the random starting points.

    Attributes
    ----------
    params_ : Series
        ``r``, ``alpha`` (in time units), ``a``, ``b``.
    log_likelihood_ : float
        Maximised log-likelihood (without the penalty).
    standard_errors_, confidence_intervals_, covariance_ :
        From the observed information matrix (numerical Hessian in the natural space).
    time_unit_ : str
        Unit of the summary's times; every prediction is in this unit.

    Examples
    --------
    >>> from analysis.clv.simulate import simulate_bgnbd_summary
    >>> summary = simulate_bgnbd_summary(2000, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
    >>> model = BGNBD().fit(summary, time_unit="W")
    >>> sorted(model.params_.index)
    ['a', 'alpha', 'b', 'r']
    """

    param_names = ("r", "alpha", "a", "b")
    model_name = "bgnbd"
    display_name = "BG/NBD"
    param_concept: ClassVar[dict[str, str]] = {
        "r": "frequency",
        "alpha": "frequency",
        "a": "dropout",
        "b": "dropout",
    }

    def _validate(self, frame: pd.DataFrame) -> pd.DataFrame:
        return validate_transaction_summary(frame, "BG/NBD")

    def _initial_guess(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        mean_T = float(np.average(data["T"], weights=weights))
        return np.array([1.0, max(mean_T, 1e-2), 1.0, 1.0])

    def _penalty_centre(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        return np.array([1.0, repeat_time_scale(data, weights), 1.0, 1.0])

    @staticmethod
    def _pieces(theta: np.ndarray, data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per-row pieces, each computed once per distinct x, t_x or T and gathered."""
        r, alpha, a, b = theta
        xu, xi = data["frequency_u"], data["frequency_i"]
        x = data["frequency"]
        rep = x > 0
        l_T = np.log(alpha + data["T_u"])[data["T_i"]]
        l_tx = np.log(alpha + data["t_x_u"])[data["t_x_i"]]
        l_bx1 = np.log(np.where(xu > 0, b + xu - 1, 1.0))[xi]
        a3 = -(r + x) * l_T
        a4 = np.where(rep, np.log(a) - l_bx1 - (r + x) * l_tx, -np.inf)
        return {"x": x, "xu": xu, "xi": xi, "rep": rep, "l_T": l_T, "l_tx": l_tx, "a3": a3, "a4": a4}

    def _loglik_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        r, alpha, a, b = theta
        pc = self._pieces(theta, data)
        xu = pc["xu"]
        per_x = (
            gammaln(r + xu)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + xu)
            - gammaln(b)
            - gammaln(a + b + xu)
        )
        return per_x[pc["xi"]] + np.logaddexp(pc["a3"], pc["a4"])

    def _grad_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        r, alpha, a, b = theta
        pc = self._pieces(theta, data)
        x, xu, xi = pc["x"], pc["xu"], pc["xi"]
        q4 = np.exp(pc["a4"] - np.logaddexp(pc["a3"], pc["a4"]))
        q3 = 1.0 - q4
        T, tx = data["T"], data["t_x"]
        bx1 = np.where(xu > 0, b + xu - 1, 1.0)[xi]
        d_r = (digamma(r + xu) - digamma(r))[xi] + np.log(alpha) - q3 * pc["l_T"] - q4 * pc["l_tx"]
        d_alpha = r / alpha - q3 * (r + x) / (alpha + T) - q4 * (r + x) / (alpha + tx)
        d_a = (digamma(a + b) - digamma(a + b + xu))[xi] + q4 / a
        d_b = (digamma(a + b) + digamma(b + xu) - digamma(b) - digamma(a + b + xu))[xi] - q4 / bx1
        return np.column_stack([d_r, d_alpha, d_a, d_b])

    def _p_alive(self, theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = theta
        rep = x > 0
        log_odds = (
            np.log(a) - np.log(np.where(rep, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        )
        return np.where(rep, np.exp(-np.logaddexp(0.0, log_odds)), 1.0)

    def _expected_if_alive(self, theta: np.ndarray, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],
        z = t / (alpha+T+t), Euler-transformed (see :func:`bg_bracket`)."""
        r, alpha, a, b = theta
        z = t / (alpha + T + t)

        def value(a_: float) -> np.ndarray:
            return (a_ + b + x - 1) * bg_bracket(a_ + b - 1 - r, a_ - 1, a_ + b + x - 1, z)

        return near_one(value, a)
