"""The service-recovery play as a playbook action (audience: valuable but unhappy), and churn reasons that cite a
bad score or a complaint: hand-made customers and feedback, every expectation worked out from the rows."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.grading import inputs, satisfaction
from analysis.params import CustomerInputParams, SourceParams
from analysis.strategy.actions import apply_playbook, write_action_csvs
from analysis.strategy.churn import churn_reasons, churn_warnings, satisfaction_reasons
from analysis.strategy.experiment import assign_groups, control_shares, treatment_list
from analysis.strategy.playbook import load_playbook

AS_OF = pd.Timestamp("2024-11-30")
SINCE = pd.Timestamp("2024-10-31")  # the scoring window: 1–30 Nov 2024
SPEC = CustomerInputParams(source=SourceParams(format="csv", path="feedback.csv"))


def _measures(rows: list[tuple[str, str, str, str, str]], customers: pd.Index) -> pd.DataFrame:
    raw = pd.DataFrame(rows, columns=["customer_id", "date", "score", "scale", "complaint"])
    return satisfaction.customer_measures(customers, inputs.clean_feedback(raw, SPEC).clean, None, AS_OF, SINCE)


def _customers() -> pd.DataFrame:
    # tiers as given: a, b, c, e are A; d is B; f is C
    return pd.DataFrame(
        {
            "segment": ["Champions", "Champions", "Loyal Customers", "At Risk", "Champions", "Lost"],
            "monetary": [900.0, 800.0, 700.0, 100.0, 600.0, 5.0],
            "abc_class": ["A", "A", "A", "B", "A", "C"],
        },
        index=pd.Index(list("abcdef"), name="customer_id"),
    )


FEEDBACK = [
    ("a", "2024-11-03", "4", "csat", "yes"),  # A, a complaint (score 0.75 is fine): unhappy
    ("b", "2024-11-10", "9", "nps", ""),  # A, NPS 9 → 0.9: happy
    ("c", "2024-11-05", "2", "csat", ""),  # A, CSAT 2 → 0.25 < 0.5: unhappy
    ("c", "2024-10-01", "5", "csat", ""),  # before the window: not counted
    ("d", "2024-11-07", "1", "csat", "yes"),  # B: unhappy but not valuable
    ("f", "2024-11-07", "1", "stars", "yes"),  # C: unhappy but not valuable
]  # e: no feedback at all


def test_service_recovery_targets_exactly_the_valuable_unhappy_customers() -> None:
    customers = _customers()
    m = _measures(FEEDBACK, customers.index)
    assert m["satisfaction"].to_dict() == {"a": "unhappy", "b": "happy", "c": "unhappy", "d": "unhappy",
                                          "e": "no feedback", "f": "unhappy"}  # fmt: skip
    # a also carries a churn warning: service recovery comes first (fix the complaint before a retention offer)
    plan = apply_playbook(customers, load_playbook(), warnings=["a", "e"], satisfaction=m)
    a = plan.assignments
    assert sorted(a.index[a["action_id"] == "service_recovery"]) == ["a", "c"]
    assert a.at["e", "action_id"] == "retention_call" and a.at["b", "action_id"] == "reward_champions"
    assert a.at["d", "action_id"] == "winback_at_risk" and a.at["f", "action_id"] == "last_chance_lost"
    row = plan.actions.loc["service_recovery"]
    # budget 30 per customer; expected return 10 % of the value at stake (monetary 900 + 700, no CLV)
    assert row["customers"] == 2 and row["budget"] == 60.0 and row["expected_return"] == pytest.approx(160.0)
    assert row["rules"] == "warning:service_recovery"
    assert plan.untargeted == {}
    sentence = plan.sentences("en")["service_recovery"]
    assert sentence.startswith("Valuable but unhappy customers (2 customers, from Champions, Loyal Customers):")
    assert "高价值但不满意的客户" in plan.sentences("zh")["service_recovery"]


def test_service_recovery_list_is_the_crm_list_with_a_control_group(tmp_path) -> None:
    # 20 tier-A Champions with a complaint, 5 happy ones: the play reaches the 20; 10 % of them (2) are held out
    ids = [f"u{i:02d}" for i in range(20)] + [f"h{i}" for i in range(5)]
    customers = pd.DataFrame(
        {"segment": "Champions", "monetary": 100.0, "abc_class": "A"}, index=pd.Index(ids, name="customer_id")
    )
    rows = [(c, "2024-11-15", "5", "csat", "yes" if c.startswith("u") else "") for c in ids]
    m = _measures(rows, customers.index)
    pb = load_playbook()
    plan = apply_playbook(customers, pb, satisfaction=m)
    groups = assign_groups(plan.assignments, control_shares(pb), seed=0, period="2024-11", region="all")
    mine = groups[groups["action"] == "service_recovery"]
    assert len(mine) == 20 and (mine["group"] == "control").sum() == 2  # floor(20 × 0.10) = 2
    treated = treatment_list(groups, plan.assignments)
    files = write_action_csvs(treated, tmp_path, playbook=pb)
    crm = pd.read_csv(files["service_recovery"], dtype={"customer_id": str}, encoding="utf-8-sig")
    held = set(mine.index[mine["group"] == "control"])
    assert sorted(crm["customer_id"]) == sorted(set(ids[:20]) - held)
    assert (crm["complaints"] == 1).all() and (crm["satisfaction"] == "unhappy").all()
    # the grading section's list is the same customers, from the same assignments
    rec = satisfaction.service_recovery(treated, m, "service_recovery")
    assert sorted(rec.index) == sorted(crm["customer_id"])


def test_without_feedback_the_play_says_it_cannot_be_targeted() -> None:
    plan = apply_playbook(_customers(), load_playbook())
    assert "service_recovery" not in plan.actions.index
    assert plan.untargeted == {"service_recovery": "strategy.untargeted.no_satisfaction"}
    en = plan.note_texts("en")[-1]
    assert en.startswith("Personal call by the account manager") and "cannot be targeted" in en
    assert "grading.feedback" in en and "无法定位" in plan.note_texts("zh")[-1]
    # with feedback but nobody valuable and unhappy: it says so
    customers = _customers()
    happy = _measures([("a", "2024-11-03", "5", "csat", "")], customers.index)
    nobody = apply_playbook(customers, load_playbook(), satisfaction=happy)
    assert nobody.untargeted == {"service_recovery": "strategy.untargeted.nobody"}
    assert "nobody to target" in nobody.note_texts("en")[-1]


def test_churn_reason_cites_the_bad_score_and_the_complaints() -> None:
    as_of = pd.Timestamp("2024-11-30")
    customers = pd.DataFrame(
        {"monetary": [500.0, 300.0, 10.0], "recency_days": [100, 120, 5], "frequency": [1, 1, 1],
         "abc_class": ["A", "A", "C"], "segment": ["At Risk", "At Risk", "Promising"]},
        index=pd.Index(["a", "b", "z"], name="customer_id"),
    )  # fmt: skip
    customers["last_purchase"] = as_of - pd.to_timedelta(customers["recency_days"], "D")
    customers["first_purchase"] = customers["last_purchase"]
    m = _measures(
        [("a", "2024-11-01", "4", "csat", "yes"), ("a", "2024-11-03", "1", "csat", "yes"),  # last CSAT 1, 2 complaints
         ("b", "2024-11-20", "8", "nps", "")],  # b: NPS 8 → 0.8, not bad
        customers.index,
    )  # fmt: skip
    w = churn_warnings(customers, as_of=as_of, satisfaction=m)
    assert list(w.index) == ["a", "b"]  # the triggers are unchanged: silence beyond 90 days
    assert w.loc["a", ["bad_score", "complained", "complaints"]].tolist() == [True, True, 2]
    en, zh = churn_reasons(w, "en"), churn_reasons(w, "zh")
    assert en["a"] == ("A-tier customer: no purchase for 100 days (warning after 90); last CSAT 1/5 on 3 Nov 2024; "
                       "2 complaints in the window.")  # fmt: skip
    assert en["b"] == "A-tier customer: no purchase for 120 days (warning after 90)."
    assert zh["a"] == "A类客户：已100天未购买（预警阈值90天）；2024年11月3日最近一次CSAT评分为1/5；窗口内投诉2次。"
    assert satisfaction_reasons(w, "en").to_dict() == {
        "a": "last CSAT 1/5 on 3 Nov 2024; 2 complaints in the window",
        "b": "",
    }
    # a custom scale and a single complaint
    m2 = _measures([("a", "2024-11-04", "2", "1-7", "1")], customers.index)
    w2 = churn_warnings(customers, as_of=as_of, satisfaction=m2)
    assert churn_reasons(w2, "en")["a"].endswith("; last score 2 (scale 1-7) on 4 Nov 2024; 1 complaint in the window.")


def test_the_per_customer_section_says_how_many_it_shows_and_where_the_rest_are() -> None:
    from analysis import text
    from analysis.grading import view
    from analysis.params import GradingParams

    assert GradingParams().shown_customers == 300
    table = pd.DataFrame({"segment": ["Lost"] * 5, "monetary": [5.0, 50.0, 20.0, 40.0, 10.0], "reason": "r"},
                         index=pd.Index(list("abcde"), name="customer_id"))  # fmt: skip
    shown = view.customer_view(table, 2)
    assert shown.index.tolist() == ["b", "d"]  # the two with the most spend
    key, values = view.shown_note(len(table), len(shown), 2, "2024-11-30", "1–30 Nov 2024")
    en = text.t(key, "en", **values)
    assert "**2 of the 5**" in en and "at most 2 (params grading.shown_customers)" in en
    assert "the other 3 are in `grading.csv`" in en
    assert "**5 位中的 2 位**" in text.t(key, "zh", **values) and "其余 3 位" in text.t(key, "zh", **values)
    key, values = view.shown_note(5, 5, 300, "2024-11-30", "1–30 Nov 2024")
    assert "Below, all 5" in text.t(key, "en", **values)


def test_the_audience_is_validated_and_can_name_value_classes() -> None:
    import copy

    import yaml

    from analysis.errors import PlaybookError
    from analysis.strategy.playbook import DEFAULT_PLAYBOOK, parse_playbook

    raw = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    no_audience = copy.deepcopy(raw)
    del no_audience["warnings"]["service_recovery"]["audience"]
    with pytest.raises(PlaybookError, match=r"warnings.service_recovery.audience: missing"):
        parse_playbook(no_audience)
    stray = copy.deepcopy(raw)
    stray["segments"]["Lost"]["audience"] = {"abc_class": ["A"]}
    with pytest.raises(PlaybookError, match=r"segments.Lost.audience: only the service_recovery play"):
        parse_playbook(stray)
    bad_band = copy.deepcopy(raw)
    bad_band["warnings"]["service_recovery"]["audience"]["satisfaction"] = ["angry"]
    with pytest.raises(PlaybookError, match="satisfaction"):
        parse_playbook(bad_band)
    # tiers A and B, only the value class 重要价值客户 (its English name works too): of the unhappy a, c, d, f, the
    # ones in A/B with that class are a and d
    raw["warnings"]["service_recovery"]["audience"] = {"abc_class": ["A", "B"], "value_class": ["Important value"]}
    customers = _customers().assign(
        value_class=["重要价值客户", "重要价值客户", "一般价值客户", "重要价值客户", "重要价值客户", "重要价值客户"],
        value_class_en=["Important value", "Important value", "General value", "Important value", "Important value",
                        "Important value"],
    )  # fmt: skip
    plan = apply_playbook(customers, parse_playbook(raw), satisfaction=_measures(FEEDBACK, customers.index))
    assert sorted(plan.assignments.index[plan.assignments["action_id"] == "service_recovery"]) == ["a", "d"]


def test_the_inputs_table_names_the_reasons_in_words() -> None:
    from analysis.grading import view
    from tests.grading.test_inputs_satisfaction import _feedback

    en = view.inputs_quality({"feedback": _feedback()}, "en").at["feedback", "reasons"]
    assert set(en.split("; ")) == {"a date that cannot be read: 1", "a score that is not a number: 1",
                                   "the customer id is empty: 1", "a score outside its scale: 1"}  # fmt: skip
    assert "评分超出其量表: 1" in view.inputs_quality({"feedback": _feedback()}, "zh").at["feedback", "reasons"]


def test_the_strategy_stage_judges_a_bad_score_by_the_params_threshold() -> None:
    """a (tier A, silent 92 days) answered CSAT 3/5 = 0.5 on 0–1: not below the default 0.5, below grading.unhappy_below
    0.7; the churn reason cites the score only with 0.7, as the satisfaction band calls a unhappy only then."""
    from analysis import stages
    from analysis.data.clean import CleanResult
    from analysis.params import parse_params
    from tests.conftest import tx

    log = tx([("a", "o1", "2024-03-10", 500), ("a", "o2", "2024-08-20", 500), ("b", "o3", "2024-11-05", 20),
              ("c", "o4", "2024-11-20", 5)])  # fmt: skip
    res = CleanResult(clean=log.assign(is_outlier=False, row_id=range(4)), quarantine=pd.DataFrame(),
                      returns=log.iloc[:0], quality={})  # fmt: skip
    clean = stages.cleaned(res, "2024-11")
    got = {}
    for below in (0.5, 0.7):
        params = parse_params({"periods": {"start": "2024-11", "end": "2024-11"}, "clv": {"enabled": False},
                               "grading": {"unhappy_below": below}})  # fmt: skip
        window = stages.run_window("2024-11", clean, params)
        scored = stages.score(clean.transactions, params, window.as_of, window.start, clv_check=False)
        raw = pd.DataFrame([("a", "2024-11-03", "3", "csat", "")], columns=["customer_id", "date", "score", "scale",
                                                                            "complaint"])  # fmt: skip
        m = satisfaction.customer_measures(scored.customers.index, inputs.clean_feedback(raw, SPEC).clean, None,
                                           window.as_of, SINCE, below)  # fmt: skip
        s = stages.strategy(clean.transactions, scored, params, "2024-11", window=window, returns=clean.returns,
                            satisfaction=m)  # fmt: skip
        assert list(s.warnings.index) == ["a"] and s.warnings.loc["a", "recency_days"] == 92
        reason = churn_reasons(s.warnings, "en")["a"]
        got[below] = (m.loc["a", "satisfaction"], bool(s.warnings.loc["a", "bad_score"]), reason)
    assert got[0.5][:2] == ("neutral", False) and "CSAT" not in got[0.5][2]
    assert got[0.7][:2] == ("unhappy", True) and got[0.7][2].endswith("; last CSAT 3/5 on 3 Nov 2024.")
