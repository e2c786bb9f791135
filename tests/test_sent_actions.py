"""Measure only what was sent (issue 18, item 5): a run's groups are proposed; only actions that
``rfmkit confirm-actions`` recorded as sent are measured the next period, the others say why not; control customers
stay held out either way. Every figure below is recomputed by hand from the raw rows."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import stages
from analysis.artifacts import read_sent
from analysis.cli import main
from analysis.data.sample import generate_transactions
from analysis.missing import Missing
from analysis.params import RunParams, load_params
from analysis.pipeline import open_run
from analysis.strategy.experiment import confirm_sent, sent_groups
from analysis.text import t
from tests.test_batch import ROOT


def _groups() -> pd.DataFrame:
    """Action a: treated c1 c2 c3, held out c4 c5; action b: treated c6 c7, held out c8 (assigned in 2024-11)."""
    rows = [
        ("c1", "a", "treatment"), ("c2", "a", "treatment"), ("c3", "a", "treatment"),
        ("c4", "a", "control"), ("c5", "a", "control"),
        ("c6", "b", "treatment"), ("c7", "b", "treatment"), ("c8", "b", "control"),
    ]  # fmt: skip
    g = pd.DataFrame(rows, columns=["customer_id", "action", "group"]).set_index("customer_id")
    return g.assign(period="2024-11", region="North", pseudonym=[f"p-{i}" for i in g.index])


#: December purchases (the measurement window of November's actions), and one November purchase of c2.
TX = pd.DataFrame(
    {
        "customer_id": ["c1", "c1", "c3", "c4", "c6", "c2", "c5"],
        "order_date": pd.to_datetime(
            ["2024-12-03", "2024-12-20", "2024-12-31", "2024-12-15", "2024-12-01", "2024-11-30", "2025-01-01"]
        ),
        "amount": [10.0, 4.0, 5.0, 20.0, 7.0, 99.0, 50.0],
    }
)
PARAMS = RunParams.model_validate({"periods": {"start": "2024-12", "end": "2024-12"}})


def test_the_record_holds_sent_treatment_customers_only() -> None:
    conf = confirm_sent(_groups(), pd.Series(["c1", "p-c2", "c4", "nobody", " c1 "]))
    assert list(conf.record.index) == ["c1", "c2"]  # c2 by its pseudonym, as the CRM lists carry it
    assert set(conf.record["action"]) == {"a"} and conf.control == 1 and conf.unmatched == 1
    every = confirm_sent(_groups())  # without a file: every treatment customer
    assert list(every.record.index) == ["c1", "c2", "c3", "c6", "c7"]


def test_without_a_record_nothing_is_measured() -> None:
    ev = stages.evaluation(TX, _groups(), PARAMS, "2024-12")
    assert isinstance(ev.results, Missing) and ev.results.key == "actions_not_sent"
    assert ev.not_sent == ("a", "b")
    for language in ("en", "zh"):
        assert "2024-11" in ev.results.reason(language) and "confirm-actions" in ev.results.reason(language)
    assert ev.results.reason("en").startswith("Not measured: no record that")


def test_a_sent_action_is_measured_by_intention_to_treat() -> None:
    """The CRM reached c1 and c2 of a's treated c1, c2, c3: every treated customer of a is measured against a's whole
    control group (comparing only the reached with the randomised control group is biased when the CRM reaches
    only some), with the share contacted and the effect on those reached beside it."""
    groups = _groups()
    sent = confirm_sent(groups, pd.Series(["c1", "c2"])).record
    measured, not_sent = sent_groups(groups, sent)
    assert sorted(measured.index) == ["c1", "c2", "c3", "c4", "c5"] and not_sent == ["b"]
    assert measured["contacted"].to_dict() == {"c1": True, "c2": True, "c3": False, "c4": False, "c5": False}
    ev = stages.evaluation(TX, groups, PARAMS, "2024-12", sent=sent)
    assert ev.not_sent == ("b",)
    (row,) = ev.results.to_dict("records")
    # by hand, 1-31 Dec: treated c1 (10 + 4), c2 (its purchase is on 30 Nov) and c3 (5, not reached): 2 of 3 bought,
    # 19 / 3 each on average; held out c4 (20) and c5 (its purchase is on 1 Jan): 1 of 2, 10.0 each
    assert (row["action"], row["window_start"], row["window_end"]) == ("a", "2024-12-01", "2024-12-31")
    assert (row["treated_customers"], row["control_customers"], row["contacted_customers"]) == (3, 2, 2)
    assert row["share_contacted"] == pytest.approx(2 / 3)
    assert (row["treated_responders"], row["control_responders"]) == (2, 1)
    assert row["treated_revenue_per_customer"] == pytest.approx(19 / 3) and row["control_revenue_per_customer"] == 10.0
    assert row["uplift"] == pytest.approx(2 / 3 - 1 / 2)
    assert row["uplift_reached"] == pytest.approx((2 / 3 - 1 / 2) / (2 / 3))  # 0.25
    assert row["revenue_uplift_reached"] == pytest.approx((19 / 3 - 10.0) / (2 / 3))  # -5.50
    assert row["incremental_revenue"] == pytest.approx((19 / 3 - 10.0) * 3)


def _params(tmp: Path) -> Path:
    data = {
        "title": "Sent",
        "source": {"format": "sample", "sample": {"customers": 400, "seed": 5}},
        "periods": {"start": "2024-11", "end": "2024-12"},
        "regions": ["North"],
        "include_all_regions": False,
        "playbook": str(ROOT / "analysis" / "strategy" / "playbook.yaml"),
        "notebooks_dir": str(ROOT / "notebooks"),
        "output_dir": str(tmp / "reports"),
    }
    path = tmp / "sent.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_backfilled_month_measures_nothing_until_confirmed(tmp_path: Path) -> None:
    """The runner over Nov and Dec without a confirmation: Dec writes no action_results.csv. After
    ``rfmkit confirm-actions --period 2024-11 --sent FILE``, Dec measures exactly November's sent actions."""
    path = _params(tmp_path)
    params = load_params(path)
    out = Path(params.output_dir)
    nov = open_run(params, "2024-11", "North", run_dir=out / "2024-11" / "North")
    nov.get("strategy")  # publishes the proposed groups
    groups = pd.read_parquet(out / "2024-11" / "North" / "actions" / "assignments.parquet")
    dec_dir = out / "2024-12" / "North"
    dec = open_run(params, "2024-12", "North", run_dir=dec_dir)
    assert isinstance(dec.get("evaluation").results, Missing) and not (dec_dir / "action_results.csv").exists()

    # the CRM sent the first action to all but one of its treated customers, and nothing else; a control customer
    # slipped into its export
    treated = groups[groups["group"] == "treatment"]
    first = sorted(treated["action"].unique())[0]
    contacted = sorted(treated.index[treated["action"] == first])[:-1]
    control = groups.index[groups["group"] == "control"][0]
    crm = tmp_path / "crm_export.csv"
    pd.DataFrame({"customer_id": [*contacted, control, "not-a-customer"]}).to_csv(crm, index=False)
    res = CliRunner().invoke(
        main, ["confirm-actions", str(path), "--period", "2024-11", "--region", "North", "--sent", str(crm)]
    )
    assert res.exit_code == 0, res.output
    assert f"{len(contacted):,} of {len(treated):,} treatment customers recorded as sent" in res.output
    assert "in a control group" in res.output and "1 id(s)" in res.output
    assert sorted(read_sent(out / "2024-11" / "North").index) == contacted

    dec = open_run(params, "2024-12", "North", run_dir=dec_dir)
    ev = dec.get("evaluation")
    results = pd.read_csv(dec_dir / "action_results.csv")
    assert list(results["action"]) == [first]
    assert set(ev.not_sent) == set(groups["action"]) - {first}
    # by hand from the raw rows: December purchases (amount > 0) of North's customers
    raw = generate_transactions(customers=400, seed=5)
    day = pd.to_datetime(raw["order_date"], errors="coerce", format="%Y-%m-%d")  # the log's bad dates are quarantined
    amount = pd.to_numeric(raw["amount"], errors="coerce")
    north = raw["region"].astype(str).str.strip().str.casefold() == "north"
    dec_rows = raw[(day >= "2024-12-01") & (day <= "2024-12-31") & (amount > 0) & north]
    buyers = set(dec_rows["customer_id"].astype(str).str.strip())
    held = groups.index[(groups["group"] == "control") & (groups["action"] == first)].astype(str)
    row = results.iloc[0]
    # intention to treat: every treatment customer of the sent action, the contacted ones counted beside them
    every = set(treated.index[treated["action"] == first].astype(str))
    assert (row["treated_customers"], row["control_customers"]) == (len(every), len(held))
    assert row["contacted_customers"] == len(contacted)
    assert row["share_contacted"] == pytest.approx(len(contacted) / len(every))
    assert row["treated_responders"] == len(buyers & every)
    assert row["control_responders"] == len(buyers & set(held))

    # confirming again without a file adds every treatment customer; the control customer stays held out
    res = CliRunner().invoke(main, ["confirm-actions", str(path), "--period", "2024-11"])
    assert res.exit_code == 0, res.output
    assert set(read_sent(out / "2024-11" / "North").index) == set(treated.index.astype(str))


def test_confirm_actions_names_what_is_missing(tmp_path: Path) -> None:
    path = _params(tmp_path)
    res = CliRunner().invoke(main, ["confirm-actions", str(path), "--period", "2024-11"])
    assert res.exit_code == 2 and "no published run of 2024-11 with control groups" in res.output
    res = CliRunner().invoke(main, ["confirm-actions", str(path), "--period", "Nov"])
    assert res.exit_code == 2 and "expected a month written YYYY-MM" in res.output


def test_catalog_texts_exist_in_both_languages() -> None:
    for language in ("en", "zh"):
        assert "confirm-actions" in t("experiment.not_sent", language, actions="x", period="2024-11")


@settings(max_examples=60, deadline=None)
@given(
    groups=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c"]), st.sampled_from(["treatment", "control"])), min_size=1, max_size=30
    ),
    contacted=st.lists(st.integers(min_value=0, max_value=40), max_size=40),
    by_pseudonym=st.booleans(),
)
def test_a_crm_export_never_sends_a_control_customer(groups, contacted, by_pseudonym) -> None:
    """Whatever the CRM exports: the record is exactly the treatment customers it lists (by id or pseudonym), the
    measured groups keep every customer of a sent action (the listed ones marked contacted), and nothing of an
    unsent action is measured."""
    frame = pd.DataFrame(groups, columns=["action", "group"], index=pd.Index([f"k{i}" for i in range(len(groups))]))
    frame = frame.rename_axis("customer_id").assign(pseudonym=[f"c-{i}" for i in range(len(groups))])
    ids = pd.Series([("c-" if by_pseudonym else "k") + str(i) for i in contacted], dtype=str)
    conf = confirm_sent(frame, ids)
    listed = {f"k{i}" for i in contacted if i < len(groups)}
    treated = set(frame.index[frame["group"] == "treatment"])
    assert set(conf.record.index) == listed & treated
    assert conf.control == len(listed - treated)
    assert conf.unmatched == len({i for i in contacted if i >= len(groups)})
    measured, not_sent = sent_groups(frame, conf.record)
    sent_actions = set(conf.record["action"])
    assert set(not_sent) == set(frame["action"]) - sent_actions
    assert set(measured["action"]) == sent_actions
    control = frame[(frame["group"] == "control") & frame["action"].isin(sent_actions)]
    assert set(measured.index[measured["group"] == "control"]) == set(control.index)
    treated_sent = frame[(frame["group"] == "treatment") & frame["action"].isin(sent_actions)]
    assert set(measured.index[measured["group"] == "treatment"]) == set(treated_sent.index)  # intention to treat
    assert set(measured.index[measured["contacted"]]) == set(conf.record.index)
