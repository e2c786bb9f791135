"""Each rep's book against its forecast at the period's start, by hand (tests/sales/conftest.py for the CRM rows).

Log: c1 bought from Ann on 2017-06-01 and 2017-11-01 (100 each), then from Bob on 2017-12-10 (300): Ann's book, as
the last purchase before December was Ann's. c2 bought from Bob on 2017-10-01 (50): Bob's book; nothing in December.
c3 first bought on 2017-12-05: in nobody's book.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.sales.book import book_forecast, book_owner
from analysis.sales.inputs import load_sales
from analysis.sales.scorecard import rep_scorecard
from analysis.sales.windows import sales_window
from tests.sales.conftest import crm_frames, crm_params

LOG = pd.DataFrame(
    {
        "customer_id": ["c1", "c1", "c1", "c2", "c3"],
        "order_date": pd.to_datetime(["2017-06-01", "2017-11-01", "2017-12-10", "2017-10-01", "2017-12-05"]),
        "amount": [100.0, 100.0, 300.0, 50.0, 80.0],
        "sales_rep": ["Ann", "Ann", "Bob", "bob", "Bob"],
    }
)
#: Scored at 2017-11-30: a one-year (365-day) CLV forecast.
PREVIOUS = pd.DataFrame(
    {
        "frequency": [2, 1],
        "monetary": [200.0, 50.0],
        "recency_days": [29, 60],
        "first_purchase": pd.to_datetime(["2017-06-01", "2017-10-01"]),
        "last_purchase": pd.to_datetime(["2017-11-01", "2017-10-01"]),
        "expected_purchases": [12.0, 3.65],
        "spend_per_purchase": [100.0, 50.0],
    },
    index=pd.Index(["c1", "c2"], name="customer_id"),
)


def test_book_owner_is_the_rep_of_the_last_purchase_before_the_period() -> None:
    owner = book_owner(LOG, pd.Timestamp("2017-12-01"))
    assert owner.to_dict() == {"c1": "Ann", "c2": "bob"}


def test_the_book_against_its_clv_forecast() -> None:
    data = load_sales(crm_params(funnel={"export_date": "2017-12-31"}), crm_frames())
    window = sales_window("2017-12", data.data_end)
    book, method = book_forecast(PREVIOUS, LOG, window.current, 365.0, pd.Series(["Ann", "Bob"], dtype="string"))
    assert method == "clv"
    ann, bob = 12 * 31 / 365 * 100, 3.65 * 31 / 365 * 50
    assert book.loc["Ann", "book_expected"] == pytest.approx(ann) and book.loc["Ann", "book_revenue"] == 300
    assert book.loc["Bob", "book_expected"] == pytest.approx(bob) and book.loc["Bob", "book_revenue"] == 0
    card = rep_scorecard(data, window, book=book).set_index("sales_rep")
    assert card.loc["Ann", "vs_book"] == pytest.approx(300 / ann)
    assert card.loc["Bob", "above_book"] == pytest.approx(-bob)
    # Bob sold the most (won value 2500, rank 1) but fell short of his book; Ann beat hers: book rank 1
    assert card.loc["Bob", "rank"] == 1 and card.loc["Ann", "book_rank"] == 1
    assert card.loc["Cy", "book_customers"] == 0 and pd.isna(card.loc["Cy", "vs_book"])
    assert pd.isna(card.loc["Cy", "book_rank"]) and pd.isna(card.loc["Cy", "above_book"])  # no book, no book rank


def test_without_clv_columns_the_run_rate_forecast() -> None:
    data = load_sales(crm_params(funnel={"export_date": "2017-12-31"}), crm_frames())
    window = sales_window("2017-12", data.data_end)
    previous = PREVIOUS.drop(columns=["expected_purchases", "spend_per_purchase"])
    book, method = book_forecast(previous, LOG, window.current, None)
    # c1: 2 purchases in 153 + 29 = 182 days of tenure, × 31 days, × 100 per purchase
    assert method == "run_rate" and book.loc["Ann", "book_expected"] == pytest.approx(2 / 182 * 31 * 100)


def test_the_clv_forecast_is_made_at_the_period_start_for_its_days() -> None:
    from analysis.data.clean import clean_transactions
    from analysis.data.sample import generate_transactions
    from analysis.params import CleaningParams
    from analysis.sales.book import clv_at_start
    from analysis.sales.windows import Span

    tx = clean_transactions(generate_transactions(customers=400, seed=3, dirty=False), params=CleaningParams()).clean
    span = Span("2024-12", pd.Timestamp("2024-12-01"), pd.Timestamp("2024-12-31"))
    forecast = clv_at_start(tx, span)
    assert forecast is not None and forecast.index.isin(tx.loc[tx["order_date"] < span.first, "customer_id"]).all()
    # a month's expected purchases are a small fraction of a customer's history, and the total is of the order of
    # what the customers bought in the month before
    revenue = (forecast["expected_purchases"] * forecast["spend_per_purchase"]).sum()
    november = tx.loc[tx["order_date"].between("2024-11-01", "2024-11-30"), "amount"].sum()
    assert 0.3 * november < revenue < 3 * november
    assert clv_at_start(tx, Span("2022-12", pd.Timestamp("2022-12-01"), pd.Timestamp("2022-12-31"))) is None


def test_the_funnel_per_segment_of_the_account_at_the_period_start() -> None:
    from analysis.sales.run import sales_stage

    params = crm_params()
    data = load_sales(params, crm_frames())
    previous = pd.DataFrame({"segment": ["Champions", "At Risk"]}, index=pd.Index(["Acme", "Dyn"], name="customer_id"))
    run = sales_stage(params, "2017-12", data=data, previous=previous)
    t = run.funnel.table
    rows = t.loc[(t["by"] == "segment") & (t["window"] == "period") & (t["stage"] == "Prospecting → Won")]
    row = rows.set_index("group").loc[["Champions", "At Risk"], "advanced"]
    assert row.tolist() == [1, 1]  # Acme's O1 and Dyn's O5 won in December; accounts without a segment are left out
