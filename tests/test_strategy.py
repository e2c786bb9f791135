"""Applying the playbook: assignment precedence, per-action sums, sentences, CRM files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import InputError
from analysis.strategy.actions import (
    apply_playbook,
    assign_actions,
    recommendation_sentences,
    rule_label,
    safe_filename,
    write_action_csvs,
)
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
    assert any("No CLV" in n for n in res.note_texts("en"))
    assert any("没有客户终身价值" in n for n in res.note_texts("zh"))
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
    assert rec["pays_back"].tolist() == (rec["net_return"] >= 0).tolist()
    first = res.sentences("en").iloc[0]
    assert not first.startswith("1.")  # the priority is a column, not in the text
    assert "customer" in first
    zh = res.sentences("zh").iloc[0]
    assert "预算" in zh and "位客户" in zh
    assert list(res.sentences("en").index) == list(rec["action_id"])  # priority order


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
    assert any("1 customer has no CLV" in n for n in res.note_texts("en"))
    assert any("1位客户没有客户终身价值" in n for n in res.note_texts("zh"))
    a = res.assignments
    assert a.loc["c2", "value_at_stake"] == 500.0  # falls back to monetary
    row = res.actions.loc["reward_champions"]
    assert row["clv_at_stake"] == pytest.approx(2000.0)
    assert row["expected_return"] == pytest.approx(0.03 * 2500.0)


def test_by_segment_in_value_order(customers: pd.DataFrame, pb) -> None:
    bs = apply_playbook(customers, pb).by_segment
    assert list(bs.index) == ["Champions", "At Risk", "Hibernating", "Lost"]
    assert bs.loc["Champions", "revenue"] == 1500.0
    assert "segment_zh" not in bs.columns  # names are translated at display, not stored per language


def test_unknown_segment_is_named(customers: pd.DataFrame, pb) -> None:
    c = customers.copy()
    c.loc["c5", "segment"] = "Sleepers"
    with pytest.raises(InputError, match="Sleepers"):
        apply_playbook(c, pb)
    with pytest.raises(InputError, match="monetary"):
        apply_playbook(customers.drop(columns="monetary"), pb)


def test_write_action_csvs(tmp_path: Path, customers: pd.DataFrame, pb) -> None:
    res = apply_playbook(customers.assign(clv=[1.0, 2.0, 3.0, 4.0, 5.0]), pb)
    files = write_action_csvs(res, tmp_path / "crm")
    assert set(files) == set(res.actions.index)
    df = pd.read_csv(files["reward_champions"], encoding="utf-8-sig")
    assert list(df.columns) == [
        "customer_id", "segment", "value_class", "monetary", "clv", "action_id", "action", "channel", "offer"
    ]  # fmt: skip
    assert list(df["customer_id"]) == ["c2", "c1"]  # by value at stake (clv)
    zh = write_action_csvs(res.assignments, tmp_path / "zh", playbook=pb, language="zh", encoding="utf-8")
    df = pd.read_csv(zh["reward_champions"])
    assert df["action"].iloc[0] == pb.segments["Champions"].action.zh
    assert df["segment"].iloc[0] == "Champions"  # data values stay canonical for the CRM
    with pytest.raises(InputError, match="playbook"):
        write_action_csvs(res.assignments, tmp_path / "x")


def test_safe_filename() -> None:
    assert safe_filename("Win back / At Risk!") == "win_back_at_risk"
    assert safe_filename("../../etc") == "etc"
    assert safe_filename("CON") == "con_"
    assert safe_filename("流失") == "action"


def test_sentences_name_the_group(customers: pd.DataFrame, pb) -> None:
    res = apply_playbook(customers, pb, warnings=["c3"], stages=pd.Series({"c1": "reactivated"}))
    en, zh = res.sentences("en"), res.sentences("zh")
    assert res.currency == "CNY"  # the playbook's currency when none is given
    # c3 (At Risk, monetary 400) gets the retention call: budget 40, return 12 % of 400 = 48, net +8
    assert en["retention_call"] == (
        "Valuable customers with a churn warning (1 customer, from At Risk): Priority retention call by the "
        "account manager via Phone, offering Personal retention offer. Budget ¥40, expected return ¥48 "
        "(12% of ¥400 revenue at stake), so it pays back."
    )
    assert zh["retention_call"] == (
        "有流失预警的高价值客户（1位客户，来自有流失风险客户）：通过电话客户经理优先致电挽留，优惠：专属挽留优惠。"
        "预算¥40，预期回报¥48（涉及收入¥400，假设提升率12%），可收回成本。"
    )
    assert "回流客户（1位客户，来自冠军客户）" in zh["welcome_back"]
    assert res.actions.loc["reward_champions", "rules"] == "segment:Champions"
    assert rule_label("segment:Champions", "zh") == "冠军客户"
    assert en["reward_champions"].startswith("Champions (1 customer):")
    # Lost (c4: 10) and Hibernating (c5: 50): 1 % of 10 = 0.10 against a budget of 1 -> does not pay back
    assert (
        "Budget $1, expected return $0.10 (1% of $10 revenue at stake), so it does not pay back"
        in (recommendation_sentences(res.actions, pb, currency="USD")["last_chance_lost"])
    )
    usd = apply_playbook(customers, pb, currency="USD").sentences("en").iloc[0]
    assert "$" in usd and "CNY" not in usd and "¥" not in usd
    eur = apply_playbook(customers.assign(monetary=customers["monetary"] * 10), pb, currency="EUR")
    assert "(3% of €15,000 revenue at stake)" in eur.sentences("en")["reward_champions"]
