"""The penalizer chosen by the holdout error of the run's own history, the model check on the same split, and the
run-rate fallback backtested beside it (issue 18, item 6)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.clv.pipeline import fit_clv
from analysis.clv.selection import PENALIZER_GRID, holdout_window, select_penalizer
from analysis.missing import Missing
from analysis.params import RunParams


def _rule(errors: pd.DataFrame) -> float:
    """The one-standard-error rule recomputed from the recorded errors: the first penalizer of the grid whose mean
    squared error is at most the smallest one plus its standard error."""
    ok = errors.dropna(subset=["mse"])
    best = ok["mse"].idxmin()
    return float(ok.index[ok["mse"] <= ok.at[best, "mse"] + ok.at[best, "mse_se"]][0])


def test_holdout_window_is_half_the_history_up_to_26_weeks() -> None:
    assert holdout_window("2024-01-01", "2024-12-31") == (pd.Timestamp("2024-07-02"), pd.Timestamp("2024-12-31"))
    # 100 days of history: half is 50 days, 7 whole weeks = 49 days held back
    assert holdout_window("2024-01-01", "2024-04-10") == (pd.Timestamp("2024-02-21"), pd.Timestamp("2024-04-10"))
    assert holdout_window("2024-01-01", "2024-02-25") is None  # 55 days: under 8 weeks


@pytest.fixture(scope="module")
def cdnow_choice(cdnow_transactions: pd.DataFrame):
    return select_penalizer(cdnow_transactions, "1997-09-30")


def test_cdnow_keeps_plain_maximum_likelihood(cdnow_choice) -> None:
    choice = cdnow_choice
    assert list(choice.errors.index) == list(PENALIZER_GRID) and (choice.errors["failed"] == "").all()
    assert choice.code == "holdout" and choice.penalizer == _rule(choice.errors) == 0.0
    assert choice.calibration_end == pd.Timestamp("1997-05-20")  # 26 weeks before 30 Sep 1997
    # the recorded errors are those of each fit: 1,098 actual holdout purchases of the customers of 1997-01..05-20
    assert (choice.errors["actual_total"] == 1098.0).all()
    assert choice.threshold == pytest.approx(choice.errors["mse"].min() + choice.errors.loc[
        choice.errors["mse"].idxmin(), "mse_se"])  # fmt: skip
    assert "Penalizer 0 (0 = none), chosen among 0, 0.001, 0.01, 0.1" in choice.describe("en")


def test_a_penalizer_is_chosen_where_none_cannot_be_fitted(cdnow_transactions: pd.DataFrame) -> None:
    # 40 customers: too few repeat buyers for plain maximum likelihood, a penalty makes the fit possible
    ids = sorted(cdnow_transactions["customer_id"].unique())[:40]
    choice = select_penalizer(cdnow_transactions[cdnow_transactions["customer_id"].isin(ids)], "1997-12-31")
    assert choice.errors.at[0.0, "failed"] == "too_few_repeat_customers" and np.isnan(choice.errors.at[0.0, "mse"])
    assert choice.penalizer > 0 and choice.penalizer == _rule(choice.errors)


def test_short_history_says_why(cdnow_transactions: pd.DataFrame) -> None:
    choice = select_penalizer(cdnow_transactions, "1997-02-20")  # 50 days of data
    assert choice.code == "short_history" and choice.penalizer == 0.0 and choice.errors.empty
    assert "50 days of history are too few" in choice.describe("en")
    from analysis.stages import _clv_check

    params = RunParams.model_validate({"periods": {"start": "1997-02", "end": "1997-02"}})
    check = _clv_check(cdnow_transactions, pd.Timestamp("1997-02-20"), params, choice)
    assert isinstance(check, Missing) and check.key == "clv_check_short"
    assert check.reason("en").startswith("Model check not run: 50 days of history are too few")


@pytest.mark.slow  # refits Pareto/NBD and Gamma-Gamma on CDNOW (about 7 s on the shared machine)
def test_model_check_shows_the_model_beside_the_run_rate(cdnow_transactions: pd.DataFrame, cdnow_choice) -> None:
    from analysis.stages import _clv_check

    choice = cdnow_choice
    params = RunParams.model_validate({"periods": {"start": "1997-09", "end": "1997-09"}})
    check = _clv_check(cdnow_transactions, pd.Timestamp("1997-09-30"), params, choice)
    assert check.calibration_end == choice.calibration_end and check.fit.penalizer_choice is choice
    assert check.fit.bgnbd is choice.models[0.0]  # the chosen fit on the same split is not made twice
    table = check.by_frequency()
    assert list(table.columns) == ["customers", "holdout_actual", "holdout_expected", "holdout_expected_run_rate"]
    assert table["customers"].sum() == check.errors["customers"] == check.run_rate_errors["customers"]
    # the run-rate estimate's total is the sum over customers of rate x the holdout's weeks x retention, computed
    # by the same function the fallback uses, made at the calibration end
    from analysis.clv.run_rate import run_rate_value

    weeks = (pd.Timestamp("1997-09-30") - choice.calibration_end).days / 7
    rr = run_rate_value(cdnow_transactions, choice.calibration_end, "W", weeks, 0.0)
    assert check.run_rate_errors["expected_total"] == pytest.approx(rr.customers["expected_purchases"].sum())
    assert check.errors["actual_total"] == check.run_rate_errors["actual_total"] == 1098.0
    assert abs(check.errors["total_error_pct"]) < abs(check.run_rate_errors["total_error_pct"])


@pytest.mark.slow  # chooses the penalizer and fits every model on CDNOW (about 6 s)
def test_fit_clv_records_the_choice(cdnow_transactions: pd.DataFrame, tmp_path) -> None:
    import json

    from analysis.clv.pipeline import write_clv

    result = fit_clv(cdnow_transactions, "1997-09-30", "1998-06-30", penalizer="auto")
    assert result.penalizer == 0.0 and result.penalizer_choice.code == "holdout"
    assert result.bgnbd.params_["r"] == pytest.approx(0.243, rel=0.01)  # the published fit, with the chosen 0
    saved = json.loads(write_clv(result, tmp_path)["params"].read_text())
    assert saved["penalizer"] == 0.0 and saved["penalizer_choice"]["how"] == "holdout"
    assert [row["penalizer"] for row in saved["penalizer_choice"]["errors"]] == list(PENALIZER_GRID)


def test_an_engines_big_log_is_not_read_again_to_choose(cdnow_transactions: pd.DataFrame, monkeypatch) -> None:
    from analysis.clv import pipeline
    from analysis.clv.summary import summary_from_transactions

    monkeypatch.setattr(pipeline, "SELECTION_MAX_CUSTOMERS", 1000)  # CDNOW's 2,357 customers count as big here

    def unread() -> pd.DataFrame:
        raise AssertionError("the log was read again")

    summary = summary_from_transactions(cdnow_transactions, "1997-09-30", None, "W")
    value = pipeline.estimate_customer_value(unread, "1997-09-30", penalizer="auto", summary=summary)
    assert value.penalizer_choice.code == "large_log" and value.penalizer_choice.penalizer == 0.0
    assert value.penalizer_choice.describe("en").startswith("Penalizer 0 (plain maximum likelihood): with 2,357")


def test_without_a_model_the_run_rate_is_still_checked() -> None:
    from analysis.stages import CLVCheck, _clv_check

    rows = [("i", "2024-01-01", 5.0), ("a", "2024-03-01", 10.0), ("a", "2024-09-01", 30.0)]
    rows += [(c, "2024-02-01", 20.0) for c in "bcdefgh"]
    log = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"])
    )
    params = RunParams.model_validate({"periods": {"start": "2024-12", "end": "2024-12"}})
    check = _clv_check(log, pd.Timestamp("2024-12-31"), params)
    # up to 2 July (26 weeks held back) nobody has bought twice: no purchase model, but the run rate is checked
    assert isinstance(check, CLVCheck) and check.fit is None
    assert check.calibration_end == pd.Timestamp("2024-07-02")
    e = check.run_rate_errors
    assert (e["customers"], e["actual_total"], e["expected_total"]) == (9, 1.0, 0.0)  # a's 1 Sep purchase
    assert list(check.by_frequency().columns) == ["customers", "holdout_actual", "holdout_expected_run_rate"]
