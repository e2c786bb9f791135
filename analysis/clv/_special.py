"""Numerically stable special-function pieces of the BTYD likelihoods and predictions."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.special import hyp2f1


def log_sub_exp(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """log(exp(a) - exp(b)) for a >= b elementwise; -inf where a <= b."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = np.where(a > b, b - a, -np.inf)
        return np.where(a > b, a + np.log(-np.expm1(diff)), -np.inf)


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
