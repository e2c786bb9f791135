from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.clv.gamma_gamma import GammaGamma, IndependenceWarning
from analysis.errors import ModelError

PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


def test_gamma_gamma_cdnow_published(cdnow_gamma_gamma: GammaGamma) -> None:
    """Fader & Hardie (2013): 946 repeat customers, m = mean spend of the repeat purchase days."""
    for name, value in PUBLISHED.items():
        assert cdnow_gamma_gamma.params_[name] == pytest.approx(value, rel=0.01)
    assert cdnow_gamma_gamma.n_customers_ == 946
    assert np.all(cdnow_gamma_gamma.standard_errors_ > 0)


def test_independence_check(cdnow_gamma_gamma: GammaGamma, cdnow_summary: pd.DataFrame) -> None:
    rep = cdnow_summary[cdnow_summary["frequency"] > 0]
    expected = np.corrcoef(rep["frequency"], rep["monetary_value"])[0, 1]
    assert cdnow_gamma_gamma.independence_corr_ == pytest.approx(expected)
    assert abs(expected) < 0.3


def test_correlated_spend_warns() -> None:
    rng = np.random.default_rng(0)
    nu = rng.gamma(4.0, 1 / 15.0, size=2000)  # Gamma-Gamma spend, but heavy spenders buy more often
    x = np.clip(np.round(0.4 / nu), 1, 40)
    m = rng.gamma(6.0 * x, 1 / (nu * x))
    with pytest.warns(IndependenceWarning, match="correlated"):
        model = GammaGamma().fit(pd.DataFrame({"frequency": x, "monetary_value": m}))
    assert model.independence_corr_ > 0.3


def test_expected_spend_formula(cdnow_gamma_gamma: GammaGamma) -> None:
    p, q, v = cdnow_gamma_gamma.params_.to_numpy()
    frame = pd.DataFrame({"frequency": [0, 2, 10], "monetary_value": [np.nan, 22.345, 100.0]}, index=list("abc"))
    spend = cdnow_gamma_gamma.conditional_expected_average_profit(frame)
    pop = p * v / (q - 1)
    assert spend["a"] == pytest.approx(pop)
    assert spend["b"] == pytest.approx(p * (v + 2 * 22.345) / (2 * p + q - 1))
    assert pop < spend["c"] < 100  # shrunk towards the population mean


@pytest.mark.parametrize("bad", [0.0, -5.0, np.nan])
def test_non_positive_spend_is_a_model_error(bad: float) -> None:
    frame = pd.DataFrame({"frequency": [1, 2, 3], "monetary_value": [10.0, bad, 12.0]})
    with pytest.raises(ModelError, match="positive"):
        GammaGamma().fit(frame)


def test_q_at_most_one_has_no_mean_spend(cdnow_gamma_gamma: GammaGamma) -> None:
    model = GammaGamma.from_dict(cdnow_gamma_gamma.to_dict() | {"params": {"p": 6.0, "q": 0.9, "v": 15.0}})
    with pytest.raises(ModelError, match="unbounded") as info:
        model.population_mean_spend()
    assert info.value.code == "infinite_mean_spend" and "penalizer" in str(info.value)


def test_analytic_gradient_matches_finite_differences(cdnow_summary: pd.DataFrame) -> None:
    model = GammaGamma()
    rep = cdnow_summary.loc[cdnow_summary["frequency"] > 0, ["frequency", "monetary_value"]].astype(float)
    data = model._prepare(rep.reset_index(drop=True))
    theta = np.array([5.0, 3.0, 12.0])
    num = np.empty(3)
    for i in range(3):
        e = np.zeros(3)
        e[i] = 1e-6 * theta[i]
        up, down = model._loglik_rows(theta + e, data).sum(), model._loglik_rows(theta - e, data).sum()
        num[i] = (up - down) / (2 * e[i])
    np.testing.assert_allclose(model._grad_rows(theta, data).sum(axis=0), num, rtol=1e-5)
