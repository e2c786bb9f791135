from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis.clv.mbgnbd import ModifiedBGNBD

# lifetimes 0.11.3 ModifiedBetaGeoFitter on the same CDNOW summary
LIFETIMES = {"r": 0.524843, "alpha": 6.183082, "a": 0.891360, "b": 1.614003}


@pytest.fixture(scope="module")
def mbg(cdnow_summary: pd.DataFrame) -> ModifiedBGNBD:
    return ModifiedBGNBD().fit(cdnow_summary)


def test_mbgnbd_cdnow_matches_lifetimes(mbg: ModifiedBGNBD) -> None:
    for name, value in LIFETIMES.items():
        assert mbg.params_[name] == pytest.approx(value, rel=1e-3)
    assert np.all(np.isfinite(mbg.standard_errors_))


def test_p_alive_below_one_without_repeats(mbg: ModifiedBGNBD, cdnow_summary: pd.DataFrame) -> None:
    p = mbg.conditional_probability_alive(cdnow_summary)
    r, alpha, a, b = mbg.params_.to_numpy()
    zero = cdnow_summary["frequency"] == 0
    assert (p[zero] < 1).all()
    T = cdnow_summary.loc[zero, "T"]
    np.testing.assert_allclose(p[zero], 1 / (1 + a / b * ((alpha + T) / alpha) ** r))


def test_predictions_match_lifetimes(mbg: ModifiedBGNBD) -> None:
    m = ModifiedBGNBD.from_dict(mbg.to_dict() | {"params": LIFETIMES})
    frame = pd.DataFrame(
        {
            "frequency": [2, 1, 0],
            "t_x": [30.428571428571427, 1.7142857142857142, 0.0],
            "T": [38.857142857142854] * 3,
        }
    )
    np.testing.assert_allclose(
        m.conditional_expected_purchases(39, frame), [1.26275884, 0.18894489, 0.15396601], rtol=1e-6
    )
    np.testing.assert_allclose(m.conditional_probability_alive(frame), [0.70613849, 0.17095108, 0.3897231], rtol=1e-6)


@pytest.mark.parametrize(("x", "T", "t"), [(0, 39.0, 39.0), (4, 10.0, 104.0), (80, 39.0, 5.0)])
def test_expectation_matches_integration(x: int, T: float, t: float) -> None:
    """E[Y(t) | alive] with p ~ Beta(a, b + x + 1) (survived x + 1 purchases)."""
    r, alpha, a, b = 0.52, 6.18, 0.89, 1.61
    closed = ModifiedBGNBD()._expected_if_alive(
        np.array([r, alpha, a, b]), np.array([x]), np.array([T]), np.array([t])
    )[0]
    f = lambda p: -np.expm1(-(r + x) * np.log1p(p * t / (alpha + T))) / p * stats.beta.pdf(p, a, b + x + 1)  # noqa: E731
    assert closed == pytest.approx(integrate.quad(f, 0, 1, limit=200)[0], rel=1e-6)


def test_analytic_gradient_matches_finite_differences(cdnow_summary: pd.DataFrame) -> None:
    model = ModifiedBGNBD()
    data = model._prepare(cdnow_summary[["frequency", "t_x", "T"]].astype(float).reset_index(drop=True))
    theta = np.array([0.4, 5.0, 0.8, 1.5])
    num = np.empty(4)
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6 * theta[i]
        up, down = model._loglik_rows(theta + e, data).sum(), model._loglik_rows(theta - e, data).sum()
        num[i] = (up - down) / (2 * e[i])
    np.testing.assert_allclose(model._grad_rows(theta, data).sum(axis=0), num, rtol=1e-5)
