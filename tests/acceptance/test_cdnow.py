"""The numbers a manager reads on the bundled CDNOW log (2,357 customers, January 1997 – June 1998), through
``params/cdnow.yaml``: each compared with a plain pandas computation on the file as published."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import stages
from analysis.data.store import clean_source
from analysis.datasets import load_cdnow_sample
from analysis.params import load_params
from analysis.strategy.forecast import ALL_EXISTING
from tests.conftest import ROOT

PERIOD = "1998-06"


@pytest.fixture(scope="module")
def run():
    params = load_params(ROOT / "params" / "cdnow.yaml")
    result = clean_source(params)
    c = stages.cleaned(result, PERIOD)
    window = stages.Window(PERIOD)
    s = stages.score(c.transactions, params, window.as_of, window.start, clv_check=False)
    seg = stages.segment_analysis(c.transactions, s, params, PERIOD)
    st = stages.strategy(c.transactions, s, params, PERIOD, returns=c.returns)
    return {"clean": c, "score": s, "segments": seg, "strategy": st}


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    df = load_cdnow_sample()
    return df.assign(day=pd.to_datetime(df["date"], format="%Y%m%d"), dollars=df["dollars"].astype(float))


def test_period_revenue_customers_and_segments(run, raw: pd.DataFrame) -> None:
    june = raw[raw["day"].between("1998-06-01", "1998-06-30")]
    assert run["clean"].revenue_period == pytest.approx(round(june["dollars"].sum(), 2))
    customers = run["score"].customers
    assert len(customers) == raw["sample_id"].nunique() == 2357
    by_hand = raw.groupby("sample_id")["dollars"].sum()
    pd.testing.assert_series_equal(
        customers["monetary"].sort_index(), by_hand.rename("monetary").rename_axis("customer_id").sort_index(),
        check_dtype=False, rtol=1e-9,
    )  # fmt: skip
    assert int(run["segments"].segments["customers"].sum()) == 2357
    kpi = run["segments"].kpi_by_segment
    assert kpi.loc["(all)", "revenue"] == pytest.approx(june["dollars"].sum())
    assert kpi.loc["(all)", "customers"] == june["sample_id"].nunique()


def test_value_at_stake_is_the_models_clv(run) -> None:
    """The models fit on CDNOW (the published data): value at stake is CLV, and there are no returns to net."""
    score, st = run["score"], run["strategy"]
    assert score.clv_value.method == "bgnbd"
    assert st.value.basis == "clv" and st.plan.value_basis == "clv"
    a = st.plan.assignments
    pd.testing.assert_series_equal(a["value_at_stake"], score.customers.loc[a.index, "clv"], check_names=False)
    assert len(a) + st.held_out == 2357  # every customer has an action or is held out to measure it
    assert (st.value.kept_share == 1.0).all()


def test_forecast_and_backtest_by_segment_and_frequency(run, raw: pd.DataFrame) -> None:
    st = run["strategy"]
    assert st.forecast["customers"].sum() == 2357
    june = raw[raw["day"].between("1998-06-01", "1998-06-30")]
    orders = june[["sample_id", "day"]].drop_duplicates()  # no order id: one order per customer and day
    for table in (st.backtest, st.backtest_by_frequency):
        assert table.loc[ALL_EXISTING, "actual_purchases"] == len(orders)
        assert table.loc[ALL_EXISTING, "actual_revenue"] == pytest.approx(june["dollars"].sum())
    buckets = [b for b in st.backtest_by_frequency.index if b != ALL_EXISTING]
    assert buckets == ["1", "2", "3–4", "5–9", "10+"]  # in order of the orders customers had in May
