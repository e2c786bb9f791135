"""The sample inputs have a known structure and the criterion review and KANO recover it."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.data.clean import clean_transactions
from analysis.data.sample import generate_transactions
from analysis.grading import inputs, kano, review, sample
from analysis.params import CleaningParams, CustomerInputParams, SourceParams

SPEC = CustomerInputParams(source=SourceParams(format="sample"))
AS_OF = pd.Timestamp("2024-11-30")


@pytest.fixture(scope="module")
def log() -> pd.DataFrame:
    raw = generate_transactions(customers=2000, seed=11)
    return clean_transactions(raw, {}, CleaningParams(), origin="sample").clean


@pytest.mark.parametrize("predicts", [True, False])
def test_the_review_says_whether_satisfaction_predicts_buying(log: pd.DataFrame, predicts: bool) -> None:
    fb = inputs.clean_feedback(sample.sample_feedback(log, 11, predicts=predicts), SPEC).clean
    it = inputs.clean_interactions(sample.sample_interactions(log, 11), SPEC).clean
    got = review.review(log, AS_OF, feedback=fb, interactions=it, folds=4, seed=0)
    assert got is not None
    row = got.table.loc["satisfaction"]
    assert bool(row["adds"]) is predicts, got.table
    assert bool(got.table.at["recency", "adds"])  # recency always predicts the next purchase in a BG/NBD log
    words = review.review_sentences(got, "en")
    sat = next(s for s in words if s.startswith("satisfaction"))
    assert ("keep it" in sat) is predicts and ("consider dropping it" in sat) is not predicts


def test_the_sample_kano_survey_recovers_its_categories(log: pd.DataFrame) -> None:
    res = inputs.clean_kano(sample.sample_kano(log, 11), SPEC)
    table = kano.kano_table(res.clean)
    assert table["category"].to_dict() == sample.KANO_TRUTH
    assert table["Q"].sum() > 0  # the contradictory answers are counted as questionable
    # by segment: respondents who are customers only
    with_customer = res.clean[res.clean["customer_id"].notna()].assign(segment="x")
    by = kano.kano_table(with_customer, by="segment")
    assert by["answers"].sum() == len(with_customer)


def test_sample_inputs_reconcile_and_have_the_shapes_real_exports_have(log: pd.DataFrame) -> None:
    fb = inputs.clean_feedback(sample.sample_feedback(log, 11), SPEC)
    assert fb.quality["rows_in"] == fb.quality["rows_clean"] + fb.quality["rows_quarantined"]
    assert set(fb.quality["reasons"]) == {"missing_customer_id", "score_off_scale", "bad_date"}
    assert set(fb.clean["scale"]) == {"csat", "nps", "stars"}
    it = inputs.clean_interactions(sample.sample_interactions(log, 11), SPEC).clean
    bought = set(log["customer_id"].astype(str))
    assert (~it["customer_id"].isin(bought)).sum() == 80  # contacts without purchases (40 leads, 2 each)
    at = inputs.clean_attributes(sample.sample_attributes(log, 11), SPEC, AS_OF)
    assert at.quality["reasons"] == {"duplicate_customer": 1}
    assert 0 < len(at.clean) < len(bought)  # some customers have no attributes
