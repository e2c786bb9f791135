from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis.clv.bgnbd import BGNBD
from analysis.clv.simulate import simulate_bgnbd_summary

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_bgnbd_cdnow_published(cdnow_bgnbd: BGNBD) -> None:
    """Fader, Hardie & Lee (2005): weeks, x = repeat purchase days, T to the calibration end date."""
    for name, value in PUBLISHED.items():
        assert cdnow_bgnbd.params_[name] == pytest.approx(value, rel=0.01)
    assert cdnow_bgnbd.log_likelihood_ == pytest.approx(-9582.4, abs=0.5)
    assert cdnow_bgnbd.time_unit_ == "W"
    assert cdnow_bgnbd.n_customers_ == 2357


def test_standard_errors_and_summary(cdnow_bgnbd: BGNBD) -> None:
    se = cdnow_bgnbd.standard_errors_
    assert np.all(np.isfinite(se)) and np.all(se > 0)
    # lifetimes 0.11.3 reports r 0.0126, alpha 0.378 on the same data
    assert se["r"] == pytest.approx(0.0126, rel=0.05)
    assert se["alpha"] == pytest.approx(0.378, rel=0.05)
    table = cdnow_bgnbd.summary()
    assert list(table.columns) == ["estimate", "standard_error", "lower 95%", "upper 95%"]
    assert (table["lower 95%"] < table["estimate"]).all() and (table["estimate"] < table["upper 95%"]).all()


def test_weighted_unique_fit_equals_plain_fit(cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBD) -> None:
    cols = ["frequency", "t_x", "T"]
    counts = cdnow_summary.groupby(cols).size().rename("n").reset_index()
    weighted = BGNBD().fit(counts[cols], weights=counts["n"], time_unit="W")
    assert cdnow_bgnbd.n_unique_ == len(counts)
    np.testing.assert_allclose(weighted.params_, cdnow_bgnbd.params_, rtol=1e-6)
    assert weighted.log_likelihood_ == pytest.approx(cdnow_bgnbd.log_likelihood_, abs=1e-6)


def test_analytic_gradient_matches_finite_differences(cdnow_summary: pd.DataFrame) -> None:
    model = BGNBD()
    data = model._prepare(cdnow_summary[["frequency", "t_x", "T"]].astype(float).reset_index(drop=True))
    theta = np.array([0.3, 5.0, 0.7, 2.0])
    grad = model._grad_rows(theta, data).sum(axis=0)
    num = np.empty(4)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6 * theta[i]
        num[i] = (model._loglik_rows(theta + e, data).sum() - model._loglik_rows(theta - e, data).sum()) / (2 * e[i])
    np.testing.assert_allclose(grad, num, rtol=1e-5)


def test_published_example_customer(cdnow_bgnbd: BGNBD) -> None:
    """FHL 2005 sec. 5: x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks."""
    one = pd.DataFrame({"frequency": [2], "t_x": [30.43], "T": [38.86]}, index=["c"])
    assert cdnow_bgnbd.conditional_expected_purchases(39, one).iloc[0] == pytest.approx(1.226, abs=0.002)


def _quadrature_expectation(theta: np.ndarray, x: int, T: float, t: float) -> float:
    """E[Y(t) | alive] = E_p[(1 - (1 + p t / (alpha + T))^-(r + x)) / p], p ~ Beta(a, b + x)."""
    r, alpha, a, b = theta

    def f(p: float) -> float:
        return -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p * stats.beta.pdf(p, a, b + x)

    return integrate.quad(f, 0, 1, limit=200, epsabs=1e-12)[0]


@pytest.mark.parametrize(("x", "T", "t"), [(0, 38.86, 39.0), (3, 20.0, 52.0), (150, 39.0, 10.0), (2, 0.5, 300.0)])
@pytest.mark.parametrize("a", [0.793, 1.0, 2.5])
def test_conditional_expectation_matches_numerical_integration(x: int, T: float, t: float, a: float) -> None:
    model = BGNBD()
    theta = np.array([0.243, 4.414, a, 2.426])
    closed = model._expected_if_alive(theta, np.array([float(x)]), np.array([T]), np.array([t]))[0]
    assert closed == pytest.approx(_quadrature_expectation(theta, x, T, t), rel=1e-6)


def test_p_alive_is_one_without_repeats_and_below_one_with(cdnow_bgnbd: BGNBD, cdnow_summary: pd.DataFrame) -> None:
    p = cdnow_bgnbd.conditional_probability_alive(cdnow_summary)
    assert (p[cdnow_summary["frequency"] == 0] == 1.0).all()
    assert (p[cdnow_summary["frequency"] > 0] < 1.0).all()
    assert p.index.equals(cdnow_summary.index)


def test_unconditional_expectation_is_increasing(cdnow_bgnbd: BGNBD) -> None:
    ex = cdnow_bgnbd.expected_purchases_new_customer(np.array([0.0, 1.0, 39.0, 78.0]))
    assert ex[0] == 0 and np.all(np.diff(ex) > 0)


def test_parameter_recovery_on_simulated_data() -> None:
    truth = np.array([0.5, 6.0, 0.9, 3.0])
    summary = simulate_bgnbd_summary(30000, *truth, T=np.linspace(20, 52, 30000), seed=7)
    model = BGNBD().fit(summary, time_unit="W")
    z = (model.params_.to_numpy() - truth) / model.standard_errors_.to_numpy()
    assert np.all(np.abs(z) < 4), z
    np.testing.assert_allclose(model.params_, truth, rtol=0.25)
