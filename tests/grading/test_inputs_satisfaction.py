"""Feedback, contacts, attributes and KANO inputs on real-shaped rows, each figure against a hand computation."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.errors import MissingColumnError
from analysis.grading import attributes as attrs
from analysis.grading import inputs, kano, satisfaction
from analysis.params import CustomerInputParams, GradeWeights, SourceParams

SPEC = CustomerInputParams(source=SourceParams(format="csv", path="x.csv"))
AS_OF = pd.Timestamp("2024-11-30")


def _feedback() -> inputs.InputResult:
    raw = pd.DataFrame(
        {
            "Kunde": ["a", "a", "b", "c", "NULL", "d", "e", "f", "g"],
            "Datum": ["2024-10-01", "2024-11-20", "2024-11-02", "2024-11-05", "2024-11-05", "bad", "2024-11-01",
                      "2024-11-01", "2023-01-01"],
            "Note": ["4", "2", "9", "5", "3", "4", "x", "6", "1"],
            "scale": ["csat", "csat", "nps", "stars", "csat", "csat", "csat", "csat", "csat"],
            "complaint": ["", "yes", "no", "0", "", "", "", "", "是"],
        }
    )  # fmt: skip
    spec = CustomerInputParams(source=SPEC.source, columns={"customer_id": "Kunde", "date": "Datum", "score": "Note"})
    return inputs.clean_feedback(raw, spec, "fb.csv")


def test_feedback_scores_on_different_scales_and_every_row_accounted_for() -> None:
    res = _feedback()
    q = res.quality
    assert q["rows_in"] == q["rows_clean"] + q["rows_quarantined"] == 9
    assert q["reasons"] == {"bad_date": 1, "bad_score": 1, "missing_customer_id": 1, "score_off_scale": 1}
    fb = res.clean.set_index(["customer_id", "date"])
    # CSAT 4 of 1–5 → 0.75; NPS 9 of 0–10 → 0.9; stars 5 of 1–5 → 1
    assert fb.loc[("a", pd.Timestamp("2024-10-01")), "score_01"] == pytest.approx(0.75)
    assert fb.loc[("b", pd.Timestamp("2024-11-02")), "score_01"] == pytest.approx(0.9)
    assert fb.loc[("c", pd.Timestamp("2024-11-05")), "score_01"] == pytest.approx(1.0)
    assert bool(fb.loc[("g", pd.Timestamp("2023-01-01")), "complaint"])  # 是 = yes
    assert res.quarantine["reason"].tolist() == ["missing_customer_id", "bad_date", "bad_score", "score_off_scale"]


def test_a_missing_required_column_names_the_fix() -> None:
    with pytest.raises(MissingColumnError, match=r"grading.feedback.columns"):
        inputs.clean_feedback(pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-01"]}), SPEC, "fb.csv")


def test_per_customer_measures_by_hand_with_customers_without_feedback() -> None:
    fb = _feedback().clean
    it = inputs.clean_interactions(
        pd.DataFrame({"customer_id": ["a", "a", "z", "b"],
                      "date": ["2024-11-01", "2024-11-25", "2024-11-02", "2024-01-01"],
                      "type": ["Call", "E-mail", "visit", "chat"], "direction": ["in", "outbound", "in", ""]}),
        SPEC,
    ).clean  # fmt: skip
    customers = pd.Index(["a", "b", "c", "x"], name="customer_id")
    since = pd.Timestamp("2024-10-31")  # window 1–30 Nov
    m = satisfaction.customer_measures(customers, fb, it, AS_OF, since, unhappy_below=0.5)
    # a: one answer in the window (20 Nov: CSAT 2 → 0.25) with a complaint; the October answer is outside
    assert m.at["a", "feedback_count"] == 1 and m.at["a", "mean_score_01"] == pytest.approx(0.25)
    assert m.at["a", "complaints"] == 1 and m.at["a", "satisfaction"] == "unhappy"
    assert m.at["b", "nps_class"] == "promoter" and m.at["b", "satisfaction"] == "happy"
    assert m.at["x", "feedback_count"] == 0 and pd.isna(m.at["x", "mean_score_01"])
    assert m.at["x", "satisfaction"] == "no feedback"
    # contacts in the window: a has 2 (1 inbound), 5 days since the last; b's January chat is outside
    assert m.at["a", "contacts"] == 2 and m.at["a", "inbound_contacts"] == 1 and m.at["a", "days_since_contact"] == 5
    assert m.at["b", "contacts"] == 0 and pd.isna(m.at["b", "days_since_contact"])
    leads = satisfaction.contacts_without_purchases(it, customers, AS_OF, since)
    assert leads.index.tolist() == ["z"] and leads.at["z", "contacts"] == 1


def test_value_satisfaction_grid() -> None:
    customers = pd.DataFrame(
        {"abc_class": ["A", "A", "B", "C"], "monetary": [500.0, 300.0, 100.0, 10.0], "segment": ["Champions"] * 4},
        index=pd.Index(["a", "b", "c", "x"], name="customer_id"),
    )
    m = satisfaction.customer_measures(customers.index, _feedback().clean, None, AS_OF, pd.Timestamp("2024-10-31"))
    grid = satisfaction.value_satisfaction_grid(customers, m)
    assert grid.loc["A", ("customers", "unhappy")] == 1 and grid.loc["A", ("spend", "unhappy")] == 500.0
    assert grid.loc["A", ("customers", "happy")] == 1 and grid.loc["C", ("customers", "no feedback")] == 1
    assert int(grid["customers"].to_numpy().sum()) == 4
    # the service-recovery play (tier A and unhappy) and churn reasons: tests/grading/test_recovery_churn.py


def test_overall_grade_uses_the_weights_and_skips_missing_criteria() -> None:
    customers = pd.DataFrame(
        {"r_score": [5, 1], "f_score": [5, 1], "m_score": [3, 1]}, index=pd.Index(["a", "x"], name="customer_id")
    )
    measures = pd.DataFrame({"mean_score_01": [0.25, None]}, index=pd.Index(["a", "x"], name="customer_id"))
    w = GradeWeights(recency=2, frequency=1, monetary=1, satisfaction=1, contacts=0)
    g = satisfaction.overall_grade(customers, measures, w)
    # a: (2×1 + 1×1 + 1×0.5 + 1×0.25) / 5 = 0.75 → A; x: no satisfaction, (0 + 0 + 0) / 4 = 0 → D
    assert g.at["a", "grade_score"] == pytest.approx(0.75) and g.at["a", "grade"] == "A"
    assert g.at["x", "grade"] == "D" and g.at["x", "points_to_next"] == pytest.approx(0.25)
    words = satisfaction.grade_sentences(g, w, "en")
    # x needs 0.25 points × weight 4 / weight 2 = 0.5 of recency (the cheapest)
    assert words.at["x", "grade_move_up"] == "0.25 more points make them C: e.g. recency up by 0.50 (on 0–1)."


def test_attributes_missing_for_some_customers_and_the_drill_down() -> None:
    raw = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "a"], "birth_year": ["1990", "1950", "", "1980"],
         "province": ["Zhejiang", "Zhejiang", "Sichuan", "X"], "city": ["Hangzhou", "Ningbo", "Chengdu", "Y"]}
    )  # fmt: skip
    res = inputs.clean_attributes(raw, SPEC, AS_OF)
    assert res.quality["reasons"] == {"duplicate_customer": 1}
    a = res.clean.set_index("customer_id")
    assert a.at["a", "age_band"] == "25-34" and a.at["b", "age_band"] == "65+" and pd.isna(a.at["c", "age_band"])
    customers = pd.DataFrame(
        {"segment": ["Champions", "Lost", "Champions", "Lost"], "monetary": [100.0, 10.0, 50.0, 20.0],
         "first_purchase": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-11-03", "2024-02-01"]),
         "last_purchase": pd.to_datetime(["2024-11-10", "2024-03-01", "2024-11-03", "2024-11-20"])},
        index=pd.Index(["a", "b", "c", "x"], name="customer_id"),
    )  # fmt: skip
    prof = attrs.attribute_profile(customers, res.clean, "province", pd.Timestamp("2024-11-01"))
    assert prof["customers"].sum() == 4 and prof.at["(missing)", "customers"] == 1
    # Zhejiang: a (kept) and b (not) first bought before November → retention 1/2; spend (100 + 10) / 2
    assert prof.at["Zhejiang", "retention"] == pytest.approx(0.5)
    assert prof.at["Zhejiang", "spend_per_customer"] == pytest.approx(55.0)
    drill = attrs.drill_down(customers, res.clean, pd.Timestamp("2024-11-01"))
    assert drill.loc[("Zhejiang", "Hangzhou"), "customers"] == 1 and drill["customers"].sum() == 4
    seg = attrs.segment_by_attribute(customers, res.clean, "province")
    assert seg.at["Zhejiang", "Champions"] == pytest.approx(0.5) and seg.at["Zhejiang", "customers"] == 2


def test_kano_evaluation_by_hand_with_questionable_answers() -> None:
    rows = [("f1", 1, 5)] * 3 + [("f1", 2, 5)] * 2 + [("f1", 1, 1)]  # O O O M M Q
    rows += [("f2", 1, 3)] * 2 + [("f2", 3, 3)] * 2  # A A I I: tie → A (M > O > A > I)
    raw = pd.DataFrame(
        [(f"r{i}", "", f, str(a), str(b)) for i, (f, a, b) in enumerate(rows)] + [("r9", "", "f1", "6", "1")],
        columns=["respondent_id", "customer_id", "feature", "functional", "dysfunctional"],
    )
    res = inputs.clean_kano(raw, SPEC)
    assert res.quality["reasons"] == {"bad_answer": 1}
    t = kano.kano_table(res.clean)
    assert t.loc["f1", ["M", "O", "A", "I", "R", "Q"]].tolist() == [2, 3, 0, 0, 0, 1]
    assert t.at["f1", "category"] == "O" and t.at["f2", "category"] == "A"
    # Better = (A + O) / (A + O + M + I) = 3 / 5; Worse = −(O + M) / 5 = −1
    assert t.at["f1", "better"] == pytest.approx(0.6) and t.at["f1", "worse"] == pytest.approx(-1.0)
    assert t.at["f2", "better"] == pytest.approx(0.5) and t.at["f2", "worse"] == pytest.approx(0.0)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.conftest import examples  # noqa: E402

SHAPES = ["", "NULL", "(blank)", "5", "-1", "11", "2024-11-01"]
CELLS = st.one_of(st.none(), st.text(max_size=8), st.sampled_from(SHAPES))


@settings(max_examples=examples(40), deadline=None)
@given(st.lists(st.tuples(CELLS, CELLS, CELLS, CELLS, CELLS), min_size=1, max_size=12))
def test_any_feedback_rows_end_clean_or_set_aside_with_a_reason(rows: list[tuple]) -> None:
    raw = pd.DataFrame(rows, columns=["customer_id", "date", "score", "scale", "complaint"])
    res = inputs.clean_feedback(raw, SPEC)
    q = res.quality
    assert q["rows_in"] == len(raw) == q["rows_clean"] + q["rows_quarantined"]
    assert set(res.quarantine["reason"]) <= set(inputs.REASONS)
    clean = res.clean
    assert clean["score_01"].between(0, 1).all() and clean["customer_id"].notna().all() and clean["date"].notna().all()


def test_params_name_a_misspelt_input_column_and_a_bad_scale() -> None:
    from analysis.errors import ParamsError
    from analysis.params import parse_params

    base = {"periods": {"start": "2024-11", "end": "2024-11"}}
    with pytest.raises(ParamsError, match=r"grading.feedback: unknown canonical column\(s\) \['scor'\]"):
        parse_params({**base, "grading": {"feedback": {"source": {"format": "sample"}, "columns": {"scor": "x"}}}})
    with pytest.raises(ParamsError, match="weights"):
        parse_params({**base, "grading": {"weights": {"satisfaction": -1}}})
    with pytest.raises(ParamsError, match=r"scale '1-to-5' is not csat \(1–5\), nps \(0–10\)"):
        parse_params({**base, "grading": {"feedback": {"source": {"format": "sample"}, "scale": "1-to-5"}}})
    assert parse_params({**base, "grading": {"feedback": {"source": {"format": "sample"}, "scale": "1-7"}}})
