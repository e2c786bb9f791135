"""Executive summary tables: hand-computed changes and formatting in both languages."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.strategy.actions import apply_playbook
from analysis.strategy.executive import format_headline, headline_kpis, top_actions
from analysis.strategy.playbook import load_playbook


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
    t = headline_kpis(totals, None, None)
    assert list(t.index) == ["revenue", "orders", "repeat_rate"]  # fields: numbers, not words
    assert math.isclose(t.loc["revenue", "change"], 0.2) and math.isclose(t.loc["revenue", "change_vs_year"], -0.5)
    assert math.isnan(t.loc["orders", "change"])  # no orders before: no relative change
    t2 = headline_kpis(totals, pd.Series({"repeat_rate": 0.25}), None)
    assert math.isclose(t2.loc["repeat_rate", "change"], 0.05)
    shown = format_headline(t2, "$")
    assert list(shown.columns) == ["this period", "previous period", "change", "a year ago", "change vs a year ago"]
    assert shown.loc["Revenue", "this period"] == "$120" and shown.loc["Repeat rate", "change"] == "+5.0 pt"
    assert shown.loc["Orders", "this period"] == "10" and shown.loc["Orders", "change"] == "–"
    assert shown.loc["Revenue", "change vs a year ago"] == "-50.0%"


def test_chinese_labels_and_yuan() -> None:
    t = headline_kpis(pd.Series({"revenue": -593.0, "revenue_prev": 2.0, "repeat_rate": 0.3, "repeat_rate_prev": 0.1}))
    shown = format_headline(t, "CNY", "zh")
    assert list(shown.index) == ["收入", "复购率"] and shown.index.name == "指标"
    assert shown.loc["收入", "本期"] == "-¥593" and shown.loc["收入", "上期"] == "¥2"
    assert shown.loc["复购率", "环比"] == "+20.0 个百分点"


def test_growth_from_a_tiny_base_is_new() -> None:
    shown = format_headline(headline_kpis(pd.Series({"revenue": 95470.0, "revenue_prev": 100.0})), "$")
    assert shown.loc["Revenue", "change"] == "new"  # not +95,369.0%


def test_top_actions_name_actions_in_the_language() -> None:
    pb = load_playbook()
    customers = pd.DataFrame(
        {"segment": ["Champions", "Lost"], "monetary": [1000.0, 10.0]},
        index=pd.Index(["a", "b"], name="customer_id"),
    )
    plan = apply_playbook(customers, pb, currency="$")
    en, zh = top_actions(plan, 5, "en"), top_actions(plan, 5, "zh")
    assert list(en.index) == [1, 2] and en.index.name == "priority"
    assert en.loc[1, "action"] == pb.segments["Champions"].action.en
    assert zh.loc[1, "action"] == pb.segments["Champions"].action.zh
    assert "reward_champions" not in zh.to_string()  # no machine ids in a reader's table
    assert zh.loc[1, "what_to_do"].startswith("冠军客户（1位客户）")
    assert en.loc[1, "budget"] == pytest.approx(20.0)
