"""Segment forecast (CLV and run-rate) and backtest, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError, ParamsError
from analysis.strategy.forecast import backtest, customer_forecast, segment_forecast


@pytest.fixture
def customers() -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "segment": ["Champions", "Champions", "Lost"],
            "frequency": [10, 4, 1],
            "monetary": [1000.0, 200.0, 30.0],
            "recency_days": [5, 20, 300],
            "first_purchase": pd.to_datetime(["2023-01-06", "2023-06-01", "2023-03-08"]),
            "last_purchase": pd.to_datetime(["2023-12-27", "2023-12-12", "2023-03-08"]),
            "expected_purchases": [2.0, 1.0, 0.1],
            "spend_per_purchase": [100.0, np.nan, 30.0],
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )
    return df


def test_clv_method(customers: pd.DataFrame) -> None:
    f = customer_forecast(customers)
    assert (f["method"] == "clv").all()
    # b has no spend_per_purchase: falls back to monetary / frequency = 50
    assert f["expected_revenue"].tolist() == pytest.approx([200.0, 50.0, 3.0])
    s = segment_forecast(customers)
    assert s.loc["Champions", "expected_purchases"] == 3.0
    assert s.loc["Champions", "expected_revenue"] == 250.0
    assert s.loc["Lost", "customers"] == 1
    assert s["revenue_share"].sum() == pytest.approx(1.0)


def test_run_rate_method(customers: pd.DataFrame) -> None:
    c = customers.drop(columns=["expected_purchases", "spend_per_purchase"])
    with pytest.raises(ParamsError, match="horizon_days"):
        customer_forecast(c)
    f = customer_forecast(c, horizon_days=90)
    # a: tenure = 355 + 5 = 360 days, 10 purchases -> 10/360*90 = 2.5 purchases x 100 = 250
    assert f.loc["a", "expected_purchases"] == pytest.approx(2.5)
    assert f.loc["a", "expected_revenue"] == pytest.approx(250.0)
    # c: tenure 0 + 300 = 300 -> 1/300*90 = 0.3 purchases x 30
    assert f.loc["c", "expected_revenue"] == pytest.approx(9.0)
    assert (f["method"] == "run_rate").all()


def test_backtest(customers: pd.DataFrame) -> None:
    f = customer_forecast(customers)
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "z", "a"],
            "order_id": ["o1", "o1", "o2", "o3", "o4", "o5"],
            "order_date": pd.to_datetime(
                ["2024-01-05", "2024-01-05", "2024-02-01", "2024-03-01", "2024-01-10", "2024-05-01"]
            ),
            "amount": [60.0, 40.0, 80.0, 70.0, 25.0, 999.0],  # last line is after the period
        }
    )
    bt = backtest(f, tx, "2024-01-01", "2024-03-31")
    ch = bt.loc["Champions"]
    assert ch["customers"] == 2
    assert ch["forecast_purchases"] == 3.0 and ch["actual_purchases"] == 3.0  # a: o1, o2; b: o3
    assert ch["forecast_revenue"] == 250.0 and ch["actual_revenue"] == 250.0
    assert ch["revenue_error"] == 0.0
    lost = bt.loc["Lost"]
    assert lost["actual_revenue"] == 0.0 and np.isnan(lost["revenue_pct_error"])
    assert bt.loc["(new)", "actual_revenue"] == 25.0 and np.isnan(bt.loc["(new)", "forecast_revenue"])
    tot = bt.loc["(all existing)"]
    assert tot["forecast_revenue"] == pytest.approx(253.0) and tot["actual_revenue"] == 250.0
    assert tot["revenue_pct_error"] == pytest.approx(3 / 250)
    assert list(bt.index)[-2:] == ["(new)", "(all existing)"]
    with pytest.raises(InputError, match="no transactions"):
        backtest(f, tx, "2020-01-01", "2020-02-01")


def test_backtest_by_frequency_bucket_nets_returns() -> None:
    """The backtest error by the orders customers had when the forecast was made, with returns netted."""
    from analysis.strategy.forecast import frequency_bucket

    made = pd.DataFrame(
        {"frequency": [1, 2, 4, 12], "expected_purchases": [0.5, 1.0, 2.0, 3.0], "spend_per_purchase": [10.0] * 4},
        index=pd.Index(["a", "b", "c", "d"], name="customer_id"),
    )
    made["frequency_bucket"] = frequency_bucket(made["frequency"])
    assert made["frequency_bucket"].astype(str).tolist() == ["1", "2", "3–4", "10+"]
    tx = pd.DataFrame(
        {"customer_id": ["a", "c", "c", "d", "e"], "order_id": ["1", "2", "3", "4", "5"],
         "order_date": pd.to_datetime(["2024-02-03", "2024-02-05", "2024-02-06", "2024-02-07", "2024-02-08"]),
         "amount": [30.0, 10.0, 10.0, 25.0, 5.0]}
    )  # fmt: skip
    returns = pd.DataFrame(
        {"customer_id": ["d", "d"], "order_date": pd.to_datetime(["2024-02-09", "2024-01-09"]), "amount": [25.0, 7.0]}
    )
    bt = backtest(made, tx, "2024-02-01", "2024-02-29", "frequency_bucket", returns=returns)
    assert list(bt.index) == ["1", "2", "3–4", "10+", "(new)", "(all existing)"]  # buckets in order, not by revenue
    assert bt.loc["1", "actual_purchases"] == 1 and bt.loc["1", "purchases_error"] == -0.5
    assert bt.loc["10+", "actual_purchases"] == 1 and bt.loc["10+", "actual_revenue"] == 0.0  # returned in full
    assert bt.loc["(all existing)", "actual_revenue"] == 50.0 and bt.loc["(all existing)", "forecast_revenue"] == 65.0
    assert bt.loc["(new)", "actual_revenue"] == 5.0 and np.isnan(bt.loc["(new)", "forecast_revenue"])
