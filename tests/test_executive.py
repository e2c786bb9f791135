"""Executive summary tables: hand-computed changes and formatting."""

from __future__ import annotations

import math

import pandas as pd

from analysis.strategy.executive import format_headline, headline_kpis


def test_changes_relative_for_amounts_points_for_rates() -> None:
    totals = pd.Series(
        {
            "revenue": 120.0,
            "revenue_prev": 100.0,
            "revenue_yoy": 240.0,
            "orders": 10,
            "orders_prev": 0,
            "repeat_rate": 0.30,
        }
    )
    prev = None
    t = headline_kpis(totals, prev, None)
    assert list(t.index) == ["Revenue", "Orders", "Repeat rate"]
    assert math.isclose(t.loc["Revenue", "change"], 0.2) and math.isclose(t.loc["Revenue", "change_vs_year"], -0.5)
    assert math.isnan(t.loc["Orders", "change"])  # no orders before: no relative change
    t2 = headline_kpis(totals, pd.Series({"repeat_rate": 0.25}), None)
    assert math.isclose(t2.loc["Repeat rate", "change"], 0.05)
    shown = format_headline(t2, "$")
    assert shown.loc["Revenue", "this period"] == "$120" and shown.loc["Repeat rate", "change"] == "+5.0 pt"


def test_chinese_labels() -> None:
    t = headline_kpis(pd.Series({"revenue": 1.0, "revenue_prev": 2.0}), language="zh")
    assert list(t.index) == ["收入"] and "环比" in t.columns and t.loc["收入", "环比"] == -0.5
