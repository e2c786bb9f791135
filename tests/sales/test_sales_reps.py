"""One report per sales rep (params ``reps``): the run's name, folder and scope."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.batch.runner import plan_runs
from analysis.errors import ParamsError
from analysis.params import parse_params
from analysis.regions import ALL_REGIONS, parse_region, region_name, region_slug, rep_run, run_rep
from analysis.sales.inputs import load_sales
from analysis.sales.run import sales_for_run
from analysis.stages import scope
from tests.sales.conftest import crm_frames, crm_params


def test_a_rep_run_is_written_rep_name() -> None:
    run = parse_region("rep:Ann Lee")
    assert run == rep_run("Ann Lee") and run_rep(run) == "Ann Lee" and run_rep("North") is None
    assert region_name(run) == "rep:Ann Lee" and parse_region(region_name(run)) == run
    assert region_slug(run).startswith("rep~") and region_slug(run) != region_slug("Ann Lee")
    # a data region literally named 'rep:x' is written region:rep:x
    assert region_name("rep:x") == "region:rep:x" and parse_region("region:rep:x") == "rep:x"


def test_reps_add_one_run_per_rep() -> None:
    base = {"periods": {"start": "2024-12", "end": "2024-12"}, "regions": ["North"], "include_all_regions": False}
    specs = plan_runs(parse_params({**base, "reps": ["B", "A"]}), ["North"], reps_in_data=["A", "B", "C"])
    assert [(s.period, region_name(s.region)) for s in specs] == [
        ("2024-12", "North"), ("2024-12", "rep:B"), ("2024-12", "rep:A"),
    ]  # fmt: skip
    every = plan_runs(parse_params({**base, "reps": "all"}), ["North"], reps_in_data=["A", "B"])
    assert [region_name(s.region) for s in every] == ["North", "rep:A", "rep:B"]
    assert [s.region for s in plan_runs(parse_params(base), ["North"])] == ["North"]
    with pytest.raises(ParamsError, match=r"rep\(s\) \['Z'\] in 'reps' sold nothing"):
        plan_runs(parse_params({**base, "reps": ["Z"]}), ["North"], reps_in_data=["A"])
    only = plan_runs(parse_params({**base, "reps": "all"}), ["North"], regions=["rep:B"], reps_in_data=["A", "B"])
    assert [region_name(s.region) for s in only] == ["rep:B"]


def test_a_rep_run_holds_only_the_reps_rows_and_deals() -> None:
    from analysis.data.clean import clean_transactions

    raw = pd.DataFrame(
        {
            "customer_id": ["c1", "c1", "c2"],
            "order_id": ["o1", "o2", "o3"],
            "order_date": ["2024-11-01", "2024-12-01", "2024-12-02"],
            "amount": ["10", "20", "30"],
            "sales_rep": ["Ann", "Bob", "Ann"],
            "region": ["East", "East", "West"],
        }
    )
    tx = clean_transactions(raw).clean
    mine = scope(tx, pd.Timestamp("2024-12-31"), rep_run("Ann"))
    assert sorted(mine["amount"].tolist()) == [10.0, 30.0] and set(mine["sales_rep"]) == {"Ann"}
    assert len(scope(tx, pd.Timestamp("2024-12-31"), ALL_REGIONS)) == 3
    data = load_sales(crm_params(), crm_frames())
    run = sales_for_run(crm_params(), "2017-12", rep_run("ann"), data=data)  # names matched ignoring case
    assert set(run.data.opportunities["sales_rep"]) == {"Ann"}
    assert run.scorecard["sales_rep"].tolist() == ["Ann"] and run.scorecard["won_value"].tolist() == [1000]


def test_one_rep_may_be_written_as_a_name() -> None:
    params = {"periods": {"start": "2024-12", "end": "2024-12"}}
    assert parse_params({**params, "reps": "N-rep1"}).reps == ["N-rep1"]
    assert parse_params({**params, "reps": "all"}).reps == "all" and parse_params(params).reps is None
