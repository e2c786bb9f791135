"""Churn early warning: who is warned, why, and in which order."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.strategy.churn import churn_reasons, churn_warnings, trailing_revenue


@pytest.fixture
def customers() -> pd.DataFrame:
    as_of = pd.Timestamp("2024-01-01")
    df = pd.DataFrame(
        {
            # total 1000: a (before 0) and b (before .5) are A; c (.8), d (.9) are B; e (.96) is C
            "monetary": [500.0, 300.0, 100.0, 60.0, 40.0],
            "recency_days": [100, 40, 200, 10, 500],
            "frequency": [5, 3, 1, 1, 1],
            "segment": ["At Risk", "Loyal Customers", "Hibernating", "Promising", "Lost"],
        },
        index=pd.Index(list("abcde"), name="customer_id"),
    )
    df["last_purchase"] = as_of - pd.to_timedelta(df["recency_days"], "D")
    span = pd.to_timedelta([265, 20, 0, 0, 0], "D")  # a: usual gap 265/4 = 66.25 d; b: 20/2 = 10 d
    df["first_purchase"] = df["last_purchase"] - span
    return df


def test_without_clv(customers: pd.DataFrame) -> None:
    w = churn_warnings(customers)
    assert list(w.index) == ["a", "b"]  # c and e are silent but not valuable (B, C tiers)
    assert w["rank"].tolist() == [1, 2]
    assert (w["value_basis"] == "monetary").all()
    assert w[["silent", "late"]].to_numpy().tolist() == [[True, False], [False, True]]
    en, zh = churn_reasons(w, "en"), churn_reasons(w, "zh")
    assert en["a"] == "A-tier customer: no purchase for 100 days (warning after 90)."
    assert en["b"] == "A-tier customer: usually buys every 10 days but has been silent for 40."
    assert zh["a"] == "A类客户：已100天未购买（预警阈值90天）。"
    assert zh["b"] == "A类客户：通常每10天购买一次，但已40天未购买。"
    assert "reason_zh" not in w.columns and "reason" not in w.columns  # words are built by language
    assert w["churn_warning"].all()


def test_with_clv_and_p_alive(customers: pd.DataFrame) -> None:
    c = customers.assign(clv=[10.0, 20.0, 1000.0, 5.0, 1.0], p_alive=[0.9, 0.9, 0.3, 0.1, 0.1])
    w = churn_warnings(c)
    # c is valuable by CLV (top 10 %), silent for 200 days and P(alive) 0.3 < 0.5
    assert list(w.index) == ["c", "b", "a"]
    assert (w["value_basis"] == "clv").all()
    reason = churn_reasons(w, "en")["c"]
    assert reason == "top-10% CLV customer: no purchase for 200 days (warning after 90); P(alive) is 0.30 (below 0.50)."
    assert churn_reasons(w, "zh")["c"] == "CLV前10%客户：已200天未购买（预警阈值90天）；活跃概率0.30（低于0.50）。"
    assert churn_reasons(w.head(0), "en").empty
    assert "d" not in w.index  # P(alive) 0.1 but neither A nor top CLV


def test_trailing_revenue_basis(customers: pd.DataFrame) -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "b"],
            "order_date": pd.to_datetime(["2022-06-01", "2023-09-23", "2023-11-02", "2023-11-12", "2023-11-22"]),
            "amount": [450.0, 50.0, 100.0, 100.0, 100.0],
        }
    )
    assert trailing_revenue(tx, "2024-01-01").to_dict() == {"a": 50.0, "b": 300.0}
    w = churn_warnings(customers, transactions=tx)
    assert list(w.index) == ["b", "a"]  # b has more revenue in the last 12 months
    assert (w["value_basis"] == "revenue_12m").all()


def test_thresholds_and_errors(customers: pd.DataFrame) -> None:
    assert churn_warnings(customers, max_recency_days=150, gap_multiple=10).empty
    w = churn_warnings(customers, max_recency_days=60)
    assert churn_reasons(w, "en")["a"] == "A-tier customer: no purchase for 100 days (warning after 60)."
    with pytest.raises(InputError, match="recency_days"):
        churn_warnings(customers.drop(columns="recency_days"))


def test_usual_gap_counts_purchase_days_and_returns_are_netted() -> None:
    """Three orders on one day are one purchase day; a big order cancelled the same day makes nobody valuable."""
    as_of = pd.Timestamp("2024-04-15")
    rows = [
        # x buys three orders on one day each month, then stops: usual gap 31 days, silent for 74
        *[("x", f"x{m}{k}", f"2024-{m:02d}-01", 100.0) for m in (1, 2) for k in range(3)],
        # y bought once for 50,000 and cancelled it the same day, plus two small orders
        ("y", "y1", "2024-01-10", 50_000.0), ("y", "y2", "2024-01-20", 20.0), ("y", "y3", "2024-01-30", 20.0),
        # z: steady, recent
        *[("z", f"z{d}", f"2024-03-{d:02d}", 40.0) for d in (1, 15, 29)],
    ]  # fmt: skip
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    returns = pd.DataFrame({"customer_id": ["y"], "order_date": pd.to_datetime(["2024-01-10"]), "amount": [50_000.0]})
    from analysis.customers.rfm import score_customers

    customers = score_customers(tx, as_of).customers
    assert customers.loc["x", "frequency"] == 6  # orders count as the README says: six orders …
    gross = churn_warnings(customers, transactions=tx, as_of=as_of)
    assert "y" in gross.index  # … and without netting, the cancelled 50,000 makes y the valuable one
    w = churn_warnings(customers, transactions=tx, as_of=as_of, returns=returns)
    assert "y" not in w.index and list(w.index) == ["x"]
    assert w.loc["x", "usual_gap_days"] == 31.0  # … on two purchase days, 31 days apart (not 0 days)
    assert w.loc["x", "late"] and w.loc["x", "monetary_net"] == 600.0
    assert churn_reasons(w, "en")["x"] == "A-tier customer: usually buys every 31 days but has been silent for 74."
