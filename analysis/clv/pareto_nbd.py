"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader, Hardie & Lee
2005, "A note on deriving the Pareto/NBD model and related expressions").

While active a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); the
lifetime is exponential with rate mu ~ Gamma(s, beta). The likelihood of (x, t_x, T) is

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) * A0 ],
    A0 = h(t_x) - h(T),  h(y) = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+y)) / (alpha+y)^(r+s+x)

(for alpha >= beta; with alpha and beta, r+x and s+1 swapped otherwise). Numerical stability: the
Gauss hypergeometric function is Euler-transformed,
2F1(r+s+x, s+1; r+s+x+1; z) = (1-z)^-s 2F1(1, r+x; r+s+x+1; z), whose series has positive terms
with ratio below z, bounded by 1/(1-z) and free of overflow for any x; ``log h`` is then a sum of
logarithms and A0 is formed with log-sub-exp. The likelihood stays finite for customers with
hundreds of repeat purchases (tested against mpmath at x = 500).

Published result (test ``test_pareto_nbd_cdnow_published``): with the CDNOW summary of
:mod:`analysis.clv.bgnbd` (weeks, calendar-date differences): r = 0.553, alpha = 10.578,
s = 0.606, beta = 11.669, log-likelihood = -9595.0.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1

from analysis.clv._base import repeat_time_scale, unique_rows, validate_transaction_summary
from analysis.clv._special import expm1_ratio, log_sub_exp
from analysis.clv._transaction import TransactionModel


def _log_h(r: float, alpha: float, s: float, beta: float, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """log h(y) of the module docstring, Euler-transformed."""
    rsx1 = r + s + x + 1.0
    if alpha >= beta:
        z = (alpha - beta) / (alpha + y)
        return -(r + x) * np.log(alpha + y) - s * np.log(beta + y) + np.log(hyp2f1(1.0, r + x, rsx1, z))
    z = (beta - alpha) / (beta + y)
    return -(r + x - 1) * np.log(alpha + y) - (s + 1) * np.log(beta + y) + np.log(hyp2f1(1.0, s + 1, rsx1, z))


def pareto_log_terms(
    theta: np.ndarray,
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    pairs: dict[str, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Log of the two likelihood terms without the common factor: (alive at T, died in (t_x, T)).

    ``pairs`` optionally holds precomputed distinct (x, t_x) and (x, T) pairs with inverse
    indices (``x_tx``, ``tx_u``, ``inv_tx``, ``x_T``, ``T_u2``, ``inv_T``) so that each
    hypergeometric function is evaluated once per distinct pair.
    """
    r, alpha, s, beta = theta
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    if pairs is None:
        lh_tx = _log_h(r, alpha, s, beta, x, tx)
        lh_T = _log_h(r, alpha, s, beta, x, T)
    else:
        lh_tx = _log_h(r, alpha, s, beta, pairs["x_tx"], pairs["tx_u"])[pairs["inv_tx"]]
        lh_T = _log_h(r, alpha, s, beta, pairs["x_T"], pairs["T_u2"])[pairs["inv_T"]]
    died = np.log(s) - np.log(r + s + x) + log_sub_exp(lh_tx, lh_T)
    return alive, died


class ParetoNBD(TransactionModel):
    """Pareto/NBD model of repeat purchasing (exponential lifetimes).

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
        ``r``, ``alpha``, ``s``, ``beta`` (alpha and beta in time units).
    """

    param_names = ("r", "alpha", "s", "beta")
    model_name = "pareto_nbd"
    display_name = "Pareto/NBD"
    param_concept: ClassVar[dict[str, str]] = {
        "r": "frequency",
        "alpha": "frequency",
        "s": "lifetime",
        "beta": "lifetime",
    }

    def _validate(self, frame: pd.DataFrame) -> pd.DataFrame:
        return validate_transaction_summary(frame, "Pareto/NBD")

    def _prepare(self, uniques: pd.DataFrame) -> dict[str, np.ndarray]:
        data = super()._prepare(uniques)
        frame = pd.DataFrame({c: data[c] for c in self.data_columns})
        u_tx, inv_tx = unique_rows(frame, ["frequency", "t_x"])
        u_T, inv_T = unique_rows(frame, ["frequency", "T"])
        data.update(
            x_tx=u_tx["frequency"].to_numpy(),
            tx_u=u_tx["t_x"].to_numpy(),
            inv_tx=inv_tx,
            x_T=u_T["frequency"].to_numpy(),
            T_u2=u_T["T"].to_numpy(),
            inv_T=inv_T,
        )
        return data

    def _initial_guess(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        mean_T = max(float(np.average(data["T"], weights=weights)), 1e-2)
        return np.array([1.0, mean_T / 2, 1.0, mean_T])

    def _penalty_centre(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        mean_T = max(float(np.average(data["T"], weights=weights)), 1e-9)
        return np.array([1.0, repeat_time_scale(data, weights), 1.0, mean_T])

    def _loglik_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        r, alpha, s, beta = theta
        x, xu, xi = data["frequency"], data["frequency_u"], data["frequency_i"]
        Tu, Ti = data["T_u"], data["T_i"]
        alive = -(r + x) * np.log(alpha + Tu)[Ti] - s * np.log(beta + Tu)[Ti]
        lh_tx = _log_h(r, alpha, s, beta, data["x_tx"], data["tx_u"])[data["inv_tx"]]
        lh_T = _log_h(r, alpha, s, beta, data["x_T"], data["T_u2"])[data["inv_T"]]
        died = (np.log(s) - np.log(r + s + xu))[xi] + log_sub_exp(lh_tx, lh_T)
        per_x = gammaln(r + xu) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
        return per_x[xi] + np.logaddexp(alive, died)

    def _p_alive(self, theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        alive, died = pareto_log_terms(theta, x, tx, T)
        return np.exp(alive - np.logaddexp(alive, died))

    def _expected_if_alive(self, theta: np.ndarray, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)], stable at s = 1."""
        r, alpha, s, beta = theta
        return (r + x) * (beta + T) / (alpha + T) * expm1_ratio(s - 1.0, np.log1p(t / (beta + T)))
