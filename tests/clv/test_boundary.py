"""A maximum-likelihood answer on the edge of the parameter space (BG/NBD's a -> 0: no detectable drop-out) is
accepted, said in plain words and predicted stably, instead of failing (issue 18, item 6)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.special import gammaln

from analysis.cli import main
from analysis.clv.bgnbd import BGNBD
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.persist import model_from_dict, model_to_dict
from analysis.clv.pipeline import estimate_customer_value
from analysis.clv.summary import summary_from_transactions


def regular_log(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Customers who never stop: each buys every 7-60 days (± 3) from a start in Jan-Feb 2024 to the year's end."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        gap = int(rng.integers(7, 60))
        day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 60)))
        while day <= pd.Timestamp("2024-12-31"):
            rows.append((f"c{i:03d}", day, float(rng.integers(10, 50))))
            day += pd.Timedelta(days=gap + int(rng.integers(-3, 4)))
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


@pytest.fixture(scope="module")
def summary() -> pd.DataFrame:
    return summary_from_transactions(regular_log(), "2024-09-30", "2024-12-31", "W")


def _nbd_loglik(r: float, alpha: float, s: pd.DataFrame) -> float:
    """The NBD log-likelihood per customer, written out from the summary (independent of the kit's code)."""
    x, T = s["frequency"].to_numpy(float), s["T"].to_numpy(float)
    return float(np.sum(gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)))


@pytest.mark.parametrize("model", [BGNBD, ModifiedBGNBD])
def test_no_dropout_is_the_nbd_limit(model, summary: pd.DataFrame) -> None:
    m = model().fit(summary)
    assert m.boundary_ == "no_dropout" and m.params_["a"] == 0.0 and np.isnan(m.params_["b"])
    r, alpha = m.params_["r"], m.params_["alpha"]
    # the log-likelihood is the NBD one, at its maximum (slope 0 in r and alpha) ...
    assert m.log_likelihood_ == pytest.approx(_nbd_loglik(r, alpha, summary), rel=1e-9)
    for dr, da in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)):
        assert _nbd_loglik(r * (1 + dr), alpha * (1 + da), summary) <= m.log_likelihood_ + 1e-9
    # ... and no interior point of the model does better: a small a gives the same likelihood, larger a less
    red = m._reduce(m._prepare(summary[["frequency", "t_x", "T"]]), np.ones(len(summary)))
    for a, b in ((1e-9, 1.0), (1e-9, 50.0), (0.05, 5.0)):
        ll = m._loglik_grad(np.array([r, alpha, a, b]), red, grad=False)[0]
        assert ll <= m.log_likelihood_ + 1e-6
    assert np.isfinite(m.standard_errors_[["r", "alpha"]]).all()
    # predictions: alive for sure, purchases = t (r + x) / (alpha + T), the formula's limit as a -> 0
    p = m.conditional_probability_alive(summary)
    e = m.conditional_expected_purchases(13.0, summary)
    want = 13.0 * (r + summary["frequency"]) / (alpha + summary["T"])
    assert (p == 1.0).all() and np.allclose(e, want, rtol=1e-12)
    near = copy.copy(m)
    near.params_ = pd.Series([r, alpha, 1e-8, 5.0], index=["r", "alpha", "a", "b"])  # just inside the boundary
    assert np.allclose(near.conditional_expected_purchases(13.0, summary), want, rtol=1e-6)
    back = model_from_dict(json.loads(json.dumps(model_to_dict(m))))  # JSON: b is null, a is 0
    assert back.boundary_ == "no_dropout" and np.allclose(back.conditional_expected_purchases(13.0, summary), want)


def test_customer_value_uses_the_boundary_and_says_what_it_means() -> None:
    value = estimate_customer_value(regular_log(), "2024-12-31", time_unit="W")
    assert value.method == "bgnbd" and value.transaction_model.boundary_ == "no_dropout"
    assert "no detectable drop-out" in value.reason and "P(alive) = 1" in value.reason
    assert "没有发现可检测的流失" in value.reason_text("zh")
    assert (value.customers["p_alive"] == 1.0).all() and (value.customers["clv"] > 0).all()


@pytest.mark.slow  # fits BG/NBD, Pareto/NBD and Gamma-Gamma twice (about 6 s on the shared machine)
def test_rfmkit_clv_succeeds_on_a_boundary_log(tmp_path) -> None:
    log = tmp_path / "log.csv"
    regular_log().to_csv(log, index=False)
    out = tmp_path / "clv"
    res = CliRunner().invoke(
        main, ["clv", str(log), "--calibration-end", "2024-09-30", "--holdout-end", "2024-12-31", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "BG/NBD r=" in res.output and "b=" not in res.output.split("LL=")[0]
    assert "no detectable drop-out" in res.output and "a at 0" in res.output
    params = json.loads((out / "params.json").read_text())
    assert params["bgnbd"]["params"]["a"] == 0.0 and params["bgnbd"]["params"]["b"] is None
    assert params["bgnbd"]["boundary"] == "no_dropout" and params["method"] == "bgnbd"
    assert (out / "customers.csv").exists() and (out / "holdout_errors.json").exists()
