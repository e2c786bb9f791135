from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.clv.persist import model_from_dict
from analysis.clv.pipeline import customer_value, fit_clv, write_clv
from analysis.clv.simulate import simulate_transaction_log

CALIBRATION_END, HOLDOUT_END = "1997-09-30", "1998-06-30"


@pytest.fixture(scope="module")
def cdnow_result(cdnow_transactions: pd.DataFrame):
    return fit_clv(cdnow_transactions, CALIBRATION_END, HOLDOUT_END, time_unit="W")


def test_fit_clv_and_files(cdnow_result, tmp_path) -> None:
    paths = write_clv(cdnow_result, tmp_path / "clv")
    params = json.loads(paths["params"].read_text())
    expected = {
        "bgnbd": {"r", "alpha", "a", "b"},
        "pareto_nbd": {"r", "alpha", "s", "beta"},
        "gamma_gamma": {"p", "q", "v"},
    }
    for name, names in expected.items():  # every block in the one fitted-model format, loadable as a model
        assert set(params[name]["params"]) == names and params[name]["model"] == name
        assert {"log_likelihood", "standard_errors", "covariance", "time_unit"} <= set(params[name])
        assert model_from_dict(params[name]).params_.to_dict() == pytest.approx(params[name]["params"])
    assert params["time_unit"] == "W"
    assert (params["calibration_end"], params["holdout_end"]) == (CALIBRATION_END, HOLDOUT_END)
    assert params["bgnbd"]["params"]["r"] == pytest.approx(0.243, rel=0.01)
    customers = pd.read_csv(paths["customers"], dtype={"customer_id": str})
    assert len(customers) == 2357 and customers["customer_id"].is_unique
    for col in [
        "customer_id",
        "frequency",
        "t_x",
        "T",
        "monetary_value",
        "p_alive",
        "expected_purchases",
        "spend_per_purchase",
        "clv",
        "clv_pnbd",
    ]:
        assert col in customers.columns
    assert (customers["clv"] >= 0).all() and customers["clv"].notna().all()
    by_freq = pd.read_csv(paths["holdout_by_frequency"])
    assert {"expected_bgnbd", "expected_pareto_nbd", "actual"} <= set(by_freq.columns)
    tracking = pd.read_csv(paths["tracking"])
    assert len(tracking) == 78
    errors = json.loads(paths["holdout_errors"].read_text())
    assert errors["bgnbd"]["actual_total"] == 1882


def test_fit_clv_without_holdout(cdnow_transactions: pd.DataFrame, tmp_path) -> None:
    result = fit_clv(cdnow_transactions, "1998-06-30", time_unit="M", horizon=12, discount_rate=0.01)
    assert result.holdout_by_frequency is None and result.bgnbd.time_unit_ == "M"
    paths = write_clv(result, tmp_path)
    assert set(paths) == {"params", "customers"}


def test_customer_value_columns(cdnow_transactions: pd.DataFrame) -> None:
    cv = customer_value(cdnow_transactions, "1998-06-30", horizon=52)
    assert list(cv.columns) == ["p_alive", "expected_purchases", "spend_per_purchase", "expected_spend_horizon", "clv"]
    assert cv.index.name == "customer_id" and len(cv) == 2357
    assert np.isfinite(cv.to_numpy()).all() and (cv["clv"] >= 0).all()


def test_simulated_log_end_to_end() -> None:
    log = simulate_transaction_log(3000, start="2023-01-01", end="2024-06-30", seed=5)
    result = fit_clv(log, "2023-09-30", "2024-06-30")
    truth = np.array([0.243, 4.414, 0.793, 2.426])
    z = (result.bgnbd.params_.to_numpy() - truth) / result.bgnbd.standard_errors_.to_numpy()
    assert np.all(np.abs(z) < 4), z
    assert abs(result.holdout_errors["bgnbd"]["total_error_pct"]) < 15


def test_zero_spend_repeaters_do_not_stop_customer_value(cdnow_transactions: pd.DataFrame) -> None:
    tx = cdnow_transactions.copy()
    first = tx["customer_id"] == "0001"
    tx.loc[first & (tx["order_date"] > "1997-01-01"), "amount"] = 0.0  # only free repeat orders
    with pytest.warns(UserWarning, match="zero repeat spend"):
        cv = customer_value(tx, "1997-09-30")
    assert cv.loc["0001", "spend_per_purchase"] > 0 and np.isfinite(cv.to_numpy()).all()
