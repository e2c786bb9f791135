"""The grading stage through the runner: grading.csv for every customer in both languages, agreeing with the
scored grades, and a run without the optional inputs that says which inputs would enable each part."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.missing import Missing
from analysis.params import parse_params
from analysis.pipeline import open_run

INPUTS = {name: {"source": {"format": "sample"}} for name in ("feedback", "interactions", "attributes", "kano")}


def _params(tmp: Path, grading: dict | None = None):
    data = {
        "source": {"format": "sample", "sample": {"customers": 600, "seed": 5}},
        "periods": {"start": "2024-11", "end": "2024-11"},
        "clv": {"enabled": False},
        "output_dir": str(tmp / "reports"),
        "grading": grading or {},
    }
    return parse_params(data)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object, pd.DataFrame]:
    tmp = tmp_path_factory.mktemp("grading")
    run = open_run(_params(tmp, INPUTS), "2024-11", "North", tmp / "run")
    result = run.get("grading")
    return tmp / "run", result, run.get("score").customers


def test_grading_csv_has_every_customer_with_reasons_in_both_languages(graded) -> None:
    run_dir, _result, customers = graded
    csv = pd.read_csv(run_dir / "grading.csv", dtype={"customer_id": str}, encoding="utf-8-sig").set_index(
        "customer_id"
    )
    assert sorted(csv.index) == sorted(customers.index.astype(str))
    assert csv["pseudonym"].str.startswith("c-").all()
    for col in ("reason", "move_up", "reason_zh", "move_up_zh"):
        assert csv[col].fillna("").str.len().gt(0).all(), col
    # the grades in grading.csv are the scored grades
    for col in ("segment", "value_class", "abc_class", "lifecycle_stage"):
        assert (csv[col] == customers[col].reindex(csv.index).astype(str)).all(), col
    top = csv["segment"] == "Champions"
    assert (csv.loc[~top, "next_grade"].fillna("") != "").all()
    assert (csv.loc[top, "next_grade"].fillna("") == "").all()


def test_the_recovery_list_is_the_strategys_crm_list(graded) -> None:
    run_dir, result, customers = graded
    assert not (run_dir / "service_recovery.csv").exists()  # one list: the action's
    crm = pd.read_csv(run_dir / "actions" / "service_recovery.csv", dtype={"customer_id": str}, encoding="utf-8-sig")
    assert sorted(crm["customer_id"]) == sorted(result.recovery.index.astype(str))
    band = result.measures["satisfaction"].reindex(crm["customer_id"])
    assert (band == "unhappy").all() and (customers["abc_class"].reindex(crm["customer_id"]) == "A").all()


def test_a_regions_kano_counts_only_its_customers(graded) -> None:
    _, result, customers = graded
    survey = result.inputs["kano"].clean
    mine = survey["customer_id"].isin(customers.index.astype(str)).sum()
    assert 0 < result.kano["answers"].sum() == mine < len(survey)


def test_without_the_optional_inputs_each_part_names_its_input(tmp_path: Path) -> None:
    run = open_run(_params(tmp_path), "2024-11", run_dir=tmp_path / "run")
    result = run.get("grading")
    assert (tmp_path / "run" / "grading.csv").is_file()
    assert not (tmp_path / "run" / "actions" / "service_recovery.csv").exists()
    plan = run.get("strategy").plan
    assert plan.untargeted == {"service_recovery": "strategy.untargeted.no_satisfaction"}
    assert any("cannot be targeted" in n for n in plan.note_texts("en"))
    for part, name in (("grid", "feedback"), ("leads", "interactions"), ("attributes", "attributes"),
                       ("kano", "kano")):  # fmt: skip
        missing = getattr(result, part)
        assert isinstance(missing, Missing)
        assert f"grading.{name}" in missing.reason("en") and f"grading.{name}" in missing.reason("zh")
    assert list(result.review.table.index) == ["recency", "frequency", "monetary"]


def test_a_region_with_two_customers_and_sample_inputs_that_miss_them() -> None:
    """Real shapes: a region of two customers, the sample inputs made from a four-row log (nobody answers, no
    attributes for some): the section still grades everyone and says what it cannot show."""
    from analysis import stages
    from analysis.data.clean import CleanResult
    from analysis.grading.stage import grade
    from tests.conftest import tx

    log = tx([("a", "o1", "2024-10-01", 10), ("a", "o2", "2024-11-05", 20), ("b", "o3", "2024-11-20", 5),
              ("c", "o4", "2023-01-01", 99)])  # fmt: skip
    log = log.assign(region=["N", "N", "N", "S"], is_outlier=False, row_id=range(4))
    res = CleanResult(clean=log, quarantine=pd.DataFrame(), returns=log.iloc[:0], quality={})
    params = parse_params({"periods": {"start": "2024-11", "end": "2024-11"}, "clv": {"enabled": False},
                           "grading": INPUTS})  # fmt: skip
    clean = stages.cleaned(res, "2024-11", "N")
    window = stages.run_window("2024-11", clean, params)
    scored = stages.score(clean.transactions, params, window.as_of, window.start, clv_check=False)
    strategy = stages.strategy(clean.transactions, scored, params, "2024-11", window=window, returns=clean.returns)
    result = grade(clean, scored, strategy, params, window, "N")
    assert sorted(result.table.index) == ["a", "b"]
    assert result.table["reason"].str.len().gt(0).all() and result.table["move_up"].str.len().gt(0).all()
    assert isinstance(result.review, Missing)  # two customers: nothing to learn from
    assert "criterion review" in result.review.reason("en").lower()


def test_a_kano_file_of_non_customers(tmp_path: Path) -> None:
    """A KANO survey read from a CSV whose respondents are not customers: all regions shows it, unsplit by segment;
    a region's run (which shows only its customers) has no answer to show, and says so."""
    from analysis import stages
    from analysis.data.clean import CleanResult
    from analysis.grading.stage import grade
    from analysis.regions import ALL_REGIONS
    from tests.conftest import tx

    survey = tmp_path / "kano.csv"
    survey.write_text("who,kunde,feature,f,d\nr1,zzz,Free delivery,2,5\nr2,,Free delivery,1,1\nr3,,x,9,1\n")
    kano_in = {
        "source": {"format": "csv", "path": str(survey)},
        "columns": {"respondent_id": "who", "customer_id": "kunde", "functional": "f", "dysfunctional": "d"},
    }
    log = tx([("a", "o1", "2024-10-01", 10), ("b", "o3", "2024-11-20", 5)])
    log = log.assign(region=["N", "N"], is_outlier=False, row_id=range(2))
    res = CleanResult(clean=log, quarantine=pd.DataFrame(), returns=log.iloc[:0], quality={})
    params = parse_params({"periods": {"start": "2024-11", "end": "2024-11"}, "clv": {"enabled": False},
                           "grading": {"kano": kano_in}})  # fmt: skip
    got = {}
    for region in (ALL_REGIONS, "N"):
        clean = stages.cleaned(res, "2024-11", region)
        window = stages.run_window("2024-11", clean, params)
        scored = stages.score(clean.transactions, params, window.as_of, window.start, clv_check=False)
        strategy = stages.strategy(clean.transactions, scored, params, "2024-11", window=window, returns=clean.returns)
        got[region] = grade(clean, scored, strategy, params, window, region)
    everyone = got[ALL_REGIONS]
    assert everyone.inputs["kano"].quality["reasons"] == {"bad_answer": 1}
    # r1: (expect, dislike) = must-be; r2: (like, like) = questionable
    assert everyone.kano.loc["Free delivery", ["M", "Q", "answers"]].tolist() == [1, 1, 2]
    assert everyone.kano_respondents == 2
    assert everyone.kano_by_segment.key == "grading_no_kano_customers"
    assert got["N"].kano.key == "grading_no_kano_answers"
