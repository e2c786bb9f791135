from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.clv.bgnbd import BGNBD
from analysis.clv.summary import purchase_occasions
from analysis.clv.validation import holdout_by_frequency, holdout_errors, tracking_curve

CALIBRATION_END, HOLDOUT_END = "1997-09-30", "1998-06-30"


def test_holdout_by_frequency(cdnow_bgnbd: BGNBD, cdnow_summary: pd.DataFrame) -> None:
    table = holdout_by_frequency(cdnow_bgnbd, cdnow_summary)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert table["customers"].sum() == 2357 and table.loc["0", "customers"] == 1411
    assert table["actual_total"].sum() == cdnow_summary["frequency_holdout"].sum()
    assert table.loc["7+", "actual"] == pytest.approx(
        cdnow_summary.loc[cdnow_summary["frequency"] >= 7, "frequency_holdout"].mean()
    )
    assert table["expected"].is_monotonic_increasing  # more past purchases, more future ones


def test_holdout_errors(cdnow_bgnbd: BGNBD, cdnow_summary: pd.DataFrame) -> None:
    err = holdout_errors(cdnow_bgnbd, cdnow_summary)
    expected = cdnow_bgnbd.conditional_expected_purchases(39.0, cdnow_summary)
    diff = expected - cdnow_summary["frequency_holdout"]
    assert err["mae"] == pytest.approx(diff.abs().mean())
    assert err["rmse"] == pytest.approx(np.sqrt((diff**2).mean()))
    assert err["actual_total"] == 1882
    assert err["total_error_pct"] == pytest.approx(100 * (expected.sum() - 1882) / 1882)
    assert abs(err["total_error_pct"]) < 20


def test_tracking_curve(cdnow_bgnbd: BGNBD, cdnow_transactions: pd.DataFrame) -> None:
    track = tracking_curve(cdnow_bgnbd, cdnow_transactions, CALIBRATION_END, HOLDOUT_END)
    assert len(track) == 78  # 545 days = 77.9 weeks
    occ = purchase_occasions(cdnow_transactions)
    repeats = len(occ) - occ["customer_id"].nunique()
    assert track["actual_cumulative"].iloc[-1] == repeats
    assert track["actual"].sum() == repeats
    assert track["expected_cumulative"].is_monotonic_increasing
    assert track["in_calibration"].sum() == 38
    # the model tracks the calibration period closely (FHL 2005 fig. 3)
    at_cal = track.loc[track["in_calibration"]].iloc[-1]
    assert at_cal["expected_cumulative"] == pytest.approx(at_cal["actual_cumulative"], rel=0.05)
