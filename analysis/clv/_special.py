"""Numerically stable special-function pieces of the BTYD likelihoods and predictions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import hyp2f1


def softplus_parts(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(exp(-|d|), log(1 + exp(d))) elementwise: softplus with one exp and one log1p per element
    (numpy's ``logaddexp`` costs several times more), and the piece :func:`sigmoid_from_parts` reuses."""
    e = np.exp(-np.abs(d))
    return e, np.maximum(d, 0.0) + np.log1p(e)


def sigmoid_from_parts(d: np.ndarray, e: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-d)) from ``e = exp(-|d|)`` (see :func:`softplus_parts`), without overflow."""
    inv = 1.0 / (1.0 + e)
    return np.where(d >= 0, inv, e * inv)


def expm1_ratio(eps: np.ndarray | float, L: np.ndarray) -> np.ndarray:
    """(1 - exp(-eps * L)) / eps, with its limit L at eps = 0."""
    eps = np.asarray(eps, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        val = -np.expm1(-eps * L) / eps
    return np.where(eps == 0, L, val)


def bg_bracket(A: np.ndarray, am1: float, c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """[1 - (1 - z)**am1 * 2F1(A, am1; c; z)] / am1 for 0 <= z < 1.

    This is the Euler-transformed bracket of the BG/NBD and MBG/NBD conditional expectations
    (the transformation removes the overflow of 2F1(r+x, b+x; a+b+x-1; z) for large x and the
    cancellation of the untransformed form). ``am1`` is a - 1; the caller handles a close to 1.
    """
    with np.errstate(all="ignore"):
        return (1.0 - np.exp(am1 * np.log1p(-z)) * hyp2f1(A, am1, c, z)) / am1


def near_one(fun: Callable[[float], np.ndarray], a: float, delta: float = 1e-4) -> np.ndarray:
    """Evaluate ``fun(a)`` avoiding the removable singularity at a = 1 by linear interpolation."""
    if abs(a - 1.0) >= delta:
        return fun(a)
    lo, hi = fun(1.0 - delta), fun(1.0 + delta)
    w = (a - (1.0 - delta)) / (2 * delta)
    return lo + w * (hi - lo)


#: above this argument the series of :func:`log_hyp2f1_1bc` converges too slowly; scipy's ``hyp2f1``
#: and finite differences are used instead
_SERIES_MAX_Z = 0.9


def log_hyp2f1_1bc(
    b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool = True
) -> tuple[np.ndarray, np.ndarray | None]:
    """log 2F1(1, b; c; z) and its partial derivatives with respect to (b, c, z).

    For 0 <= z < 1 and c > b > 0, where the series sum_n (b)_n / (c)_n z^n has positive terms with
    ratio below z (so it is summed to full precision, and the tail after a term t is below
    t z / (1 - z)). The derivatives are summed alongside: d t_n / d b = t_n sum_{j<n} 1 / (b + j),
    d t_n / d c = -t_n sum_{j<n} 1 / (c + j), d t_n / d z = n t_n / z. For z above 0.9 the
    value comes from :func:`scipy.special.hyp2f1`, d/dz from d/dz 2F1(1, b; c; z) =
    (b / c) 2F1(2, b + 1; c + 1; z) and d/db, d/dc from central differences.

    Returns
    -------
    log_f : ndarray
    derivatives : ndarray of shape (n, 3) or None
        d log F / d b, d log F / d c, d log F / d z (None when ``grad`` is False).
    """
    b, c, z = (np.asarray(v, dtype=float) for v in np.broadcast_arrays(b, c, z))
    b, c, z = b.ravel(), c.ravel(), z.ravel()
    n = b.size
    log_f = np.empty(n)
    der = np.empty((n, 3)) if grad else None
    slow = z > _SERIES_MAX_Z
    if slow.any():
        idx = np.flatnonzero(slow)
        log_f[idx], d = _log_hyp2f1_scipy(b[idx], c[idx], z[idx], grad)
        if grad:
            der[idx] = d
    idx = np.flatnonzero(~slow)
    if idx.size:
        log_f[idx], d = _log_hyp2f1_series(b[idx], c[idx], z[idx], grad)
        if grad:
            der[idx] = d
    return log_f, der


def _log_hyp2f1_series(b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    n = b.size
    out_f = np.empty(n)
    out_d = np.empty((n, 3)) if grad else None
    active = np.arange(n)
    t = np.ones(n)
    f = np.ones(n)
    bn, cn, zz = b.copy(), c.copy(), z.copy()
    bound = zz / (1.0 - zz)
    if grad:
        sb, sc = np.zeros(n), np.zeros(n)
        fb, fc, fz = np.zeros(n), np.zeros(n), np.zeros(n)
    k = 0
    while active.size:
        for _ in range(8):
            k += 1
            step = bn / cn
            if grad:
                tz = t * step  # t_k / z
                fz += k * tz
                sb += 1.0 / bn
                sc += 1.0 / cn
                t = tz * zz
                fb += t * sb
                fc += t * sc
            else:
                t = t * step * zz
            f += t
            bn += 1.0
            cn += 1.0
        # tail of every sum after term k (derivative sums: at most (1 + k + s_b + s_c) times larger)
        scale = (1.0 + k + sb + sc) if grad else 1.0
        done = t * scale * bound <= 1e-17 * f
        if k >= 20_000:  # cannot happen for z <= 0.9; a guard against an endless loop
            done[:] = True
        if done.any():
            pos = active[done]
            out_f[pos] = np.log(f[done])
            if grad:
                out_d[pos, 0] = fb[done] / f[done]
                out_d[pos, 1] = -fc[done] / f[done]
                out_d[pos, 2] = fz[done] / f[done]
            keep = ~done
            active = active[keep]
            t, f, bn, cn, zz, bound = t[keep], f[keep], bn[keep], cn[keep], zz[keep], bound[keep]
            if grad:
                sb, sc, fb, fc, fz = sb[keep], sc[keep], fb[keep], fc[keep], fz[keep]
    return out_f, out_d


def _log_hyp2f1_scipy(b: np.ndarray, c: np.ndarray, z: np.ndarray, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
    with np.errstate(all="ignore"):
        f = hyp2f1(1.0, b, c, z)
        log_f = np.log(f)
        if not grad:
            return log_f, None
        d = np.empty((b.size, 3))
        hb = 1e-6 * np.maximum(1.0, np.abs(b))
        hc = 1e-6 * np.maximum(1.0, np.abs(c))
        d[:, 0] = (np.log(hyp2f1(1.0, b + hb, c, z)) - np.log(hyp2f1(1.0, b - hb, c, z))) / (2 * hb)
        d[:, 1] = (np.log(hyp2f1(1.0, b, c + hc, z)) - np.log(hyp2f1(1.0, b, c - hc, z))) / (2 * hc)
        d[:, 2] = b / c * hyp2f1(2.0, b + 1.0, c + 1.0, z) / f
    return log_f, d
