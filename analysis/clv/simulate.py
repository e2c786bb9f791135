"""Simulators of the BG/NBD and Pareto/NBD purchase processes (and Gamma-Gamma spend).

Times are in an abstract time unit (the same as the parameters'); a customer's first purchase is
at time 0 and the customer is observed until ``T``. Used by the parameter-recovery tests, the
benchmark and the sample-data generator.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.clv.summary import unit_days
from analysis.errors import InputError


def _check_positive(**params: float) -> None:
    for name, value in params.items():
        if not (np.isfinite(value) and value > 0):
            raise InputError(f"simulation parameter {name} must be positive, got {value!r}")


def _T_array(T: float | np.ndarray, n: int) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(T, dtype=float), (n,)).copy()
    if np.any(~np.isfinite(arr)) or np.any(arr < 0):
        raise InputError("T must be finite and >= 0")
    return arr


def _bgnbd_counts(
    rng: np.random.Generator, n: int, r: float, alpha: float, a: float, b: float, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson count N(T) of the unobstructed process and the number of repeats before drop-out."""
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    n_T = rng.poisson(lam * T)
    k_drop = rng.geometric(np.clip(p, 1e-300, 1.0))  # dies right after its k-th repeat purchase
    return n_T, np.minimum(n_T, k_drop)


def simulate_bgnbd_summary(
    n: int, r: float, alpha: float, a: float, b: float, T: float | np.ndarray, seed: int | None = 0
) -> pd.DataFrame:
    """Per-customer (frequency, t_x, T) drawn from the BG/NBD process, vectorised.

    Given N(T) = k Poisson arrivals in (0, T], the i-th arrival time is T * Beta(i, k - i + 1).

    Returns
    -------
    DataFrame
        Columns ``frequency``, ``t_x``, ``T``; index ``customer_id`` (0..n-1); ``attrs`` has no
        time unit (pass ``time_unit=`` to ``fit``).
    """
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    rng = np.random.default_rng(seed)
    Ts = _T_array(T, n)
    n_T, x = _bgnbd_counts(rng, n, r, alpha, a, b, Ts)
    tx = np.zeros(n)
    rep = x > 0
    tx[rep] = Ts[rep] * rng.beta(x[rep], n_T[rep] - x[rep] + 1)
    return pd.DataFrame({"frequency": x, "t_x": tx, "T": Ts}, index=pd.RangeIndex(n, name="customer_id"))


def simulate_pareto_nbd_summary(
    n: int, r: float, alpha: float, s: float, beta: float, T: float | np.ndarray, seed: int | None = 0
) -> pd.DataFrame:
    """Per-customer (frequency, t_x, T) drawn from the Pareto/NBD process, vectorised."""
    _check_positive(r=r, alpha=alpha, s=s, beta=beta)
    rng = np.random.default_rng(seed)
    Ts = _T_array(T, n)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    observed = np.minimum(rng.exponential(1.0 / mu), Ts)
    x = rng.poisson(lam * observed)
    tx = np.zeros(n)
    rep = x > 0
    tx[rep] = observed[rep] * rng.beta(x[rep], 1.0)
    return pd.DataFrame({"frequency": x, "t_x": tx, "T": Ts}, index=pd.RangeIndex(n, name="customer_id"))


def _times_from_counts(
    rng: np.random.Generator, n_window: np.ndarray, x: np.ndarray, window: np.ndarray
) -> pd.DataFrame:
    """First x of n_window sorted uniform arrivals on (0, window], plus the first purchase at 0."""
    cust = np.repeat(np.arange(len(x)), n_window)
    u = rng.random(cust.size) * window[cust]
    order = np.lexsort((u, cust))
    cust, u = cust[order], u[order]
    starts = np.repeat(np.cumsum(n_window) - n_window, n_window)
    rank = np.arange(cust.size) - starts
    keep = rank < x[cust]
    frame = pd.DataFrame(
        {
            "customer_id": np.concatenate([np.arange(len(x)), cust[keep]]),
            "t": np.concatenate([np.zeros(len(x)), u[keep]]),
        }
    )
    return frame.sort_values(["customer_id", "t"], kind="stable").reset_index(drop=True)


def simulate_bgnbd_customers(
    n: int, r: float, alpha: float, a: float, b: float, T: float | np.ndarray, seed: int | None = 0
) -> pd.DataFrame:
    """Purchase times of n customers following the BG/NBD process.

    Parameters
    ----------
    n : int
        Number of customers.
    r, alpha, a, b : float
        BG/NBD parameters (alpha in the time unit of ``T``).
    T : float or array of length n
        Observation length after each customer's first purchase, in time units.
    seed : int, optional
        Random seed.

    Returns
    -------
    DataFrame
        One row per purchase: ``customer_id`` (int 0..n-1) and ``t`` (time since the customer's
        first purchase, in time units; the first purchase has t = 0), sorted by customer and t.
    """
    _check_positive(r=r, alpha=alpha, a=a, b=b)
    rng = np.random.default_rng(seed)
    Ts = _T_array(T, n)
    n_T, x = _bgnbd_counts(rng, n, r, alpha, a, b, Ts)
    return _times_from_counts(rng, n_T, x, Ts)


def simulate_pareto_nbd_customers(
    n: int, r: float, alpha: float, s: float, beta: float, T: float | np.ndarray, seed: int | None = 0
) -> pd.DataFrame:
    """Purchase times of n customers following the Pareto/NBD process (same layout as
    :func:`simulate_bgnbd_customers`)."""
    _check_positive(r=r, alpha=alpha, s=s, beta=beta)
    rng = np.random.default_rng(seed)
    Ts = _T_array(T, n)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    mu = rng.gamma(s, 1.0 / beta, size=n)
    observed = np.minimum(rng.exponential(1.0 / mu), Ts)
    x = rng.poisson(lam * observed)
    return _times_from_counts(rng, x, x, observed)


def simulate_transaction_log(
    n: int,
    start: str = "2023-01-01",
    acquisition_days: int = 84,
    end: str = "2024-06-30",
    time_unit: str = "W",
    bgnbd: tuple[float, float, float, float] = (0.243, 4.414, 0.793, 2.426),
    gamma_gamma: tuple[float, float, float] = (6.25, 3.74, 15.44),
    seed: int | None = 0,
) -> pd.DataFrame:
    """A clean transaction log (customer_id, order_date, amount) from BG/NBD + Gamma-Gamma.

    First purchases are uniform over ``acquisition_days`` days from ``start``; purchase times in
    ``time_unit`` are converted to days and truncated to calendar dates up to ``end``. Spend per
    purchase is Gamma(p, nu) with nu ~ Gamma(q, v) per customer (currency units).
    """
    rng = np.random.default_rng(seed)
    start_ts, end_ts = pd.Timestamp(start), pd.Timestamp(end)
    first_offset = rng.integers(0, acquisition_days, size=n)
    T_days = (end_ts - start_ts).days - first_offset
    if np.any(T_days < 0):
        raise InputError("end must be after start + acquisition_days")
    length = unit_days(time_unit)
    times = simulate_bgnbd_customers(n, *bgnbd, T=T_days / length, seed=rng.integers(2**32))
    days = first_offset[times["customer_id"].to_numpy()] + np.floor(times["t"].to_numpy() * length)
    p, q, v = gamma_gamma
    nu = rng.gamma(q, 1.0 / v, size=n)
    amount = rng.gamma(p, 1.0 / nu[times["customer_id"].to_numpy()])
    return pd.DataFrame(
        {
            "customer_id": times["customer_id"].map(lambda i: f"C{i:07d}").to_numpy(),
            "order_date": start_ts + pd.to_timedelta(days, unit="D"),
            "amount": np.round(amount, 2).clip(min=0.01),
        }
    )
