"""The segments' ABC table sums each tier's net spend: the figure the tier is decided on (returns matched to no
purchase subtracted, :func:`analysis.customers.tiers.net_tiers`), so its total is the window's net revenue."""

from __future__ import annotations

import pandas as pd

from analysis import stages
from analysis.customers.tiers import net_abc, net_tiers
from tests.test_cancellations import scored_december


def test_abc_table_revenue_is_the_net_spend_the_tier_uses() -> None:
    """x buys 100 + 100 and returns 150 (no single order of x covers it: unmatched), y buys 10, z buys 5, all in
    December 2024, the data's only month (the scoring window, all history to the run's last day, is the period).

    Net revenue: 200 + 10 + 5 − 150 = 65. Net spend x 50, y 10, z 5 (total 65): x starts at 0 (A), y at
    50/65 = 76.9 % < 80 % (A), z at 60/65 = 92.3 % < 95 % (B). Table: A 60 (2 customers), B 5 (1), C 0 (0)."""
    raw = pd.DataFrame(
        {"customer_id": ["x", "x", "y", "z", "x"], "order_id": ["1", "2", "3", "4", "C5"],
         "order_date": ["2024-12-02", "2024-12-03", "2024-12-03", "2024-12-06", "2024-12-05"],
         "amount": ["100", "100", "10", "5", "-150"]}
    )  # fmt: skip
    params, result, c, w, s = scored_december(raw)
    assert result.returns["match"].tolist() == ["unmatched"]
    assert s.customers["monetary"].to_dict() == {"x": 200.0, "y": 10.0, "z": 5.0}  # the net log: before the return
    assert s.customers["abc_class"].to_dict() == {"x": "A", "y": "A", "z": "B"}
    seg = stages.segment_analysis(c.transactions, s, params, "2024-12", window=w)
    table = seg.abc_summary
    assert table["customers"].to_dict() == {"A": 2, "B": 1, "C": 0}
    assert table["revenue"].to_dict() == {"A": 60.0, "B": 5.0, "C": 0.0}  # was A 210 (x's 200 before the return)
    assert table["revenue"].sum() == c.money(w.start, w.as_of)["net"] == 65.0  # the headline's net revenue
    assert table.loc["A", "mean_value"] == 30.0 and abs(table.loc["A", "revenue_share"] - 60 / 65) < 1e-12
    assert seg.abc.loc["x", "value"] == 50.0  # the Pareto chart and the table rank the same net spend


def test_a_customer_who_returned_more_than_they_bought_counts_their_net_in_tier_c() -> None:
    # x: 100 bought, 150 returned -> net -50, tier C (floored at 0 for the ranking); y 10 -> A, z 5 -> A (10/15)
    customers = pd.DataFrame({"monetary": [100.0, 10.0, 5.0]}, index=pd.Index(["x", "y", "z"], name="customer_id"))
    returned = pd.Series({"x": 150.0})
    abc = net_abc(customers, returned)
    assert abc["abc_class"].to_dict() == net_tiers(customers, returned).to_dict() == {"x": "C", "y": "A", "z": "A"}
    assert abc["value"].to_dict() == {"x": -50.0, "y": 10.0, "z": 5.0}  # adds up to the net revenue, -35
    assert net_abc(customers, None)["value"].tolist() == [100.0, 10.0, 5.0]
