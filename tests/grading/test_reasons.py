"""The reason for every grade and what would move it up: walked over every rule, checked against the functions that
assign the grades (so a reason can never contradict its grade)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.customers.lifecycle import lifecycle_stages, purchase_facts
from analysis.customers.rfm import score_rfm
from analysis.customers.segments import (
    DEFAULT_RULES,
    SEGMENT_ORDER,
    VALUE_CLASS_NAMES,
    VALUE_CLASS_ORDER,
    assign_segments,
    value_class_flags,
)
from analysis.customers.tiers import abc_classes
from analysis.grading.reasons import (
    LIFECYCLE_RULES,
    MAX_ORDERS,
    GradingRules,
    grade_facts,
    grade_sentences,
    lifecycle_rule,
    rule_text,
    spend_to_reach,
)
from analysis.params import LifecycleParams, ScoreThresholds
from tests.conftest import examples, tx

AS_OF = pd.Timestamp("2024-11-30")
START = pd.Timestamp("2024-11-01")
NEXT_END = pd.Timestamp("2024-12-31")
#: score s (1–5) of each measure at these values, with the cut points below
RECENCY = {5: 5, 4: 15, 3: 25, 2: 35, 1: 45}
FREQUENCY = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5}
MONETARY = {1: 50.0, 2: 150.0, 3: 250.0, 4: 350.0, 5: 450.0}
THRESHOLDS = ScoreThresholds(recency_days=[10, 20, 30, 40], frequency=[1, 2, 3, 4], monetary=[100, 200, 300, 400])


def _rules(cuts: pd.DataFrame, **kw: object) -> GradingRules:
    return GradingRules(DEFAULT_RULES, cuts, (0.8, 0.95), LifecycleParams(), START, AS_OF, NEXT_END, **kw)  # type: ignore[arg-type]


def _every_combination() -> tuple[pd.DataFrame, pd.DataFrame]:
    rows = []
    for i, (r, f, m) in enumerate(itertools.product(range(1, 6), repeat=3)):
        rows.append((f"c{i:03d}", RECENCY[r], FREQUENCY[f], MONETARY[m]))
    summary = pd.DataFrame(rows, columns=["customer_id", "recency_days", "frequency", "monetary"]).set_index(
        "customer_id"
    )
    scored, cuts = score_rfm(summary, THRESHOLDS)
    scored["segment"] = assign_segments(scored)
    return scored, cuts


def _facts_of(scored: pd.DataFrame) -> pd.DataFrame:
    """Lifecycle facts matching each customer's recency (one purchase day each)."""
    last = AS_OF - pd.to_timedelta(scored["recency_days"], unit="D")
    return pd.DataFrame(
        {
            "first_purchase": last, "last_purchase": last, "purchase_days": 1, "usual_gap_days": np.nan,
            "last_purchase_prev": last.where(last < START), "purchase_days_prev": (last < START).astype(int),
            "usual_gap_days_prev": np.nan,
        },
        index=scored.index.astype(str),
    )  # fmt: skip


def test_every_segment_rule_reason_and_move_up_agree_with_the_rule_table() -> None:
    scored, cuts = _every_combination()
    assert (scored[["r_score", "f_score", "m_score"]].drop_duplicates().shape[0]) == 125
    rules = _rules(cuts)
    facts = grade_facts(scored, rules, _facts_of(scored))
    words = grade_sentences(facts, rules, "en")
    assert (facts["segment"] == scored["segment"]).all()
    rank = {s: i for i, s in enumerate(SEGMENT_ORDER)}
    for cid, row in facts.iterrows():
        reason = words.at[cid, "segment_reason"]
        assert f"Segment {row.segment}" in reason and rule_text(DEFAULT_RULES[row.segment]) in reason
        assert f"R score {row.r_score}" in reason and f"F score {row.f_score}" in reason
        if row.segment == "Champions":
            assert row.segment_next == "" and "top segment" in words.at[cid, "segment_move_up"]
            continue
        k = row.segment_orders
        assert k >= 1
        # re-score the moved customer with the same cut points and rule table: it lands in the named segment
        for orders, expect_better in ((k, True), (k - 1, False)):
            moved = pd.DataFrame(
                {"recency_days": [0.0], "frequency": [row.frequency + orders],
                 "monetary": [row.monetary + orders * row.aov]}, index=[cid],
            )  # fmt: skip
            if orders == 0:
                moved = pd.DataFrame({"recency_days": [row.recency_days], "frequency": [row.frequency],
                                      "monetary": [row.monetary]}, index=[cid])  # fmt: skip
            re, _ = score_rfm(moved, THRESHOLDS)
            seg = assign_segments(re).iloc[0]
            if expect_better:
                assert seg == row.segment_next and rank[seg] < rank[row.segment]
            elif orders >= 1:
                assert rank[seg] >= rank[row.segment], (cid, orders)
        assert f"{k} more order(s)" in words.at[cid, "segment_move_up"]
        assert row.segment_next in words.at[cid, "segment_move_up"] or row.segment_next == "Potential Loyalist"


def test_every_value_class_reason_and_move_up() -> None:
    scored, cuts = _every_combination()
    rules = _rules(cuts)
    facts = grade_facts(scored, rules, _facts_of(scored))
    means = scored[["recency_days", "frequency", "monetary"]].mean()
    flags = value_class_flags(scored, means)
    expect = [VALUE_CLASS_NAMES[tuple(map(bool, f))] for f in flags.itertuples(index=False)]
    assert facts["value_class"].tolist() == expect
    assert set(expect) == set(VALUE_CLASS_ORDER)  # every class is walked
    order = {c: i for i, c in enumerate(VALUE_CLASS_ORDER)}
    words = grade_sentences(facts, rules, "zh")
    for cid, row in facts.iterrows():
        if row.value_class == VALUE_CLASS_ORDER[0]:
            assert row.value_class_next == ""
            continue
        k = row.value_class_orders
        if k == 0 and pd.notna(row.value_class_one_order):  # one larger order: it reaches, a cent less does not
            amount = row.value_class_one_order
            for extra, reaches in ((amount, True), (amount - 0.01, False)):
                moved = pd.DataFrame({"recency_days": [0.0], "frequency": [row.frequency + 1],
                                      "monetary": [row.monetary + extra]})  # fmt: skip
                got = VALUE_CLASS_NAMES[tuple(map(bool, value_class_flags(moved, means).iloc[0]))]
                if reaches:
                    assert got == row.value_class_next and order[got] < order[row.value_class]
                elif extra >= row.aov:
                    assert order[got] >= order[row.value_class]
            assert "消费超过均值" in words.at[cid, "value_class_move_up"]
            continue
        if k == 0:  # none within MAX_ORDERS orders: said so, and true
            assert "也到不了" in words.at[cid, "value_class_move_up"]
            k = MAX_ORDERS
            moved = pd.DataFrame({"recency_days": [0.0], "frequency": [row.frequency + k],
                                  "monetary": [row.monetary + k * row.aov]})  # fmt: skip
            got = VALUE_CLASS_NAMES[tuple(map(bool, value_class_flags(moved, means).iloc[0]))]
            assert order[got] >= order[row.value_class]
            continue
        moved = pd.DataFrame({"recency_days": [0.0], "frequency": [row.frequency + k],
                              "monetary": [row.monetary + k * row.aov]})  # fmt: skip
        got = VALUE_CLASS_NAMES[tuple(map(bool, value_class_flags(moved, means).iloc[0]))]
        assert got == row.value_class_next and order[got] < order[row.value_class]
        if k > 1:
            less = moved.assign(frequency=row.frequency + k - 1, monetary=row.monetary + (k - 1) * row.aov)
            worse = VALUE_CLASS_NAMES[tuple(map(bool, value_class_flags(less, means).iloc[0]))]
            assert order[worse] >= order[row.value_class]
        assert words.at[cid, "value_class_move_up"].startswith(f"再下 {k} 笔")


def test_abc_reason_and_the_spend_that_lifts_a_tier_by_hand() -> None:
    # 50, 30, 15, 5 of 100: A A B C (the module's doctest). The B customer (15) needs the 80 above them to be below
    # 80 % of the grown total: 80 / (100 + x) < 0.8 → x > 0, i.e. one cent; the C customer (5) needs the 95 above
    # to be below 95 % of 100 + x … and passes the 15 once above it: x = 10.01 gives 80 / 110.01 < 0.95.
    values = pd.Series([50.0, 30.0, 15.0, 5.0], index=pd.Index(list("wxyz"), name="customer_id"))
    assert spend_to_reach(values, 0.8)["y"] == pytest.approx(0.01)
    # z: without passing y, 95 / (100 + x) < 0.95 needs x > 0 … also one cent
    assert spend_to_reach(values, 0.95)["z"] == pytest.approx(0.01)
    # a harder case: 60, 30, 10 → C customer (10, above 90 = 90 %… B limit 0.85): 90 / (100 + x) < 0.85 → x > 5.88
    v2 = pd.Series([60.0, 30.0, 10.0], index=pd.Index(list("abc"), name="customer_id"))
    assert abc_classes(v2, (0.5, 0.85))["abc_class"].tolist() == ["A", "B", "C"]
    assert spend_to_reach(v2, 0.85)["c"] == pytest.approx(5.89)


@settings(max_examples=examples(30), deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1e5, allow_nan=False).map(lambda x: round(x, 2)),
                min_size=2, max_size=12))  # fmt: skip
def test_the_named_extra_spend_always_lifts_the_tier(values: list[float]) -> None:
    s = pd.Series(values, index=pd.Index([f"k{i:02d}" for i in range(len(values))], name="customer_id"))
    if s.sum() <= 0:
        return
    tiers = abc_classes(s)
    for limit, tier, better in ((0.8, "B", "A"), (0.95, "C", "B")):
        extra = spend_to_reach(s, limit)
        for cid in tiers.index[tiers["abc_class"] == tier]:
            lifted = s.copy()
            lifted[cid] += extra[cid]
            assert abc_classes(lifted)["abc_class"][cid] <= better, (cid, extra[cid])  # "A" < "B" < "C"


def _lifecycle_log() -> tuple[pd.DataFrame, dict[str, str]]:
    """One customer per lifecycle rule (as of 30 Nov 2024, period 1–30 Nov)."""
    rows = [
        ("new", "n1", "2024-11-10", 10),
        ("lost_days", "o1", "2023-10-01", 10),
        *[("lost_gap", f"g{i}", d, 10) for i, d in enumerate(["2024-05-01", "2024-05-11", "2024-05-21"])],
        *[("dormant_gap", f"d{i}", d, 10) for i, d in enumerate(["2024-08-20", "2024-09-09", "2024-09-29"])],
        ("dormant_days", "s1", "2024-04-01", 10),
        *[("reactivated", f"r{i}", d, 10) for i, d in enumerate(["2023-01-01", "2023-02-01", "2024-11-20"])],
        *[("active", f"a{i}", d, 10) for i, d in enumerate(["2024-09-01", "2024-10-01", "2024-11-01"])],
        *[("lost_p_alive", f"p{i}", d, 10) for i, d in enumerate(["2024-10-01", "2024-10-20", "2024-11-05"])],
    ]
    log = tx([(f"{rule}", oid, d, amt) for rule, oid, d, amt in rows])
    return log, {r[0]: r[0] for r in rows}


def test_every_lifecycle_rule_fires_as_the_lifecycle_says() -> None:
    log, _ = _lifecycle_log()
    p_alive = pd.Series(0.9, index=sorted(log["customer_id"].unique()))
    p_alive["lost_p_alive"] = 0.05
    lc = LifecycleParams()
    expected = lifecycle_stages(
        log, AS_OF, START - pd.Timedelta(days=1), dormant_multiple=lc.dormant_multiple, dormant_days=lc.dormant_days,
        lost_multiple=lc.lost_multiple, lost_days=lc.lost_days, lost_p_alive=lc.lost_p_alive, p_alive=p_alive,
    )["stage"]  # fmt: skip
    facts = purchase_facts(log, AS_OF, START - pd.Timedelta(days=1))
    got = lifecycle_rule(facts, _rules(pd.DataFrame()), p_alive)
    assert (got["lifecycle_stage"] == expected.reindex(got.index)).all()
    # each customer is named for the rule that must fire for them
    assert dict(zip(got.index, got["lifecycle_rule"], strict=True)) == {c: c for c in got.index}
    assert set(got["lifecycle_rule"]) == set(LIFECYCLE_RULES) - {"active_censored"}
    censored = lifecycle_rule(facts, _rules(pd.DataFrame(), left_censored=True), p_alive)
    assert (
        censored.at["new", "lifecycle_rule"] == "active_censored" and censored.at["new", "lifecycle_stage"] == "active"
    )
    # the active customer (gaps of 30 and 31 days: usual 30.5) stays active up to 2 × 30.5 = 61 days after 1 Nov: 1 Jan
    assert got.at["active", "keep_until"] == pd.Timestamp("2025-01-01")


def test_lifecycle_sentences_name_the_facts_in_both_languages() -> None:
    log, _ = _lifecycle_log()
    facts_in = purchase_facts(log, AS_OF, START - pd.Timedelta(days=1))
    from analysis.customers.rfm import rfm_summary

    summary = rfm_summary(log, AS_OF)
    scored, cuts = score_rfm(summary, THRESHOLDS)
    scored["segment"] = assign_segments(scored)
    rules = _rules(cuts)
    facts = grade_facts(scored, rules, facts_in)
    en, zh = grade_sentences(facts, rules, "en"), grade_sentences(facts, rules, "zh")
    assert en.at["lost_days", "lifecycle_stage_reason"] == "Lost: no purchase for 426 days (lost after 365)."
    assert zh.at["lost_days", "lifecycle_stage_reason"] == "流失：426 天未购买（超过 365 天即流失）。"
    # g: gaps 10, 10 → usual 10; silent 193 days > 4 × 10
    assert (
        en.at["lost_gap", "lifecycle_stage_reason"]
        == "Lost: silent for 193 days, more than 4 × their usual gap of 10 days."
    )
    assert "Reactivated" in en.at["dormant_gap", "lifecycle_stage_move_up"]
    assert en.at["active", "lifecycle_stage_move_up"] == "A purchase by 1 Jan 2025 keeps them active."
    for words in (en, zh):
        for col in words.columns:
            if col.endswith(("_reason", "move_up")) and not col.startswith("cluster"):
                assert words[col].str.len().gt(0).all(), col


def test_segments_of_your_own_outside_the_kits_ranking_say_so() -> None:
    from analysis.params import SegmentRule

    scored, cuts = _every_combination()
    mine = {"Top": SegmentRule(r=(4, 5)), "Rest": SegmentRule(r=(1, 3))}
    scored["segment"] = assign_segments(scored, mine)
    rules = GradingRules(mine, cuts, (0.8, 0.95), LifecycleParams(), START, AS_OF, NEXT_END)
    facts = grade_facts(scored, rules, _facts_of(scored))
    words = grade_sentences(facts, rules, "en")
    assert (facts["segment"] == scored["segment"]).all()
    assert words["segment_reason"].str.contains("Top is R 4–5|Rest is R 1–3").all()
    assert words["segment_move_up"].str.contains("is not in the kit's ranking").all()
    assert (words["next_grade"] == "").all()
