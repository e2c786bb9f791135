"""The sample generator: deterministic, realistic, with a known buy-till-you-die truth."""

from __future__ import annotations

import pandas as pd

from analysis.data.clean import clean_transactions
from analysis.data.sample import TRUTH, generate_transactions, simulate_customers


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    a = generate_transactions(customers=300, seed=1)
    b = generate_transactions(customers=300, seed=1)
    c = generate_transactions(customers=300, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_layout_and_spread(small_sample: pd.DataFrame) -> None:
    assert list(small_sample.columns) == [
        "order_id",
        "customer_id",
        "order_date",
        "region",
        "channel",
        "product_line",
        "sales_rep",
        "quantity",
        "unit_price",
        "amount",
        "cost",
    ]
    clean = clean_transactions(small_sample).clean
    assert clean.order_date.min() >= pd.Timestamp("2023-01-01") and clean.order_date.max() <= pd.Timestamp("2024-12-31")
    assert clean.region.nunique() == 4 and clean.channel.nunique() == 3 and clean.product_line.nunique() == 5
    per_customer = clean.groupby("customer_id").order_id.nunique()
    assert 0.3 < (per_customer == 1).mean() < 0.8  # most buy once or twice; some many times
    assert per_customer.max() >= 10


def test_repeat_rate_follows_the_truth() -> None:
    occ, people = simulate_customers(20_000, pd.Timestamp("2023-01-01").date(), pd.Timestamp("2024-12-31").date(), 3)
    # mean purchase rate while alive: E[λ] = r / α per week
    assert abs(people.lam_per_week.mean() - TRUTH["r"] / TRUTH["alpha"]) < 0.01
    assert abs(people.p_drop.mean() - TRUTH["a"] / (TRUTH["a"] + TRUTH["b"])) < 0.01
    assert len(occ) > 20_000


def test_bgnbd_recovers_the_known_truth_through_cleaning() -> None:
    """The CLV models find the process the sample was drawn from, after cleaning the dirty log."""
    from analysis.clv import BGNBD, GammaGamma
    from analysis.clv.summary import summary_from_transactions

    clean = clean_transactions(generate_transactions(customers=20_000, seed=42)).clean  # the default run
    summary = summary_from_transactions(clean, "2024-12-31", time_unit="W")
    bg = BGNBD().fit(summary).params_
    for key in ("r", "alpha", "a", "b"):
        assert abs(bg[key] / TRUTH[key] - 1) < 0.15, (key, bg[key], TRUTH[key])
    # spend per occasion is the day's total across order lines, so Gamma-Gamma sees the simulated spend
    gg = GammaGamma().fit(summary[summary.frequency > 0]).params_
    assert abs(gg["p"] / TRUTH["p"] - 1) < 0.15 and abs(gg["q"] / TRUTH["q"] - 1) < 0.15
