from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.clv.summary import summary_from_transactions
from analysis.errors import InputError, MissingColumnError


def _log() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "a", "b", "c", "a"],
            "order_date": pd.to_datetime(
                [
                    "2020-01-01 09:00",
                    "2020-01-01 17:30",
                    "2020-01-15",
                    "2020-01-29",
                    "2020-01-08",
                    "2020-02-05",
                    "2020-02-12",
                ],
                format="ISO8601",
            ),
            "amount": [10.0, 5.0, 20.0, 40.0, 7.0, 3.0, 8.0],
            "region": ["x"] * 7,
        }
    )


def test_definitions_on_a_hand_computed_log() -> None:
    s = summary_from_transactions(_log(), "2020-01-29", "2020-02-12", "W")
    assert list(s.index) == ["a", "b"]  # c starts after the calibration end
    a = s.loc["a"]
    assert a["frequency"] == 2  # the two records of 01-01 are one occasion, the first is no repeat
    assert a["t_x"] == pytest.approx(28 / 7)
    assert a["T"] == pytest.approx(28 / 7)  # purchase on the calibration end day: t_x == T
    assert a["monetary_value"] == pytest.approx(30.0)  # mean of 20 and 40; first day excluded
    assert a["frequency_holdout"] == 1 and a["monetary_holdout"] == 8.0 and a["spend_holdout"] == 8.0
    assert a["duration_holdout"] == pytest.approx(2.0)
    b = s.loc["b"]
    assert b["frequency"] == 0 and b["t_x"] == 0 and np.isnan(b["monetary_value"])
    assert b["T"] == pytest.approx(3.0)
    assert np.isnan(b["monetary_holdout"]) and b["frequency_holdout"] == 0
    assert s.index.name == "customer_id"
    assert s.attrs == {"time_unit": "W", "calibration_end": "2020-01-29", "holdout_end": "2020-02-12"}


@pytest.mark.parametrize(("unit", "days"), [("D", 1.0), ("W", 7.0), ("M", 365.25 / 12)])
def test_times_are_days_divided_by_unit_length(unit: str, days: float) -> None:
    s = summary_from_transactions(_log(), "2020-01-29", time_unit=unit)
    assert s.loc["a", "T"] == pytest.approx(28 / days)
    assert s.loc["b", "T"] == pytest.approx(21 / days)
    assert "frequency_holdout" not in s.columns


def test_cdnow_summary_matches_the_published_summary(cdnow_summary: pd.DataFrame) -> None:
    assert len(cdnow_summary) == 2357
    assert (cdnow_summary["frequency"] > 0).sum() == 946
    first = cdnow_summary.loc["0001"]
    assert first["frequency"] == 2
    assert first["t_x"] == pytest.approx(30.43, abs=0.005)
    assert first["T"] == pytest.approx(38.86, abs=0.005)
    assert first["monetary_value"] == pytest.approx((29.73 + 14.96) / 2)
    assert cdnow_summary["duration_holdout"].iloc[0] == pytest.approx(39.0)
    assert cdnow_summary["frequency_holdout"].sum() == 1882


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (lambda t: t.drop(columns="amount"), MissingColumnError, r"lack column\(s\) \['amount'\]"),
        (lambda t: t.assign(amount=-t["amount"]), InputError, "negative 'amount': remove returns"),
        (lambda t: t.assign(order_date=pd.NaT), InputError, "missing or unparsable .* clean the log first"),
    ],
)
def test_bad_transactions_are_rejected(change, error, message: str) -> None:
    with pytest.raises(error, match=message):
        summary_from_transactions(change(_log()), "2020-01-29")


def test_bad_dates_and_units_are_rejected() -> None:
    with pytest.raises(InputError, match="time_unit"):
        summary_from_transactions(_log(), "2020-01-29", time_unit="Y")
    with pytest.raises(InputError, match="after calibration_end"):
        summary_from_transactions(_log(), "2020-01-29", "2020-01-01")
    with pytest.raises(InputError, match="no purchase"):
        summary_from_transactions(_log(), "2019-01-01")
