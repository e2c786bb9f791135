"""The fast paths of the CLV fits give the answers of the plain per-row computations.

Grouping on integer codes (analysis.clv._compress), the sufficient statistics with analytic
gradients (``_reduce`` / ``_loglik_grad``), the differentiated 2F1 series, the starting points
explored on a row sample, and predictions computed once per distinct history.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pandas as pd
import pytest

from analysis.clv import _base
from analysis.clv._compress import group_rows
from analysis.clv._special import log_hyp2f1_1bc
from analysis.clv._transaction import discount_weights
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD


# ---------------------------------------------------------------- grouping
def _check_grouping(columns: dict[str, np.ndarray], steps: dict, weights: np.ndarray | None) -> None:
    g = group_rows(columns, steps, weights)
    frame = pd.DataFrame(columns)
    w = np.ones(len(frame)) if weights is None else weights
    expected = pd.Series(w).groupby([frame[c] for c in columns], dropna=False).sum()
    got = pd.Series(g.weights, index=pd.MultiIndex.from_arrays([g.values[c] for c in columns])).sort_index()
    assert len(got) == len(expected) == g.n_unique
    np.testing.assert_allclose(got.to_numpy(), expected.sort_index().to_numpy(), rtol=1e-12)
    for c in columns:  # every row maps back to its own values, bit for bit (NaN to NaN)
        np.testing.assert_array_equal(g.values[c][g.inverse], columns[c])
        np.testing.assert_array_equal(g.levels[c][g.codes[c]], g.values[c])


@pytest.mark.parametrize("weighted", [False, True])
def test_group_rows_equals_a_pandas_groupby(weighted: bool) -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    days_T = rng.integers(0, 400, n)
    days_tx = np.minimum(rng.integers(0, 400, n), days_T)
    columns = {
        "frequency": rng.poisson(1.0, n).astype(float),
        "t_x": days_tx / 7,  # on the lattice of step 7 (day counts in weeks)
        "T": days_T / (365.25 / 12),  # months
        "spend": np.round(rng.gamma(2.0, 10.0, n), 2) / rng.integers(1, 4, n),  # not on any lattice
    }
    weights = rng.uniform(0.1, 3.0, n) if weighted else None
    _check_grouping(columns, {"frequency": 1.0, "t_x": 7.0, "T": 365.25 / 12}, weights)
    # the same without lattice steps (hashing path), and with a wrong step (values off the lattice)
    _check_grouping(columns, {}, weights)
    _check_grouping(columns, {"t_x": 3.0, "T": 7.0}, weights)


def test_group_rows_with_a_large_key_space_and_missing_values() -> None:
    rng = np.random.default_rng(4)
    n = 5_000
    columns = {c: rng.normal(size=n).round(3) for c in "abcd"}  # ~10^12 possible keys: hashed
    columns["a"][::7] = np.nan
    _check_grouping(columns, {}, None)


# ---------------------------------------------------------------- reduced likelihoods
MODELS = [
    (BGNBD, [0.24, 4.4, 0.79, 2.4]),
    (ModifiedBGNBD, [0.52, 6.2, 0.89, 1.6]),
    (ParetoNBD, [0.55, 10.6, 0.61, 11.7]),  # alpha < beta
    (ParetoNBD, [0.55, 14.0, 0.61, 3.5]),  # alpha >= beta
    (GammaGamma, [6.25, 3.74, 15.4]),
]


def _weighted_rows(model_cls: type, cdnow_summary: pd.DataFrame, seed: int):
    """A fresh ``model_cls``, its prepared distinct CDNOW rows (repeat customers only for Gamma-Gamma) and a weight
    for each: the customers the row stands for times a random factor in [0.5, 1.5) (weights need not be counts)."""
    model = model_cls()
    cols = list(model.data_columns)
    frame = cdnow_summary[cols]
    if model_cls is GammaGamma:
        frame = frame[frame["frequency"] > 0]
    counts = frame.groupby(cols).size()
    w = counts.to_numpy(dtype=float) * np.random.default_rng(seed).uniform(0.5, 1.5, len(counts))
    return model, model._prepare(counts.index.to_frame(index=False)), w


@pytest.mark.parametrize(("model_cls", "theta"), MODELS)
def test_reduced_likelihood_and_gradient_equal_the_row_sums(
    cdnow_summary: pd.DataFrame, model_cls: type, theta: list[float]
) -> None:
    model, data, w = _weighted_rows(model_cls, cdnow_summary, seed=0)
    th = np.asarray(theta, dtype=float)
    ll, g = model._loglik_grad(th, model._reduce(data, w))
    assert ll == pytest.approx(float(w @ model._loglik_rows(th, data)), rel=1e-12)
    np.testing.assert_allclose(g, w @ model._grad_rows(th, data), rtol=1e-9, atol=1e-9 * np.abs(g).max())
    red = model._reduce(data, w)
    num = np.empty(th.size)
    for i in range(th.size):
        e = np.zeros(th.size)
        e[i] = 1e-6 * th[i]
        num[i] = (model._loglik_grad(th + e, red, False)[0] - model._loglik_grad(th - e, red, False)[0]) / (2 * e[i])
    np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-5 * np.abs(g).max())


@pytest.mark.parametrize(
    ("model_cls", "theta"), [(BGNBD, [0.24, 4.4, 0.79, 2.4]), (ModifiedBGNBD, [0.52, 6.2, 0.89, 1.6]),
                             (GammaGamma, [6.25, 3.74, 15.4]), (BGNBD, [2.0, 0.5, 0.05, 9.0])],
)  # fmt: skip
def test_analytic_hessian_equals_differences_of_the_gradient(
    cdnow_summary: pd.DataFrame, model_cls: type, theta: list[float]
) -> None:
    """The exact Hessians behind the Newton steps and the standard errors: equal to central differences of the
    analytic gradient on the CDNOW rows (weighted), with the same value and gradient as ``_loglik_grad``."""
    model, data, w = _weighted_rows(model_cls, cdnow_summary, seed=1)
    red = model._reduce(data, w)
    th = np.asarray(theta, dtype=float)
    ll, g, h = model._loglik_hess(th, red)
    ll0, g0 = model._loglik_grad(th, red)
    assert ll == pytest.approx(ll0, rel=1e-13) and np.allclose(g, g0, rtol=1e-12, atol=1e-12 * np.abs(g0).max())
    num = np.empty((th.size, th.size))
    for i in range(th.size):
        e = np.zeros(th.size)
        e[i] = 1e-6 * th[i]
        num[i] = (model._loglik_grad(th + e, red)[1] - model._loglik_grad(th - e, red)[1]) / (2 * e[i])
    np.testing.assert_allclose(h, h.T)
    np.testing.assert_allclose(h, num, rtol=1e-5, atol=1e-6 * np.abs(num).max())


def test_total_spends_on_whole_cents_group_as_the_products() -> None:
    """Gamma-Gamma's distinct total spends x m: on whole cents they are grouped as integers (cents / 100), off them
    as the float products; either way the rows sharing a total are those whose x m agree to the cent."""
    from analysis.clv.gamma_gamma import total_spend_codes

    rng = np.random.default_rng(3)
    x = rng.integers(1, 9, 400).astype(float)
    m = np.round(rng.gamma(2.0, 10.0, 400), 2)
    m[:40] = 0.1  # x m = 0.1 x: products such as 3 * 0.1 that floats do not give exactly
    codes, levels = total_spend_codes(x, m)
    np.testing.assert_allclose(levels[codes], x * m, rtol=1e-15)
    cents = np.rint(x * m * 100)
    assert len(levels) == len(np.unique(cents))
    assert all(len(np.unique(cents[codes == k])) == 1 for k in range(len(levels)))
    off = m + 0.001  # three decimals: hashed products
    codes, levels = total_spend_codes(x, off)
    np.testing.assert_array_equal(levels[codes], x * off)


@pytest.mark.parametrize(
    ("b", "c", "z"),
    [(0.6, 2.2, 0.0), (0.6, 2.2, 0.35), (50.5, 52.1, 0.68), (500.5, 501.6, 0.5), (1.6, 2.2, 0.89), (24.6, 25.1, 0.97)],
)
def test_hypergeometric_series_and_derivatives_against_mpmath(b: float, c: float, z: float) -> None:
    log_f, d = log_hyp2f1_1bc(np.array([b]), np.array([c]), np.array([z]))
    mpmath.mp.dps = 40

    def f(bb: float, cc: float, zz: float) -> mpmath.mpf:
        return mpmath.log(mpmath.hyp2f1(1, bb, cc, zz))

    assert log_f[0] == pytest.approx(float(f(b, c, z)), rel=1e-13, abs=1e-15)
    expected = [mpmath.diff(lambda v: f(v, c, z), b), mpmath.diff(lambda v: f(b, v, z), c)]
    expected.append(mpmath.diff(lambda v: f(b, c, v), z) if z > 0 else mpmath.mpf(b) / c)
    tol = 1e-11 if z <= 0.9 else 1e-8  # above 0.9: scipy's hyp2f1 and central differences
    np.testing.assert_allclose(d[0], [float(e) for e in expected], rtol=tol)


# ---------------------------------------------------------------- starting points on a row sample
@pytest.mark.parametrize("model_cls", [BGNBD, ParetoNBD, GammaGamma])
def test_starts_on_a_sample_end_at_the_full_data_optimum(
    cdnow_summary: pd.DataFrame, model_cls: type, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = model_cls().fit(cdnow_summary)
    monkeypatch.setattr(_base, "SAMPLE_ABOVE_ROWS", 100)
    monkeypatch.setattr(_base, "SAMPLE_ROWS", 150)
    sampled = model_cls().fit(cdnow_summary)
    assert sampled.convergence_["explored_on_sample"] and not full.convergence_["explored_on_sample"]
    np.testing.assert_allclose(sampled.params_, full.params_, rtol=1e-6)
    np.testing.assert_allclose(sampled.standard_errors_, full.standard_errors_, rtol=1e-4)
    assert sampled.log_likelihood_ == pytest.approx(full.log_likelihood_, abs=1e-6)


# ---------------------------------------------------------------- predictions per distinct history
def test_predictions_per_distinct_history_equal_the_row_by_row_formulas(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBD
) -> None:
    theta = cdnow_bgnbd.params_.to_numpy()
    x, tx, T = (cdnow_summary[c].to_numpy(dtype=float) for c in ("frequency", "t_x", "T"))
    p = cdnow_bgnbd._p_alive(theta, x, tx, T)
    pd.testing.assert_series_equal(
        cdnow_bgnbd.conditional_probability_alive(cdnow_summary),
        pd.Series(p, index=cdnow_summary.index, name="p_alive"),
        rtol=1e-13,
    )
    ends, factors = discount_weights(52.0, 0.0018)
    naive = np.zeros(len(x))
    previous = np.zeros(len(x))
    for t_k, f_k in zip(ends, factors, strict=True):
        e_k = p * cdnow_bgnbd._expected_if_alive(theta, x, T, np.full(len(x), t_k))
        naive += (e_k - previous) * f_k
        previous = e_k
    got = cdnow_bgnbd.discounted_expected_purchases(cdnow_summary, 52.0, 0.0018)
    np.testing.assert_allclose(got.to_numpy(), naive, rtol=1e-11, atol=1e-13)
    assert got.index.equals(cdnow_summary.index)
