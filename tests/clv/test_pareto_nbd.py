from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.simulate import simulate_pareto_nbd_summary

PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
THETA = np.array([0.553, 10.578, 0.606, 11.669])


def _ll(theta: np.ndarray, x: float, tx: float, T: float) -> float:
    model = ParetoNBD()
    data = model._prepare(pd.DataFrame({"frequency": [x], "t_x": [tx], "T": [T]}))
    return float(model._loglik_rows(np.asarray(theta, float), data)[0])


def test_pareto_nbd_cdnow_published(cdnow_pareto: ParetoNBD) -> None:
    """Fader, Hardie & Lee (2005) Pareto/NBD on CDNOW with the BG/NBD summary definitions."""
    for name, value in PUBLISHED.items():
        assert cdnow_pareto.params_[name] == pytest.approx(value, rel=0.01)
    assert cdnow_pareto.log_likelihood_ == pytest.approx(-9595.0, abs=0.5)
    assert np.all(np.isfinite(cdnow_pareto.standard_errors_)) and np.all(cdnow_pareto.standard_errors_ > 0)


# reference log-likelihoods computed with mpmath (50 digits) from the unsimplified formula
@pytest.mark.parametrize(
    ("theta", "x", "tx", "T", "expected"),
    [
        (THETA, 500, 38.0, 39.0, 658.0619343009316),
        (THETA, 500, 1.0, 39.0, 1376.6167128589905),
        ((2.0, 1.0, 0.5, 0.2), 500, 1.0, 39.0, 2262.287401460723),
        ((0.553, 3.0, 0.606, 30.0), 500, 38.0, 39.0, 742.1347787310829),
        (THETA, 0, 0.0, 39.0, -0.5215074188765774),
        (THETA, 50, 30.0, 39.0, -44.882834712778774),
    ],
)
def test_log_likelihood_is_exact_for_heavy_buyers(theta, x, tx, T, expected) -> None:
    value = _ll(theta, x, tx, T)
    assert np.isfinite(value)
    assert value == pytest.approx(expected, abs=1e-9)


def test_log_likelihood_against_mpmath() -> None:
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40

    def reference(r, al, s, be, x, tx, T):
        r, al, s, be, x, tx, T = (mp.mpf(v) for v in (r, al, s, be, x, tx, T))
        if al >= be:
            b2, big, small = s + 1, al, be
        else:
            b2, big, small = r + x, be, al

        def h(y):
            return mp.hyp2f1(r + s + x, b2, r + s + x + 1, (big - small) / (big + y)) / (big + y) ** (r + s + x)

        body = 1 / ((al + T) ** (r + x) * (be + T) ** s) + s / (r + s + x) * (h(tx) - h(T))
        return float(mp.log(mp.gamma(r + x) * al**r * be**s / mp.gamma(r) * body))

    for theta in [(0.3, 20.0, 1.5, 2.0), (1.2, 0.5, 0.2, 8.0)]:
        for x, tx, T in [(0, 0, 10), (7, 3.5, 52), (300, 51.9, 52), (800, 10.0, 52)]:
            assert _ll(theta, x, tx, T) == pytest.approx(reference(*theta, x, tx, T), abs=1e-8)


@pytest.mark.parametrize("s", [0.606, 1.0, 1.0 + 1e-12, 3.0])
def test_conditional_expectation_matches_integration(s: float) -> None:
    """E[Y(t) | alive] = (r+x)/(alpha+T) * E[(1 - exp(-mu t)) / mu], mu ~ Gamma(s, beta + T)."""
    r, alpha, beta, x, T, t = 0.553, 10.578, 11.669, 4, 30.0, 52.0
    closed = ParetoNBD()._expected_if_alive(np.array([r, alpha, s, beta]), np.array([x]), np.array([T]), np.array([t]))[
        0
    ]
    dens = stats.gamma(s, scale=1 / (beta + T)).pdf
    num = integrate.quad(lambda mu: -np.expm1(-mu * t) / mu * dens(mu), 0, np.inf, limit=200)[0]
    assert closed == pytest.approx((r + x) / (alpha + T) * num, rel=1e-7)


def test_p_alive_decreases_with_time_since_last_purchase(cdnow_pareto: ParetoNBD) -> None:
    frame = pd.DataFrame({"frequency": [5, 5, 5, 0], "t_x": [38.0, 20.0, 5.0, 0.0], "T": [39.0] * 4})
    p = cdnow_pareto.conditional_probability_alive(frame).to_numpy()
    assert np.all(np.diff(p[:3]) < 0) and np.all((p > 0) & (p <= 1))
    assert p[3] < 1  # unlike BG/NBD, a Pareto/NBD customer without repeats may have died


def test_parameter_recovery_on_simulated_data() -> None:
    truth = np.array([0.8, 8.0, 0.7, 12.0])
    summary = simulate_pareto_nbd_summary(6000, *truth, T=np.round(np.linspace(26, 52, 6000) * 7) / 7, seed=3)
    model = ParetoNBD().fit(summary, time_unit="W")
    z = (model.params_.to_numpy() - truth) / model.standard_errors_.to_numpy()
    assert np.all(np.abs(z) < 4), z
