"""The next-period forecast: the purchase model's expected purchases or the run rate, whichever erred less when both
were made at the previous period's end (issue 18, item 6), hand-computed on a tiny log."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.clv.bgnbd import BGNBD
from analysis.clv.summary import summary_from_transactions
from analysis.missing import Missing
from analysis.strategy.forecast import (
    backtest,
    choose_method,
    customer_forecast,
    describe_choice,
    model_forecast,
    orders_per_occasion,
)

AS_OF = pd.Timestamp("2023-12-31")
ONE = pd.Series(1.0, index=pd.Index(["a", "b", "c"], name="customer_id"))  # one order per purchase day


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": ["Champions", "Champions", "Lost"],
            "frequency": [10, 4, 1],
            "monetary": [1000.0, 200.0, 30.0],
            "recency_days": [4, 19, 298],
            "first_purchase": pd.to_datetime(["2023-01-06", "2023-06-01", "2023-03-08"]),
            "last_purchase": pd.to_datetime(["2023-12-27", "2023-12-12", "2023-03-08"]),
        },
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )


@pytest.fixture
def summary() -> pd.DataFrame:
    """BG/NBD summary as of 31 Dec 2023 in weeks: repeat purchase days, first to last, first to 31 Dec."""
    return pd.DataFrame(
        {"frequency": [9.0, 3.0, 0.0], "t_x": [355 / 7, 194 / 7, 0.0], "T": [359 / 7, 213 / 7, 298 / 7]},
        index=pd.Index(["a", "b", "c"], name="customer_id"),
    )


@pytest.fixture
def model() -> BGNBD:
    """A BG/NBD at the no-drop-out boundary (r = 1, alpha = 10 weeks, a = 0): expected purchases t (r + x) / (alpha + T)
    can be written down by hand."""
    state = {"model": "bgnbd", "time_unit": "W", "params": {"r": 1.0, "alpha": 10.0, "a": 0.0, "b": None},
             "standard_errors": {"r": 0.1, "alpha": 1.0, "a": None, "b": None}, "boundary": "no_dropout"}  # fmt: skip
    return BGNBD.from_dict(state)


def _january(orders_a: int) -> pd.DataFrame:
    rows = [("a", f"2024-01-{2 + 3 * k:02d}", 100.0) for k in range(orders_a)] + [("d", "2024-01-15", 40.0)]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    return tx


def test_model_forecast_is_the_conditional_expectation(customers, summary, model) -> None:
    f = model_forecast(customers, model, summary, horizon_days=31, orders_per_occasion=ONE)
    t = 31 / 7
    want = [t * (1 + 9) / (10 + 359 / 7), t * (1 + 3) / (10 + 213 / 7), t * (1 + 0) / (10 + 298 / 7)]
    assert f["expected_purchases"].tolist() == pytest.approx(want, rel=1e-12)
    assert f["spend_per_purchase"].tolist() == [100.0, 50.0, 30.0] and (f["method"] == "model").all()
    assert f["expected_revenue"].tolist() == pytest.approx([w * s for w, s in zip(want, [100, 50, 30], strict=True)])


@pytest.mark.parametrize(("orders_a", "chosen"), [(1, "model"), (3, "run_rate")])
def test_the_method_with_the_smaller_backtest_error_is_chosen(customers, summary, model, orders_a, chosen) -> None:
    made = {
        "model": model_forecast(customers, model, summary, horizon_days=31, orders_per_occasion=ONE),
        "run_rate": customer_forecast(customers, horizon_days=31),
    }
    tested = {m: backtest(f, _january(orders_a), "2024-01-01", "2024-01-31") for m, f in made.items()}
    table = choose_method(tested)
    t = 31 / 7
    model_champions = t * 10 / (10 + 359 / 7) + t * 4 / (10 + 213 / 7)
    model_lost = t * 1 / (10 + 298 / 7)
    # run rate: orders / max(days first to last + days since last, 90) x 31 days
    rr_champions = 10 / (355 + 4) * 31 + 4 / (194 + 19) * 31
    rr_lost = 1 / (0 + 298) * 31
    # actual: a bought orders_a times in January (Champions), b and c not at all; d is new (not forecast)
    want = {
        "model": abs(model_champions - orders_a) + model_lost,
        "run_rate": abs(rr_champions - orders_a) + rr_lost,
    }
    assert table["segment_error"].to_dict() == pytest.approx(want)
    assert table["actual_purchases"].tolist() == [orders_a, orders_a]
    assert table.index[table["chosen"]].tolist() == [chosen] == [min(want, key=want.get)]
    sentence = describe_choice(chosen, table, "en", "2024-01-01", "2024-01-31")
    assert sentence.startswith("Forecast by the " + ("purchase model" if chosen == "model" else "run rate"))
    assert "2024-01-01 to 2024-01-31" in sentence and f"{want[chosen]:,.1f}" in sentence


def test_a_tie_goes_to_the_purchase_model() -> None:
    same = pd.DataFrame(
        {"forecast_purchases": [2.0, 2.0], "actual_purchases": [2.0, 2.0], "purchases_error": [0.0, 0.0],
         "purchases_pct_error": [0.0, 0.0]},
        index=pd.Index(["S", "(all existing)"], name="segment"),
    )  # fmt: skip
    table = choose_method({"model": same, "run_rate": same})
    assert table["chosen"].tolist() == [True, False]


def test_no_previous_period_says_why() -> None:
    text = describe_choice("model", Missing("no_previous"), "en")
    assert text.startswith("Forecast by the purchase model (each customer's expected purchases); it could not be")
    assert describe_choice("run_rate", Missing("no_previous"), "zh").startswith("预测采用按迄今日均购买推算")


def test_model_and_backtest_count_orders_on_an_invoice_level_log(model) -> None:
    """Two invoices (£50 each) on the 5th of every month of 2023: 12 purchase days, 24 orders. The model counts purchase
    days, the run rate and the backtest count orders: the model's days are turned into orders (× 2) and valued at the
    spend per order (£50), i.e. £100 per purchase day."""
    rows = [(f"a{m}{k}", "a", f"2023-{m:02d}-05", 50.0) for m in range(1, 13) for k in (1, 2)]
    rows += [("j1", "a", "2024-01-05", 50.0), ("j2", "a", "2024-01-05", 50.0)]
    tx = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    history = tx[tx["order_date"] <= AS_OF]
    ratio = orders_per_occasion(tx, AS_OF)  # January 2024 is after the forecast date: not counted
    assert ratio.to_dict() == {"a": 2.0}
    summary = summary_from_transactions(history, AS_OF, None, "W")
    customers = pd.DataFrame(
        {"segment": ["Loyal"], "frequency": [24], "monetary": [1200.0]}, index=pd.Index(["a"], name="customer_id")
    )
    f = model_forecast(customers, model, summary, horizon_days=31, orders_per_occasion=ratio)
    # BG/NBD at a = 0: t (r + x) / (alpha + T) purchase days; x = 11 repeat days, T = 5 Jan to 31 Dec = 360 days
    days = 31 / 7 * (1 + 11) / (10 + 360 / 7)
    assert f.at["a", "expected_purchases"] == pytest.approx(2 * days, rel=1e-12)
    assert f.at["a", "expected_revenue"] == pytest.approx(days * 100.0, rel=1e-12)
    bt = backtest(f, tx, "2024-01-01", "2024-01-31")
    assert bt.at["Loyal", "actual_purchases"] == 2  # two orders in January, one purchase day
    assert bt.at["Loyal", "forecast_purchases"] == pytest.approx(2 * days, rel=1e-12)
    assert bt.at["Loyal", "purchases_error"] == pytest.approx(2 * days - 2, rel=1e-12)
