"""Lifecycle stages over three periods, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.customers.lifecycle import lifecycle_over_periods, lifecycle_stages, stage_counts
from analysis.errors import InputError, ParamsError

RULES = {"dormant_multiple": 2.0, "dormant_days": 60, "lost_multiple": 4.0, "lost_days": 150}
ENDS = ["2024-03-31", "2024-06-30", "2024-09-30"]  # first period starts 2023-12-31


def _tx() -> pd.DataFrame:
    rows = {
        # one purchase: new in P1; P2 recency 172 > 150 -> lost; P3 lost
        "A": ["2024-01-10"],
        # lapsed in 2023 (lost at 2023-12-31 and at P1), buys in P2 -> reactivated
        # (median gap 31, recency 60 <= 62), P3 recency 152 > 150 -> lost
        "B": ["2023-06-01", "2023-07-01", "2023-08-01", "2024-05-01"],
        # buys every month -> active throughout (first purchase before P1)
        "C": [f"{y}-{m:02d}-15" for y, m in [(2023, 10), (2023, 11), (2023, 12)]]
        + [f"2024-{m:02d}-15" for m in range(1, 10)],
        # first purchase in P2 -> new; P3 recency 121 > 2 x 31 but <= 4 x 31 and <= 150 -> dormant
        "D": ["2024-05-01", "2024-06-01"],
        # new in P1; P2 recency 150 > 60 (one purchase day), not > 150 -> dormant;
        # P3 buys again, gap 182, recency 60 -> reactivated
        "E": ["2024-02-01 10:30", "2024-02-01 18:00", "2024-08-01"],
    }
    recs = [(c, pd.Timestamp(d)) for c, ds in rows.items() for d in ds]
    return pd.DataFrame(recs, columns=["customer_id", "order_date"]).assign(amount=10.0)


def test_three_periods() -> None:
    wide = lifecycle_over_periods(_tx(), ENDS, **RULES)
    expected = {
        "A": ["new", "lost", "lost"],
        "B": ["lost", "reactivated", "lost"],
        "C": ["active", "active", "active"],
        "D": [np.nan, "new", "dormant"],
        "E": ["new", "dormant", "reactivated"],
    }
    got = {c: list(wide.loc[c]) for c in wide.index}
    for c, stages in expected.items():
        for g, e in zip(got[c], stages, strict=True):
            assert (pd.isna(g) and pd.isna(e)) or g == e, (c, got[c], stages)
    counts = stage_counts(wide)
    assert counts.loc["lost"].tolist() == [1, 1, 2]
    assert counts.sum().tolist() == [4, 5, 5]


def test_single_period_facts() -> None:
    res = lifecycle_stages(_tx(), "2024-06-30", "2024-03-31", **RULES)
    b = res.loc["B"]
    assert b["usual_gap_days"] == 31.0  # gaps 30, 31, 274 -> median 31
    assert b["recency_days"] == 60
    assert b["previous_stage"] == "lost"
    assert b["stage"] == "reactivated"
    e = res.loc["E"]
    assert e["purchase_days"] == 1  # two lines on the same day count once
    assert np.isnan(e["usual_gap_days"])
    assert "D" in res.index and res.loc["D", "stage"] == "new"


def test_period_days_default_and_p_alive() -> None:
    res = lifecycle_stages(_tx(), "2024-09-30", period_days=91, **RULES)
    assert res.loc["C", "stage"] == "active"
    pa = pd.Series({"C": 0.1, "A": 0.9})
    res = lifecycle_stages(_tx(), "2024-09-30", period_days=91, p_alive=pa, **RULES)
    assert res.loc["C", "stage"] == "lost"  # P(alive) 0.1 < 0.2
    assert res.loc["A", "stage"] == "lost"  # recency rule still applies


def test_purchase_on_period_start_belongs_to_previous_period() -> None:
    tx = pd.DataFrame({"customer_id": ["x"], "order_date": [pd.Timestamp("2024-03-31")]})
    res = lifecycle_stages(tx, "2024-06-30", "2024-03-31", **RULES)
    assert res.loc["x", "stage"] == "dormant"  # not new: the purchase is in the previous period
    assert not res.loc["x", "bought_in_period"]


def test_errors() -> None:
    with pytest.raises(ParamsError, match="dormant_multiple <= lost_multiple"):
        lifecycle_stages(_tx(), "2024-06-30", dormant_multiple=5, lost_multiple=4)
    with pytest.raises(ParamsError, match="increasing"):
        lifecycle_over_periods(_tx(), ["2024-06-30", "2024-03-31"])
    with pytest.raises(ParamsError, match="first_period_start"):
        lifecycle_over_periods(_tx(), ["2024-06-30"])
    with pytest.raises(InputError, match="order_date"):
        lifecycle_stages(pd.DataFrame({"customer_id": ["a"]}), "2024-06-30")


def test_lifecycle_chart_smoke() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report.plots.segmentation import lifecycle_chart

    ax = lifecycle_chart(stage_counts(lifecycle_over_periods(_tx(), ENDS, **RULES)))
    assert ax.get_title() == "Lifecycle stages"
    plt.close(ax.figure)
