"""Migration matrices and up/down lists, hand-counted."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.customers.migration import migration
from analysis.errors import InputError, ParamsError


def _frame(rows: dict[str, tuple[str, str, float]]) -> pd.DataFrame:
    df = pd.DataFrame.from_dict(rows, orient="index", columns=["segment", "abc_class", "monetary"])
    df.index.name = "customer_id"
    return df


PREV = _frame(
    {
        "a": ("Champions", "A", 100.0),
        "b": ("Champions", "A", 80.0),
        "c": ("At Risk", "B", 30.0),
        "d": ("Lost", "C", 5.0),
        "e": ("Hibernating", "C", 7.0),  # gone
    }
)
CURR = _frame(
    {
        "a": ("Champions", "A", 120.0),  # same
        "b": ("At Risk", "B", 20.0),  # down 8 places
        "c": ("Loyal Customers", "A", 60.0),  # up 7 places
        "d": ("Hibernating", "C", 6.0),  # up 1 place
        "f": ("New Customers", "B", 15.0),  # new
    }
)


def test_counts_and_revenue() -> None:
    m = migration(PREV, CURR)
    c = m.counts
    assert c.loc["Champions", "Champions"] == 1
    assert c.loc["Champions", "At Risk"] == 1
    assert c.loc["At Risk", "Loyal Customers"] == 1
    assert c.loc["Lost", "Hibernating"] == 1
    assert c.loc["(new)", "New Customers"] == 1
    assert c.loc["Hibernating", "(gone)"] == 1
    assert c.to_numpy().sum() == 6  # union of customers
    assert c.loc["(new)", "(gone)"] == 0
    r = m.revenue
    assert r.loc["Champions", "At Risk"] == 20.0  # current value
    assert r.loc["Hibernating", "(gone)"] == 7.0  # previous value of the gone customer
    assert r.loc["(new)", "New Customers"] == 15.0
    assert m.shares.loc["Champions"].sum() == pytest.approx(1.0)
    assert m.shares.loc["Champions", "At Risk"] == pytest.approx(0.5)


def test_up_and_down() -> None:
    m = migration(PREV, CURR)
    assert list(m.moved_up.index) == ["c", "d"]  # biggest move first
    assert list(m.moved_down.index) == ["b"]
    assert m.moves.loc["b", "rank_change"] == -8
    assert m.moves.loc["c", "rank_change"] == 7
    assert m.moves["direction"].to_dict() == {
        "a": "same", "b": "down", "c": "up", "d": "up", "e": "gone", "f": "new"
    }  # fmt: skip


def test_abc_and_custom_order() -> None:
    m = migration(PREV, CURR, "abc_class")
    assert m.counts.loc["B", "A"] == 1 and m.counts.loc["A", "B"] == 1
    assert list(m.moved_up.index) == ["c"]
    m2 = migration(PREV, CURR, "abc_class", order=["C", "B", "A"])
    assert list(m2.moved_up.index) == ["b"]


def test_errors() -> None:
    with pytest.raises(ParamsError, match="order"):
        migration(PREV, CURR, "monetary")
    bad = CURR.copy()
    bad.loc["a", "segment"] = "VIP"
    with pytest.raises(InputError, match="VIP"):
        migration(PREV, bad)


def test_migration_heatmap_smoke() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report.plots.segmentation import migration_heatmap

    m = migration(PREV, CURR)
    ax = migration_heatmap(m.counts)
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("previous period", "this period")  # ticks name the segments
    ax2 = migration_heatmap(m.shares, share=True)
    plt.close(ax.figure)
    plt.close(ax2.figure)
