"""MBG/NBD model (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison of
models for customer base analysis").

As BG/NBD, except that a customer may also drop out right after the *first* purchase: the
drop-out coin (probability p ~ Beta(a, b)) is tossed after every purchase, so customers without
repeat purchases are not certainly alive:
P(alive | x = 0, T) = 1 / (1 + a/b ((alpha+T)/alpha)^r) < 1. Likelihood:

    L = B(a, b+x+1)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
        + B(a+1, b+x)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x)).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from analysis.clv._base import repeat_time_scale, validate_transaction_summary
from analysis.clv._special import bg_bracket, near_one
from analysis.clv._transaction import TransactionModel
from analysis.clv.bgnbd import (
    bg_family_hessian,
    bg_family_loglik_grad,
    bg_family_reduce,
    nbd_expected,
    no_dropout_limit,
)


class ModifiedBGNBD(TransactionModel):
    """Modified BG/NBD (MBG/NBD) model of repeat purchasing.

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
        ``r``, ``alpha`` (time units), ``a``, ``b``.
    """

    param_names = ("r", "alpha", "a", "b")
    model_name = "mbgnbd"
    display_name = "MBG/NBD"
    param_concept: ClassVar[dict[str, str]] = {
        "r": "frequency",
        "alpha": "frequency",
        "a": "dropout",
        "b": "dropout",
    }

    def _validate(self, frame: pd.DataFrame) -> pd.DataFrame:
        return validate_transaction_summary(frame, "MBG/NBD")

    def _initial_guess(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        mean_T = float(np.average(data["T"], weights=weights))
        return np.array([1.0, max(mean_T, 1e-2), 1.0, 1.0])

    def _penalty_centre(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        return np.array([1.0, repeat_time_scale(data, weights), 1.0, 1.0])

    def _reduce(self, data: dict[str, np.ndarray], weights: np.ndarray) -> dict[str, Any]:
        return bg_family_reduce(data, weights, shift=1)

    def _loglik_grad(
        self, theta: np.ndarray, reduced: dict[str, Any], grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        return bg_family_loglik_grad(theta, reduced, grad)

    def _loglik_hess(self, theta: np.ndarray, reduced: dict[str, Any]) -> tuple[float, np.ndarray, np.ndarray]:
        return bg_family_hessian(theta, reduced)

    @staticmethod
    def _terms(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r, alpha, a, b = theta
        alive = -(r + x) * np.log(alpha + T)
        died = np.log(a) - np.log(b + x) - (r + x) * np.log(alpha + tx)
        return alive, died

    def _loglik_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        r, alpha, a, b = theta
        x = data["frequency"]
        alive, died = self._terms(theta, x, data["t_x"], data["T"])
        a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        a2 = gammaln(a + b) + gammaln(b + x + 1) - gammaln(b) - gammaln(a + b + x + 1)
        return a1 + a2 + np.logaddexp(alive, died)

    def _grad_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        r, alpha, a, b = theta
        x, tx, T = data["frequency"], data["t_x"], data["T"]
        alive, died = self._terms(theta, x, tx, T)
        q4 = np.exp(died - np.logaddexp(alive, died))
        q3 = 1.0 - q4
        d_r = digamma(r + x) - digamma(r) + np.log(alpha) - q3 * np.log(alpha + T) - q4 * np.log(alpha + tx)
        d_alpha = r / alpha - q3 * (r + x) / (alpha + T) - q4 * (r + x) / (alpha + tx)
        d_a = digamma(a + b) - digamma(a + b + x + 1) + q4 / a
        d_b = digamma(a + b) + digamma(b + x + 1) - digamma(b) - digamma(a + b + x + 1) - q4 / (b + x)
        return np.column_stack([d_r, d_alpha, d_a, d_b])

    def _boundary_limit(self, reduced: dict[str, Any], n: float, stopped_at: np.ndarray) -> dict[str, Any] | None:
        return no_dropout_limit(self, reduced, n, stopped_at)

    def _p_alive(self, theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        if theta[2] == 0:  # the no-drop-out boundary: everyone is alive
            return np.ones(np.shape(x))
        alive, died = self._terms(theta, x, tx, T)
        return np.exp(alive - np.logaddexp(alive, died))

    def _expected_if_alive(self, theta: np.ndarray, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)],
        z = t / (alpha+T+t), Euler-transformed."""
        r, alpha, a, b = theta
        if a == 0:  # the no-drop-out boundary: the NBD limit
            return nbd_expected(r, alpha, x, T, t)
        z = t / (alpha + T + t)

        def value(a_: float) -> np.ndarray:
            return (a_ + b + x) * bg_bracket(a_ + b - r, a_ - 1, a_ + b + x, z)

        return near_one(value, a)
