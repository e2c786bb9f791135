"""Value at stake: CLV or the run-rate estimate, net of returns; never all-time spend."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.clv.run_rate import run_rate_value
from analysis.customers.rfm import score_customers
from analysis.strategy.value import returns_by_customer, value_at_stake


@pytest.fixture
def log() -> pd.DataFrame:
    rows = [
        # a: a big spender years ago, nothing since 2022
        ("a", "2021-03-01", 5_000.0), ("a", "2022-01-15", 5_000.0),
        # b: buys every month this year
        *[("b", f"2024-{m:02d}-05", 100.0) for m in range(1, 7)],
        # c: one order, half returned
        ("c", "2024-05-20", 400.0),
    ]  # fmt: skip
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    return tx


def test_without_clv_the_run_rate_estimate_not_all_time_spend(log: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2024-06-30")
    customers = score_customers(log, as_of).customers
    v = value_at_stake(customers, transactions=log, as_of=as_of, time_unit="W", horizon=52, discount_rate=0.002)
    assert v.basis == "run_rate" and v.horizon == 52 and v.time_unit == "W"
    expected = run_rate_value(log, as_of, "W", 52, 0.002).customers["clv"]
    assert v.values.to_dict() == pytest.approx(expected.to_dict())
    # a spent 10,000 all time, one repeat purchase in over three years: a year's run rate is far below that
    assert v.values["a"] < 0.2 * customers.loc["a", "monetary"]


def test_returns_are_netted_and_clv_is_scaled_by_the_kept_share(log: pd.DataFrame) -> None:
    as_of = pd.Timestamp("2024-06-30")
    customers = score_customers(log, as_of).customers.assign(clv=[100.0, 900.0, 300.0])
    returns = pd.DataFrame(
        {"customer_id": ["c", "c", None], "order_date": pd.to_datetime(["2024-05-21", "2024-07-02", "2024-05-01"]),
         "amount": [200.0, 50.0, 10.0]}
    )  # fmt: skip
    assert returns_by_customer(returns, as_of).to_dict() == {"c": 200.0}  # after as_of and without id: not counted
    v = value_at_stake(customers, returns=returns, as_of=as_of)
    assert v.basis == "clv"
    assert v.monetary_net.to_dict() == {"a": 10_000.0, "b": 600.0, "c": 200.0}
    assert v.kept_share["c"] == 0.5 and v.values.to_dict() == {"a": 100.0, "b": 900.0, "c": 150.0}
    run_rate = value_at_stake(customers, returns=returns, as_of=as_of, method="run_rate")
    assert run_rate.basis == "run_rate" and run_rate.values["c"] == 150.0  # labelled as the estimate it is
    bare = value_at_stake(customers.drop(columns="clv"), returns=returns, as_of=as_of)
    assert bare.basis == "net_spend" and bare.values["c"] == 200.0 and bare.horizon is None
