"""Graded sales report on a tiny hand-made log."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.customers.kpi import kpi_totals, order_keys, sales_rep_report, sales_report
from analysis.errors import InputError, ParamsError

START, END = "2024-02-01", "2024-02-29"  # previous: 2024-01-03..01-31; a year earlier: 2023-02-01..02-28


@pytest.fixture
def tx() -> pd.DataFrame:
    rows = [
        ("c1", "o1", "2023-02-10", 100.0, "N", 60.0, "ann"),
        ("c1", "o2", "2024-01-15", 50.0, "N", 30.0, "ann"),
        ("c1", "o3", "2024-02-05", 80.0, "N", 40.0, "ann"),
        ("c1", "o3", "2024-02-05", 20.0, "N", 10.0, "ann"),  # same order, second line
        ("c1", "o4", "2024-02-20", 40.0, "S", 20.0, "bob"),
        ("c2", None, "2024-01-20", 30.0, "S", 15.0, "bob"),
        ("c2", None, "2024-02-10 09:00", 60.0, "S", 30.0, "bob"),
        ("c2", None, "2024-02-10 17:00", 10.0, "S", 5.0, "bob"),  # same day, no order id -> same order
        ("c3", "o5", "2024-02-15", 90.0, "N", 45.0, "ann"),  # new customer
        ("c4", "o6", "2024-01-25", 70.0, "N", 35.0, "ann"),  # bought last period only
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount", "region", "cost", "sales_rep"])
    df["order_date"] = pd.to_datetime(df["order_date"], format="ISO8601")
    return df


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {"segment": ["Champions", "At Risk", "New Customers", "Lost"]},
        index=pd.Index(["c1", "c2", "c3", "c4"], name="customer_id"),
    )


def test_order_keys(tx: pd.DataFrame) -> None:
    k = order_keys(tx)
    assert k.nunique() == 8
    assert k.iloc[6] == k.iloc[7]


def test_by_segment(tx: pd.DataFrame, customers: pd.DataFrame) -> None:
    r = sales_report(tx, START, END, by="segment", customers=customers)
    assert list(r.index) == ["Champions", "New Customers", "At Risk", "Lost", "(all)"]
    ch = r.loc["Champions"]
    assert ch["revenue"] == 140.0
    assert ch["orders"] == 2 and ch["customers"] == 1 and ch["new_customers"] == 0
    assert ch["aov"] == 70.0
    assert ch["repeat_rate"] == 1.0
    assert ch["retention_rate"] == 1.0 and ch["churn_rate"] == 0.0
    assert ch["gross_margin"] == 70.0 and ch["gross_margin_pct"] == 0.5
    assert ch["revenue_prev"] == 50.0 and ch["revenue_growth"] == pytest.approx(1.8)
    assert ch["revenue_yoy"] == 100.0 and ch["revenue_yoy_growth"] == pytest.approx(0.4)
    assert ch["revenue_share"] == pytest.approx(140 / 300)
    ar = r.loc["At Risk"]
    assert ar["orders"] == 1 and ar["repeat_rate"] == 0.0
    assert ar["revenue_growth"] == pytest.approx(70 / 30 - 1)
    assert np.isnan(ar["revenue_yoy_growth"])
    nc = r.loc["New Customers"]
    assert nc["new_customers"] == 1 and np.isnan(nc["retention_rate"])
    lost = r.loc["Lost"]  # sold last period, not now
    assert lost["revenue"] == 0 and lost["retention_rate"] == 0.0 and lost["churn_rate"] == 1.0
    tot = r.loc["(all)"]
    assert tot["revenue"] == 300.0 and tot["orders"] == 4 and tot["customers"] == 3
    assert tot["new_customers"] == 1 and tot["aov"] == 75.0
    assert tot["repeat_rate"] == pytest.approx(1 / 3)
    assert tot["retention_rate"] == pytest.approx(2 / 3)  # c1, c2 of c1, c2, c4
    assert tot["revenue_growth"] == pytest.approx(1.0) and tot["revenue_yoy_growth"] == pytest.approx(2.0)
    assert tot["gross_margin_pct"] == pytest.approx(0.5)


def test_by_region_and_cross(tx: pd.DataFrame, customers: pd.DataFrame) -> None:
    r = sales_report(tx, START, END, by="region", total=False)
    assert r.loc["N", "revenue"] == 190.0 and r.loc["S", "revenue"] == 110.0
    assert r.loc["N", "retention_rate"] == 0.5  # c1 and c4 bought in N last period; c1 again
    assert r.loc["S", "retention_rate"] == 1.0
    assert r.loc["N", "new_customers"] == 1
    x = sales_report(tx, START, END, by=["segment", "region"], customers=customers)
    assert x.loc[("Champions", "S"), "revenue"] == 40.0
    assert x.loc[("Champions", "N"), "orders"] == 1
    assert x.loc[("(all)", "(all)"), "revenue"] == 300.0
    assert x.index.names == ["segment", "region"]


def test_without_cost_and_unknown_customers(tx: pd.DataFrame, customers: pd.DataFrame) -> None:
    r = sales_report(tx.drop(columns="cost"), START, END, customers=customers.drop("c3"))
    assert "gross_margin" not in r.columns
    assert r.loc["(unknown)", "revenue"] == 90.0


def test_sales_rep_and_totals(tx: pd.DataFrame) -> None:
    rep = sales_rep_report(tx, START, END)
    assert rep.loc["ann", "revenue"] == 190.0 and rep.loc["ann", "rank"] == 1
    assert rep.loc["bob", "rank"] == 2 and np.isnan(rep.loc["(all)", "rank"])
    t = kpi_totals(tx, START, END)
    assert t["revenue"] == 300.0 and t["customers"] == 3
    with pytest.raises(InputError, match="sales_rep"):
        sales_rep_report(tx.drop(columns="sales_rep"), START, END)


def test_errors(tx: pd.DataFrame) -> None:
    with pytest.raises(InputError, match=r"abc_class.*abc_classes"):
        sales_report(tx, START, END, by="abc_class")
    with pytest.raises(ParamsError, match="before start"):
        sales_report(tx, END, START)
    with pytest.raises(InputError, match="amount"):
        sales_report(tx.drop(columns="amount"), START, END)


def test_kpi_bar_chart_smoke(tx: pd.DataFrame, customers: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report.plots.segmentation import kpi_bar_chart

    r = sales_report(tx, START, END, by=["segment", "region"], customers=customers)
    ax = kpi_bar_chart(r, "revenue")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "(all) × (all)" not in labels and "Champions × N" in labels
    ax2 = kpi_bar_chart(sales_report(tx, START, END, by="region"), "retention_rate")
    assert len(ax2.patches) == 2
    plt.close("all")


def test_segments_are_followed_from_the_previous_period(tx: pd.DataFrame, customers: pd.DataFrame) -> None:
    """Last period's groups are followed into this one: no 100 % retention or +1,000 % growth by construction."""
    # at the end of January c1 was Loyal, c2 and c4 were New Customers (c3 had not bought yet)
    before = pd.DataFrame(
        {"segment": ["Loyal Customers", "New Customers", "New Customers"]},
        index=pd.Index(["c1", "c2", "c4"], name="customer_id"),
    )
    circular = sales_report(tx, START, END, by="segment", customers=customers)
    assert circular.loc["Champions", "retention_rate"] == 1.0  # today's Champions bought, by definition
    r = sales_report(tx, START, END, by="segment", customers=customers, previous_customers=before)
    # January's New Customers: c2 (30) and c4 (70) bought in January; c2 came back in February, c4 did not
    new = r.loc["New Customers"]
    assert new["revenue_prev"] == 100.0 and new["customers_prev"] == 2
    assert new["retention_rate"] == 0.5  # c2 bought again (as At Risk now): followed, whatever the segment now
    assert new["revenue"] == 90.0 and new["revenue_growth"] == pytest.approx(90 / 100 - 1)  # c3, new this period
    loyal = r.loc["Loyal Customers"]  # January's Loyal customer c1 bought again (as a Champion)
    assert loyal["revenue_prev"] == 50.0 and loyal["retention_rate"] == 1.0 and loyal["revenue"] == 0.0
    champions = r.loc["Champions"]  # nobody was a Champion in January: nothing to compare with
    assert np.isnan(champions["retention_rate"]) and np.isnan(champions["revenue_prev"])
    assert np.isnan(champions["revenue_yoy"])  # a year ago without that year's segments: unknown, not circular
    # the total is not a customer attribute: unchanged
    assert r.loc["(all)", "retention_rate"] == circular.loc["(all)", "retention_rate"] == pytest.approx(2 / 3)
    a_year_ago = pd.DataFrame({"segment": ["Champions"]}, index=pd.Index(["c1"], name="customer_id"))
    y = sales_report(tx, START, END, by="segment", customers=customers, previous_customers=before,
                     year_ago_customers=a_year_ago)  # fmt: skip
    assert y.loc["Champions", "revenue_yoy"] == 100.0 and y.loc["Champions", "revenue_yoy_growth"] == pytest.approx(0.4)
    assert np.isnan(y.loc["New Customers", "revenue_yoy"])  # no New Customer a year ago
    # a transaction attribute beside a followed one still has to match (bought again in the same region)
    x = sales_report(tx, START, END, by=["segment", "region"], customers=customers, previous_customers=before)
    assert x.loc[("New Customers", "S"), "retention_rate"] == 1.0  # c2 bought in S in both months
    assert x.loc[("New Customers", "N"), "retention_rate"] == 0.0  # c4 (N) did not come back
