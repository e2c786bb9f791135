"""Applying the playbook: assignment precedence, per-action sums, sentences, CRM files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.strategy.actions import apply_playbook, assign_actions, safe_filename, write_action_csvs
from analysis.strategy.playbook import load_playbook


@pytest.fixture(scope="module")
def pb():
    return load_playbook()


@pytest.fixture
def customers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": ["Champions", "Champions", "At Risk", "Lost", "Hibernating"],
            "value_class": ["重要价值客户", "重要价值客户", "重要保持客户", "一般挽留客户", "一般挽留客户"],
            "monetary": [1000.0, 500.0, 400.0, 10.0, 50.0],
        },
        index=pd.Index(["c1", "c2", "c3", "c4", "c5"], name="customer_id"),
    )


def test_segment_plays_without_clv(customers: pd.DataFrame, pb) -> None:
    res = apply_playbook(customers, pb)
    assert not res.has_clv
    assert any("No CLV" in n for n in res.notes)
    a = res.assignments
    assert a.index.name == "customer_id"
    assert list(a.index) == list(customers.index)
    assert a.loc["c1", "action_id"] == "reward_champions"
    # Champions: 2 customers x 20 budget; return 3% of 1500 monetary = 45
    row = res.actions.loc["reward_champions"]
    assert row["customers"] == 2
    assert row["budget"] == pytest.approx(40.0)
    assert row["expected_return"] == pytest.approx(45.0)
    assert row["net_return"] == pytest.approx(5.0)
    assert row["roi"] == pytest.approx(5.0 / 40.0)
    assert np.isnan(row["clv_at_stake"])
    assert res.actions["customers"].sum() == len(customers)
    assert res.actions["budget"].sum() == pytest.approx(a["budget"].sum())


def test_priority_by_net_return(customers: pd.DataFrame, pb) -> None:
    res = apply_playbook(customers, pb)
    net = res.actions.sort_values("priority")["net_return"].to_numpy()
    assert (np.diff(net) <= 0).all()
    rec = res.recommendations
    assert list(rec["priority"]) == list(range(1, len(rec) + 1))
    first = rec.iloc[0]
    assert not first["sentence_en"].startswith("1.")  # the priority is a column, not in the text
    assert "customer" in first["sentence_en"]
    assert "预算" in first["sentence_zh"] and "位客户" in first["sentence_zh"]


def test_override_precedence(customers: pd.DataFrame, pb) -> None:
    stages = pd.Series({"c1": "reactivated", "c3": "reactivated", "c4": "lost"})
    a = assign_actions(customers, pb, stages=stages, warnings=["c3"])
    assert a.loc["c1", "action_id"] == "welcome_back"  # lifecycle beats segment
    assert a.loc["c1", "rule"] == "lifecycle:reactivated"
    assert a.loc["c3", "action_id"] == "retention_call"  # warning beats lifecycle
    assert a.loc["c4", "action_id"] == "last_chance_lost"  # no 'lost' override in the playbook
    assert a.loc["c2", "rule"] == "segment:Champions"


def test_columns_as_defaults(customers: pd.DataFrame, pb) -> None:
    c = customers.assign(churn_warning=[False, True, False, False, False])
    res = apply_playbook(c, pb)
    assert res.assignments.loc["c2", "action_id"] == "retention_call"
    assert res.by_segment.loc["Champions", "overridden"] == 1


def test_clv_used_as_value_at_stake(customers: pd.DataFrame, pb) -> None:
    c = customers.assign(clv=[2000.0, np.nan, 100.0, 0.0, 5.0])
    res = apply_playbook(c, pb)
    assert res.has_clv
    assert any("1 customer(s) have no CLV" in n for n in res.notes)
    a = res.assignments
    assert a.loc["c2", "value_at_stake"] == 500.0  # falls back to monetary
    row = res.actions.loc["reward_champions"]
    assert row["clv_at_stake"] == pytest.approx(2000.0)
    assert row["expected_return"] == pytest.approx(0.03 * 2500.0)


def test_by_segment_in_value_order(customers: pd.DataFrame, pb) -> None:
    bs = apply_playbook(customers, pb).by_segment
    assert list(bs.index) == ["Champions", "At Risk", "Hibernating", "Lost"]
    assert bs.loc["Champions", "revenue"] == 1500.0
    assert bs.loc["Champions", "segment_zh"] == "冠军客户"


def test_unknown_segment_is_named(customers: pd.DataFrame, pb) -> None:
    c = customers.copy()
    c.loc["c5", "segment"] = "Sleepers"
    with pytest.raises(InputError, match="Sleepers"):
        apply_playbook(c, pb)
    with pytest.raises(InputError, match="monetary"):
        apply_playbook(customers.drop(columns="monetary"), pb)


def test_write_action_csvs(tmp_path: Path, customers: pd.DataFrame, pb) -> None:
    res = apply_playbook(customers.assign(clv=[1.0, 2.0, 3.0, 4.0, 5.0]), pb)
    files = write_action_csvs(res.assignments, tmp_path / "crm")
    assert set(files) == set(res.actions.index)
    df = pd.read_csv(files["reward_champions"], encoding="utf-8-sig")
    assert list(df.columns) == [
        "customer_id", "segment", "value_class", "monetary", "clv", "action_id", "action", "channel", "offer"
    ]  # fmt: skip
    assert list(df["customer_id"]) == ["c2", "c1"]  # by value at stake (clv)
    zh = write_action_csvs(res.assignments, tmp_path / "zh", language="zh", encoding="utf-8")
    df = pd.read_csv(zh["reward_champions"])
    assert df["action"].iloc[0] == pb.segments["Champions"].action.zh


def test_safe_filename() -> None:
    assert safe_filename("Win back / At Risk!") == "win_back_at_risk"
    assert safe_filename("../../etc") == "etc"
    assert safe_filename("CON") == "con_"
    assert safe_filename("流失") == "action"


def test_sentences_name_the_group(customers: pd.DataFrame, pb) -> None:
    res = apply_playbook(customers, pb, warnings=["c3"], stages=pd.Series({"c1": "reactivated"}))
    rec = res.recommendations.set_index("action_id")
    en = rec.loc["retention_call", "sentence_en"]
    assert "Valuable customers with a churn warning (1 customer, from At Risk)" in en
    assert "12% of 400.00 CNY revenue at stake" in en and "pays back" in en
    assert "回流客户（1位客户，来自冠军客户）" in rec.loc["welcome_back", "sentence_zh"]
    assert res.actions.loc["reward_champions", "group"] == "Champions"
    assert rec.loc["reward_champions", "sentence_en"].startswith("Champions (1 customer):")
    usd = apply_playbook(customers, pb, currency="USD").recommendations
    assert "USD" in usd["sentence_en"].iloc[0] and "CNY" not in usd["sentence_en"].iloc[0]
