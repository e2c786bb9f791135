"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader, Hardie & Lee
2005, "A note on deriving the Pareto/NBD model and related expressions").

While active a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); the
lifetime is exponential with rate mu ~ Gamma(s, beta). The likelihood of (x, t_x, T) is

    L = G(r+x) alpha^r beta^s / G(r) * [ (alpha+T)^-(r+x) (beta+T)^-s + s (J_d(t_x) - J_d(T)) ],
    J_d(y) = integral from y to infinity of (alpha+u)^-(r+x) (beta+u)^-(s+1) du

(alive at T, or died between t_x and T). Numerical form: with
J_B(y) = integral from y to infinity of (alpha+u)^-(r+x+1) (beta+u)^-s du, integrating the
derivative of (alpha+u)^-(r+x) (beta+u)^-s from T to infinity gives
(alpha+T)^-(r+x) (beta+T)^-s = (r+x) J_B(T) + s J_d(T), so the bracket is

    s J_d(t_x) + (r+x) J_B(T),

a sum of two positive terms (no difference of nearly equal numbers, so no cancellation at any x).
Each J is a Gauss hypergeometric function: for alpha >= beta, with p + q = r + s + x + 1 the two
exponents and z = (alpha-beta)/(alpha+y),

    J(y) = (alpha+y)^-p (beta+y)^-(q-1) 2F1(1, p; r+s+x+1; z) / (r+s+x)

(alpha and beta, p and q swapped otherwise), whose series has positive terms with ratio below
z < 1; :func:`~analysis.clv._special.log_hyp2f1_1bc` sums it with its derivatives in the
parameters, so the log-likelihood has an analytic gradient. J_d is needed once per distinct
(x, t_x) and J_B once per distinct (x, T). The likelihood stays finite for customers with hundreds
of repeat purchases (tested against mpmath at x = 500).

Published result (test ``test_pareto_nbd_cdnow_published``): with the CDNOW summary of
:mod:`analysis.clv.bgnbd` (weeks, calendar-date differences): r = 0.553, alpha = 10.578,
s = 0.606, beta = 11.669, log-likelihood = -9595.0.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln

from analysis.clv._base import repeat_time_scale, validate_transaction_summary
from analysis.clv._special import expm1_ratio, log_hyp2f1_1bc, sigmoid_from_parts, softplus_parts
from analysis.clv._transaction import TransactionModel


def log_j(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, p_shift: int, grad: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """log J(y) = log of the integral from y to infinity of (alpha+u)^-p (beta+u)^-q du, with
    p = r + x + p_shift and q = s + 1 - p_shift (``p_shift`` 0: J_d, 1: J_B of the module
    docstring), and, when ``grad``, its derivatives in (r, alpha, s, beta), shape (n, 4)."""
    r, alpha, s, beta = theta
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    p = r + x + p_shift
    q = s + 1.0 - p_shift
    k = r + s + x
    ay, by = alpha + y, beta + y
    l_ay, l_by = np.log(ay), np.log(by)
    if alpha >= beta:
        z = (alpha - beta) / ay
        lf, df = log_hyp2f1_1bc(p, k + 1.0, z, grad)
        out = lf - np.log(k) - p * l_ay - (q - 1.0) * l_by
    else:
        z = (beta - alpha) / by
        lf, df = log_hyp2f1_1bc(q, k + 1.0, z, grad)
        out = lf - np.log(k) - (p - 1.0) * l_ay - q * l_by
    if not grad:
        return out, None
    f_b, f_c, f_z = df[:, 0], df[:, 1], df[:, 2]
    inv_k = 1.0 / k
    d = np.empty((out.size, 4))
    if alpha >= beta:
        d[:, 0] = -inv_k - l_ay + f_b + f_c
        d[:, 1] = -p / ay + f_z * by / ay**2
        d[:, 2] = -inv_k - l_by + f_c
        d[:, 3] = -(q - 1.0) / by - f_z / ay
    else:
        d[:, 0] = -inv_k - l_ay + f_c
        d[:, 1] = -(p - 1.0) / ay - f_z / by
        d[:, 2] = -inv_k - l_by + f_b + f_c
        d[:, 3] = -q / by + f_z * ay / by**2
    return out, d


def pareto_log_parts(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """log (alpha+T)^-(r+x) (beta+T)^-s (alive at T) and log of the whole bracket of the
    likelihood, s J_d(t_x) + (r+x) J_B(T), without the common factor; P(alive) is exp(first - second)."""
    r, alpha, s, beta = theta
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died_after_tx = np.log(s) + log_j(theta, x, tx, 0)[0]
    alive_or_later = np.log(r + x) + log_j(theta, x, T, 1)[0]
    return alive, np.logaddexp(died_after_tx, alive_or_later)


def _pairs(a_codes: np.ndarray, b_codes: np.ndarray, n_b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b) code pairs: (a codes, b codes, inverse)."""
    keys, inverse = np.unique(a_codes.astype(np.int64) * n_b + b_codes, return_inverse=True)
    return keys // n_b, keys % n_b, inverse


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

    def _initial_guess(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        mean_T = max(float(np.average(data["T"], weights=weights)), 1e-2)
        return np.array([1.0, mean_T / 2, 1.0, mean_T])

    def _penalty_centre(self, data: dict[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
        mean_T = max(float(np.average(data["T"], weights=weights)), 1e-9)
        return np.array([1.0, repeat_time_scale(data, weights), 1.0, mean_T])

    def _loglik_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        r, alpha, s, beta = theta
        x = data["frequency"]
        _, bracket = pareto_log_parts(theta, x, data["t_x"], data["T"])
        return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + bracket

    def _grad_rows(self, theta: np.ndarray, data: dict[str, np.ndarray]) -> np.ndarray:
        r, alpha, s, beta = theta
        x = data["frequency"]
        l_d, g_d = log_j(theta, x, data["t_x"], 0, grad=True)
        l_b, g_b = log_j(theta, x, data["T"], 1, grad=True)
        one = np.log(s) + l_d
        two = np.log(r + x) + l_b
        q = np.exp(one - np.logaddexp(one, two))
        g = q[:, None] * g_d + (1.0 - q)[:, None] * g_b
        g[:, 0] += (1.0 - q) / (r + x) + digamma(r + x) - digamma(r) + np.log(alpha)
        g[:, 1] += r / alpha
        g[:, 2] += q / s + np.log(beta)
        g[:, 3] += s / beta
        return g

    def _reduce(self, data: dict[str, np.ndarray], weights: np.ndarray) -> dict[str, Any]:
        """Distinct (x, t_x) pairs (for J_d), distinct (x, T) pairs (for J_B) and, per row, the pair
        indices; weights by distinct x and by (x, T) pair."""
        xu, xi = data["frequency_u"], data["frequency_i"]
        dx, dt, inv_d = _pairs(xi, data["t_x_i"], len(data["t_x_u"]))
        bx, bt, inv_b = _pairs(xi, data["T_i"], len(data["T_u"]))
        return {
            "W": float(weights.sum()),
            "xu": xu,
            "Wx": np.bincount(xi, weights=weights, minlength=len(xu)),
            "d_x": xu[dx],
            "d_y": data["t_x_u"][dt],
            "b_x": xu[bx],
            "b_y": data["T_u"][bt],
            "Wb": np.bincount(inv_b, weights=weights, minlength=len(bx)),
            "w": weights,
            "inv_d": inv_d,
            "inv_b": inv_b,
        }

    def _loglik_grad(
        self, theta: np.ndarray, reduced: dict[str, Any], grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        """Row term log(exp(one) + exp(two)) = two + softplus(one - two), with one = log s + log J_d
        per (x, t_x) pair and two = log(r + x) + log J_B per (x, T) pair."""
        r, alpha, s, beta = theta
        red = reduced
        xu, Wx = red["xu"], red["Wx"]
        with np.errstate(all="ignore"):
            l_d, g_d = log_j(theta, red["d_x"], red["d_y"], 0, grad)
            l_b, g_b = log_j(theta, red["b_x"], red["b_y"], 1, grad)
            one = np.log(s) + l_d
            two = np.log(r + red["b_x"]) + l_b
            diff = one[red["inv_d"]] - two[red["inv_b"]]
            e, sp = softplus_parts(diff)
            per_x = gammaln(r + xu) - gammaln(r)
            ll = float(Wx @ per_x) + red["W"] * (r * np.log(alpha) + s * np.log(beta))
            ll += float(red["Wb"] @ two) + float(red["w"] @ sp)
            if not grad:
                return ll, None
            wq = red["w"] * sigmoid_from_parts(diff, e)
            adj_d = np.bincount(red["inv_d"], weights=wq, minlength=len(l_d))
            adj_b = red["Wb"] - np.bincount(red["inv_b"], weights=wq, minlength=len(l_b))
            g = adj_d @ g_d + adj_b @ g_b
            g[0] += adj_b @ (1.0 / (r + red["b_x"])) + Wx @ (digamma(r + xu) - digamma(r)) + red["W"] * np.log(alpha)
            g[1] += red["W"] * r / alpha
            g[2] += adj_d.sum() / s + red["W"] * np.log(beta)
            g[3] += red["W"] * s / beta
        return ll, g

    def _p_alive(self, theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        alive, bracket = pareto_log_parts(theta, x, tx, T)
        return np.exp(np.minimum(alive - bracket, 0.0))

    def _expected_if_alive(self, theta: np.ndarray, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)], stable at s = 1."""
        r, alpha, s, beta = theta
        return (r + x) * (beta + T) / (alpha + T) * expm1_ratio(s - 1.0, np.log1p(t / (beta + T)))
