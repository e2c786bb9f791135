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

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln, polygamma

from analysis.clv._base import repeat_time_scale, validate_transaction_summary
from analysis.clv._compress import unique_inverse
from analysis.clv._special import bg_bracket, near_one, sigmoid_from_parts, softplus_parts
from analysis.clv._transaction import TransactionModel


def bg_family_reduce(data: dict[str, np.ndarray], w: np.ndarray, shift: int) -> dict[str, Any]:
    """Sufficient statistics of the BG/NBD (``shift`` 0) and MBG/NBD (``shift`` 1) likelihoods.

    Both log-likelihoods are ``per_x(x) - (r + x) log(alpha + T) + softplus(d)`` with
    ``d = log a - log(b + x + shift - 1) + (r + x) (log(alpha + T) - log(alpha + t_x))`` for the
    rows with ``x + shift > 0`` (BG/NBD's one-time buyers have no drop-out term). So the weighted
    total needs the weights by distinct x, the weights and weighted x by distinct T, and d only on
    those rows, with ``log(alpha + T) - log(alpha + t_x)`` evaluated once per distinct (t_x, T) pair.
    """
    x, xi, Ti, txi = data["frequency"], data["frequency_i"], data["T_i"], data["t_x_i"]
    xu, Tu, txu = data["frequency_u"], data["T_u"], data["t_x_u"]
    rows = x + shift > 0
    n_T = len(Tu)
    key = txi[rows].astype(np.int64) * n_T + Ti[rows]
    pairs, pair_inv = unique_inverse(key, len(txu) * n_T)
    return {
        "shift": shift,
        "W": float(w.sum()),
        "xu": xu,
        "Wx": np.bincount(xi, weights=w, minlength=len(xu)),
        "Tu": Tu,
        "WT": np.bincount(Ti, weights=w, minlength=n_T),
        "XWT": np.bincount(Ti, weights=w * x, minlength=n_T),
        "w_d": w[rows],
        "x_d": x[rows],
        "xi_d": xi[rows],
        "pair_tx": txu[pairs // n_T],
        "pair_T": Tu[pairs % n_T],
        "pair_inv": pair_inv,
    }


def bg_family_loglik_grad(theta: np.ndarray, red: dict[str, Any], grad: bool) -> tuple[float, np.ndarray | None]:
    """Total log-likelihood (and gradient in r, alpha, a, b) from :func:`bg_family_reduce`."""
    r, alpha, a, b = theta
    shift = red["shift"]
    xu, Wx, Tu, WT, XWT = red["xu"], red["Wx"], red["Tu"], red["WT"], red["XWT"]
    with np.errstate(all="ignore"):
        lT = np.log(alpha + Tu)
        bx = b + xu + shift
        bx1 = np.where(xu + shift > 0, bx - 1.0, 1.0)
        per_x = gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(bx) - gammaln(b) - gammaln(a + bx)
        ll = float(Wx @ per_x) + red["W"] * r * np.log(alpha) - float((r * WT + XWT) @ lT)
        pair_d = np.log(alpha + red["pair_T"]) - np.log(alpha + red["pair_tx"])
        dl = pair_d[red["pair_inv"]]
        rx = r + red["x_d"]
        d = (np.log(a) - np.log(bx1))[red["xi_d"]] + rx * dl
        e, sp = softplus_parts(d)
        ll += float(red["w_d"] @ sp)
        if not grad:
            return ll, None
        wq = red["w_d"] * sigmoid_from_parts(d, e)
        pair_e = 1.0 / (alpha + red["pair_T"]) - 1.0 / (alpha + red["pair_tx"])
        wq_x = np.bincount(red["xi_d"], weights=wq, minlength=len(xu))
        d_r = Wx @ (digamma(r + xu) - digamma(r)) + red["W"] * np.log(alpha) - WT @ lT + wq @ dl
        d_alpha = red["W"] * r / alpha - (r * WT + XWT) @ (1.0 / (alpha + Tu)) + wq @ (rx * pair_e[red["pair_inv"]])
        d_a = Wx @ (digamma(a + b) - digamma(a + bx)) + wq_x.sum() / a
        d_b = Wx @ (digamma(a + b) + digamma(bx) - digamma(b) - digamma(a + bx)) - wq_x @ (1.0 / bx1)
    return ll, np.array([d_r, d_alpha, d_a, d_b])


def bg_family_hessian(theta: np.ndarray, red: dict[str, Any]) -> tuple[float, np.ndarray, np.ndarray]:
    """Total log-likelihood, gradient and Hessian in (r, alpha, a, b) from :func:`bg_family_reduce`, in one pass
    over the rows with a drop-out term (the exact second derivatives replace the eight gradient evaluations of a
    central-difference Hessian).

    With ``sp(d) = log(1 + e^d)``, ``s = sigmoid(d)`` and the drop-out term's first derivatives
    ``d_r = dl``, ``d_alpha = (r + x) pe``, ``d_a = 1 / a``, ``d_b = -1 / (b + x + shift - 1)``, where
    ``pe = 1/(alpha+T) - 1/(alpha+t_x)``, each row adds ``w [s (1 - s) d_i d_j + s d_ij]``, with the second
    derivatives ``d_ralpha = pe``, ``d_alphaalpha = (r + x) (1/(alpha+t_x)^2 - 1/(alpha+T)^2)``,
    ``d_aa = -1/a^2`` and ``d_bb = 1/(b + x + shift - 1)^2``. The per-x terms add trigamma sums; the per-T terms
    add ``W/alpha - sum WT/(alpha+T)`` (r, alpha) and ``-W r/alpha^2 + sum (r WT + XWT)/(alpha+T)^2`` (alpha)."""
    r, alpha, a, b = theta
    shift = red["shift"]
    xu, Wx, Tu, WT, XWT, W = red["xu"], red["Wx"], red["Tu"], red["WT"], red["XWT"], red["W"]
    inv = red["pair_inv"]
    xi = red["xi_d"]
    with np.errstate(all="ignore"):
        lT = np.log(alpha + Tu)
        iT = 1.0 / (alpha + Tu)
        bx = b + xu + shift
        bx1 = np.where(xu + shift > 0, bx - 1.0, 1.0)
        ibx1 = 1.0 / bx1
        per_x = gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(bx) - gammaln(b) - gammaln(a + bx)
        ll = float(Wx @ per_x) + W * r * np.log(alpha) - float((r * WT + XWT) @ lT)
        pT, ptx = alpha + red["pair_T"], alpha + red["pair_tx"]
        pair_d = np.log(pT) - np.log(ptx)
        ipT, iptx = 1.0 / pT, 1.0 / ptx
        pair_e = ipT - iptx
        pair_e2 = iptx * iptx - ipT * ipT
        dl = pair_d[inv]
        pe = pair_e[inv]
        rx = r + red["x_d"]
        d = (np.log(a) - np.log(bx1))[xi] + rx * dl
        e, sp = softplus_parts(d)
        w = red["w_d"]
        ll += float(w @ sp)
        sig = sigmoid_from_parts(d, e)
        wq = w * sig
        s2 = wq * (1.0 - sig)
        d_al = rx * pe  # d(d)/d(alpha) per row
        s2_dl = s2 * dl
        s2_da = s2 * d_al
        n_x = len(xu)
        wq_x = np.bincount(xi, weights=wq, minlength=n_x)
        s2_x = np.bincount(xi, weights=s2, minlength=n_x)
        s2dl_x = np.bincount(xi, weights=s2_dl, minlength=n_x)
        s2da_x = np.bincount(xi, weights=s2_da, minlength=n_x)
        ia = 1.0 / a
        psi_ab, psi_abx = digamma(a + b), digamma(a + bx)
        tri_ab, tri_abx = polygamma(1, a + b), polygamma(1, a + bx)
        g = np.array(
            [
                Wx @ (digamma(r + xu) - digamma(r)) + W * np.log(alpha) - WT @ lT + wq @ dl,
                W * r / alpha - (r * WT + XWT) @ iT + wq @ d_al,
                Wx @ (psi_ab - psi_abx) + wq_x.sum() * ia,
                Wx @ (psi_ab + digamma(bx) - digamma(b) - psi_abx) - wq_x @ ibx1,
            ]
        )
        h = np.empty((4, 4))
        h[0, 0] = Wx @ (polygamma(1, r + xu) - polygamma(1, r)) + s2_dl @ dl
        h[0, 1] = W / alpha - WT @ iT + s2_dl @ d_al + wq @ pe
        h[0, 2] = s2dl_x.sum() * ia
        h[0, 3] = -(s2dl_x @ ibx1)
        h[1, 1] = -W * r / alpha**2 + (r * WT + XWT) @ (iT * iT) + s2_da @ d_al + wq @ (rx * pair_e2[inv])
        h[1, 2] = s2da_x.sum() * ia
        h[1, 3] = -(s2da_x @ ibx1)
        h[2, 2] = Wx @ (tri_ab - tri_abx) + (s2_x.sum() - wq_x.sum()) * ia * ia
        h[2, 3] = Wx @ (tri_ab - tri_abx) - (s2_x @ ibx1) * ia
        h[3, 3] = Wx @ (tri_ab + polygamma(1, bx) - polygamma(1, b) - tri_abx) + (s2_x + wq_x) @ (ibx1 * ibx1)
        h = np.triu(h) + np.triu(h, 1).T
    return ll, g, h


#: a BG-family fit stopped with a mean drop-out probability a / (a + b) below this counts as running to a = 0
NO_DROPOUT_SHARE = 1e-3


def nbd_loglik_grad(r: float, alpha: float, red: dict[str, Any]) -> tuple[float, np.ndarray]:
    """Total NBD log-likelihood (and gradient in r, alpha) from :func:`bg_family_reduce`'s statistics: the limit
    of the BG/NBD and MBG/NBD likelihoods as a -> 0 (no drop-out: ``B(a, b+x)/B(a, b) -> 1`` and the drop-out term
    vanishes), ``sum_i [lnG(r+x) - lnG(r) + r ln alpha - (r+x) ln(alpha+T)]``."""
    xu, Wx, Tu, WT, XWT, W = red["xu"], red["Wx"], red["Tu"], red["WT"], red["XWT"], red["W"]
    lT = np.log(alpha + Tu)
    ll = float(Wx @ (gammaln(r + xu) - gammaln(r))) + W * r * np.log(alpha) - float((r * WT + XWT) @ lT)
    d_r = float(Wx @ (digamma(r + xu) - digamma(r))) + W * np.log(alpha) - float(WT @ lT)
    d_alpha = W * r / alpha - float((r * WT + XWT) @ (1.0 / (alpha + Tu)))
    return ll, np.array([d_r, d_alpha])


def no_dropout_limit(
    model: TransactionModel, reduced: dict[str, Any], n: float, stopped_at: np.ndarray
) -> dict[str, Any] | None:
    """The BG/NBD (or MBG/NBD) maximum-likelihood answer at a = 0, when an unpenalised fit ran there.

    As a -> 0 the drop-out probability p ~ Beta(a, b) concentrates at 0 for any b > 0: nobody drops out, P(alive)
    is 1 and the likelihood tends to the NBD one (Poisson purchases, Gamma(r, alpha) rates; b no longer matters).
    Accepted when the fit stopped with a mean drop-out probability a / (a + b) below :data:`NO_DROPOUT_SHARE` and
    the NBD maximum is at least as likely as where it stopped (so the edge is where the likelihood is highest);
    None otherwise. Returns the parameters (r, alpha, a = 0, b undefined: NaN) with the NBD's standard errors.
    """
    from scipy import optimize

    from analysis.clv._base import GRADIENT_TOLERANCE, numerical_hessian

    r0, alpha0, a0, b0 = (float(v) for v in stopped_at)
    if not (a0 / (a0 + b0) < NO_DROPOUT_SHARE and b0 > 1e-3):
        return None  # b -> 0 as well would be a mixture of stayers and leavers, not "no drop-out"
    with np.errstate(all="ignore"):
        ll_stop = model._loglik_grad(np.asarray(stopped_at, dtype=float), reduced, grad=False)[0]

        def fg(u: np.ndarray) -> tuple[float, np.ndarray]:
            ll, g = nbd_loglik_grad(float(np.exp(u[0])), float(np.exp(u[1])), reduced)
            val = -ll / n
            return (val, -g * np.exp(u) / n) if np.isfinite(val) else (1e300, np.zeros(2))

        res = optimize.minimize(fg, np.log([r0, alpha0]), jac=True, method="L-BFGS-B",
                                options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})  # fmt: skip
        r, alpha = (float(v) for v in np.exp(res.x))
        ll, g = nbd_loglik_grad(r, alpha, reduced)

        def total_nll(t: np.ndarray) -> float:
            return -nbd_loglik_grad(float(t[0]), float(t[1]), reduced)[0]

        def total_grad(t: np.ndarray) -> np.ndarray:
            return -nbd_loglik_grad(float(t[0]), float(t[1]), reduced)[1]

        hess = numerical_hessian(total_nll, np.array([r, alpha]), grad=total_grad)
    g_max = float(np.max(np.abs(g * np.array([r, alpha]) / n)))
    if not (np.isfinite(ll) and g_max <= GRADIENT_TOLERANCE and ll >= ll_stop - 1e-6 * max(n, 1.0)):
        return None
    try:
        np.linalg.cholesky(hess)
        cov2 = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        return None
    nan = float("nan")
    cov = np.full((4, 4), nan)
    cov[:2, :2] = cov2
    se = np.sqrt(np.diag(cov2))
    return {
        "params": [r, alpha, 0.0, nan],
        "standard_errors": [float(se[0]), float(se[1]), nan, nan],
        "covariance": cov,
        "log_likelihood": ll,
        "boundary": "no_dropout",
        "max_abs_gradient": g_max,
        "iterations": int(res.nit),
    }


def nbd_expected(r: float, alpha: float, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> np.ndarray:
    """E[purchases in (T, T+t] | x, T] without drop-out: t (r + x) / (alpha + T) (the Gamma posterior mean rate
    times t)."""
    return t * (r + x) / (alpha + T)


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

    def _reduce(self, data: dict[str, np.ndarray], weights: np.ndarray) -> dict[str, Any]:
        return bg_family_reduce(data, weights, shift=0)

    def _loglik_grad(
        self, theta: np.ndarray, reduced: dict[str, Any], grad: bool = True
    ) -> tuple[float, np.ndarray | None]:
        return bg_family_loglik_grad(theta, reduced, grad)

    def _loglik_hess(self, theta: np.ndarray, reduced: dict[str, Any]) -> tuple[float, np.ndarray, np.ndarray]:
        return bg_family_hessian(theta, reduced)

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

    def _boundary_limit(self, reduced: dict[str, Any], n: float, stopped_at: np.ndarray) -> dict[str, Any] | None:
        return no_dropout_limit(self, reduced, n, stopped_at)

    def _p_alive(self, theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = theta
        if a == 0:  # the no-drop-out boundary: everyone is alive
            return np.ones(np.shape(x))
        rep = x > 0
        log_odds = (
            np.log(a) - np.log(np.where(rep, b + x - 1, 1.0)) + (r + x) * (np.log(alpha + T) - np.log(alpha + tx))
        )
        return np.where(rep, np.exp(-np.logaddexp(0.0, log_odds)), 1.0)

    def _expected_if_alive(self, theta: np.ndarray, x: np.ndarray, T: np.ndarray, t: np.ndarray) -> np.ndarray:
        """(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)],
        z = t / (alpha+T+t), Euler-transformed (see :func:`bg_bracket`)."""
        r, alpha, a, b = theta
        if a == 0:  # the no-drop-out boundary: the NBD limit (the formula's limit as a -> 0)
            return nbd_expected(r, alpha, x, T, t)
        z = t / (alpha + T + t)

        def value(a_: float) -> np.ndarray:
            return (a_ + b + x - 1) * bg_bracket(a_ + b - 1 - r, a_ - 1, a_ + b + x - 1, z)

        return near_one(value, a)
