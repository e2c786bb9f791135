"""Control groups and measured uplift (analysis.strategy.experiment), the sample's known treatment effect,
and ``rfmkit evaluate-actions``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.artifacts import write_sent
from analysis.cli import main
from analysis.data.clean import clean_transactions
from analysis.data.sample import generate_transactions
from analysis.errors import InputError, ParamsError, PlaybookError
from analysis.strategy.experiment import (
    RESULT_COLUMNS,
    assign_groups,
    confirm_sent,
    control_shares,
    keep_published,
    learn_uplift,
    learned_playbook,
    measure_uplift,
    measurement_window,
    newcombe_interval,
    power_two_proportions,
    results_table,
    run_seed,
    shrink,
    welch_interval,
)
from analysis.strategy.playbook import load_playbook, parse_playbook

WINDOW = ("2024-12-01", "2024-12-31")


def _assignments(sizes: dict[tuple[str, str], int]) -> pd.DataFrame:
    rows = []
    for (action, segment), n in sizes.items():
        rows += [{"action_id": action, "segment": segment, "budget": 5.0, "uplift_rate": 0.05}] * n
    ids = pd.Index([f"K{i:05d}" for i in range(len(rows))], name="customer_id")
    return pd.DataFrame(rows, index=ids)


SIZES = {
    ("call", "At Risk"): 403,
    ("call", "Cannot Lose Them"): 57,
    ("mail", "Champions"): 1210,
    ("mail", "Lost"): 3,
    ("none", "Hibernating"): 88,
}


def test_split_is_stratified_by_segment_with_each_actions_share() -> None:
    a = _assignments(SIZES)
    shares = {"call": 0.25, "mail": 0.10, "none": 0.0}
    g = assign_groups(a, shares, seed=7, period="2024-11", region="North")
    assert list(g.columns[:7]) == ["action", "segment", "group", "control_share", "period", "region", "seed"]
    assert g.index.name == "customer_id" and len(g) == len(a) and set(g["group"]) == {"treatment", "control"}
    held = g[g["group"] == "control"].groupby(["action", "segment"]).size()
    for (action, segment), n in SIZES.items():
        expected = n * shares[action]
        assert math.floor(expected) <= held.get((action, segment), 0) <= math.ceil(expected), (action, segment)
    assert "none" not in held.index.get_level_values(0)
    assert (g["period"] == "2024-11").all() and (g["region"] == "North").all()
    assert g["budget_per_customer"].eq(5.0).all() and g["uplift_rate"].eq(0.05).all()


def test_tiny_strata_still_hold_out_the_share_on_average() -> None:
    a = _assignments({("mail", f"s{i}"): 3 for i in range(400)})  # 400 strata of 3: 0.3 controls each
    g = assign_groups(a, 0.10, seed=1, period="2024-11")
    assert 0.08 < (g["group"] == "control").mean() < 0.12


def test_split_is_deterministic_and_independent_of_row_order() -> None:
    a = _assignments(SIZES)
    one = assign_groups(a, 0.2, seed=3, period="2024-11", region="North")
    again = assign_groups(a.sample(frac=1.0, random_state=5), 0.2, seed=3, period="2024-11", region="North")
    pd.testing.assert_frame_equal(one, again)
    assert one["seed"].iloc[0] == str(run_seed(3, "2024-11", "North"))
    other_period = assign_groups(a, 0.2, seed=3, period="2024-12", region="North")
    other_seed = assign_groups(a, 0.2, seed=4, period="2024-11", region="North")
    assert not one["group"].equals(other_period["group"]) and not one["group"].equals(other_seed["group"])
    # a new customer in one stratum leaves every other stratum's split as it was
    extra = pd.concat([a, _assignments({("mail", "Champions"): 1}).rename(index={"K00000": "Z99999"})])
    grown = assign_groups(extra, 0.2, seed=3, period="2024-11", region="North")
    others = one.index[one["segment"] != "Champions"]
    pd.testing.assert_series_equal(one.loc[others, "group"], grown.loc[others, "group"])


def test_split_takes_a_pseudonym_and_rejects_bad_input() -> None:
    a = _assignments({("mail", "Champions"): 5})
    pseudo = pd.Series([f"p{i}" for i in range(5)], index=a.index[::-1])
    g = assign_groups(a, 0.1, seed=0, period="2024-11", pseudonym=pseudo)
    assert g.loc["K00000", "pseudonym"] == "p4"
    with pytest.raises(InputError, match="control_share"):
        assign_groups(a, 1.0, seed=0, period="2024-11")
    with pytest.raises(InputError, match="segment"):
        assign_groups(a.drop(columns="segment"), 0.1, seed=0, period="2024-11")
    with pytest.raises(InputError, match="more than once"):
        assign_groups(pd.concat([a, a]), 0.1, seed=0, period="2024-11")


def test_newcombe_interval_matches_the_published_example() -> None:
    # Newcombe (1998), Table II, example (a): 56/70 − 48/80, method 10: 0.0524 to 0.3339
    low, high = newcombe_interval(56, 70, 48, 80)
    assert round(low, 4) == 0.0524 and round(high, 4) == 0.3339
    low, high = newcombe_interval(0, 10, 0, 20)  # no responders at all: a finite interval around 0
    assert low < 0 < high


def test_intervals_cover_the_true_uplift_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2024)
    n1, n0, p0, p1 = 900, 100, 0.08, 0.12  # 10 % held out, a small base rate: where Wald undercovers
    rate_hits = revenue_hits = 0
    experiments = 200
    for _ in range(experiments):
        x1, x0 = rng.binomial(n1, p1), rng.binomial(n0, p0)
        low, high = newcombe_interval(x1, n1, x0, n0)
        rate_hits += low <= p1 - p0 <= high
        # revenue: most spend nothing, buyers spend a skewed amount (mean 50 in treatment, 40 in control)
        r1 = rng.binomial(1, 0.3, n1) * rng.gamma(2.0, 25.0, n1)
        r0 = rng.binomial(1, 0.3, n0) * rng.gamma(2.0, 20.0, n0)
        low, high = welch_interval(r1, r0)
        revenue_hits += low <= 0.3 * 50 - 0.3 * 40 <= high
    assert 0.90 <= rate_hits / experiments <= 0.99
    assert 0.90 <= revenue_hits / experiments <= 0.99


def test_power_matches_the_textbook_sample_size() -> None:
    # Fleiss: 686 per group detect 10 % → 15 % with 80 % power at α = 0.05 (two-sided)
    assert power_two_proportions(0.10, 0.05, 686, 686) == pytest.approx(0.80, abs=0.002)
    # by hand for unequal groups: p1 = .3, p0 = .2, n1 = 300, n0 = 100
    pbar = (300 * 0.3 + 100 * 0.2) / 400
    z = (0.1 - 1.959964 * math.sqrt(pbar * (1 - pbar) * (1 / 300 + 1 / 100))) / math.sqrt(
        0.3 * 0.7 / 300 + 0.2 * 0.8 / 100
    )
    assert power_two_proportions(0.2, 0.1, 300, 100) == pytest.approx(0.5 * (1 + math.erf(z / math.sqrt(2))), 1e-6)
    assert power_two_proportions(0.2, 0.1, 30, 10) < 0.2 < power_two_proportions(0.2, 0.1, 3000, 1000)
    assert math.isnan(power_two_proportions(0.2, 0.1, 30, 0))


def test_shrinkage_by_hand() -> None:
    # prior 0.05 ± 0.05 (precision 400), measured 0.01 with SE 0.025 (precision 1600): weight 0.8
    s = shrink(0.01, 0.05, precision=1600.0, prior_precision=400.0)
    assert s.weight == pytest.approx(0.8)
    assert s.mean == pytest.approx(0.8 * 0.01 + 0.2 * 0.05)
    assert s.sd == pytest.approx(math.sqrt(1 / 2000))
    assert shrink(0.3, 0.05, precision=0.0, prior_precision=400.0).mean == pytest.approx(0.05)
    with pytest.raises(InputError, match="precision must be >= 0 and prior_precision > 0"):
        shrink(0.3, 0.05, precision=1.0, prior_precision=0.0)


def test_learning_uses_the_measurement_only_with_enough_evidence() -> None:
    base = {"period_assigned": "2024-11", "assumed_uplift": 0.05}
    results = pd.DataFrame(
        [
            # 4000/1000 customers, 400 vs 60 responders: a tight interval → measured, shrunk
            {"action": "big", "treated_customers": 4000, "control_customers": 1000, "treated_responders": 400,
             "control_responders": 60, **base},
            # 20 controls only
            {"action": "few", "treated_customers": 180, "control_customers": 20, "treated_responders": 30,
             "control_responders": 2, **base},
            # enough customers, but the interval is wider than the assumed 5 points
            {"action": "wide", "treated_customers": 270, "control_customers": 30, "treated_responders": 60,
             "control_responders": 5, **base},
        ]
    )  # fmt: skip
    ci = [newcombe_interval(*r) for r in results[
        ["treated_responders", "treated_customers", "control_responders", "control_customers"]
    ].itertuples(index=False)]  # fmt: skip
    results["uplift"] = results.treated_responders / results.treated_customers - (
        results.control_responders / results.control_customers
    )
    results["uplift_ci_low"], results["uplift_ci_high"] = zip(*ci, strict=True)
    learned = learn_uplift(results, prior_sd=0.05)
    assert learned["uplift_basis"].to_dict() == {"big": "measured", "few": "assumed", "wide": "assumed"}
    assert learned["reason"].to_dict() == {"big": "enough", "few": "few_customers", "wide": "wide_interval"}
    big = learned.loc["big"]
    p1, p0 = 401 / 4002, 61 / 1002
    precision = 1 / (p1 * (1 - p1) / 4002 + p0 * (1 - p0) / 1002)
    w = precision / (precision + 400)
    assert big["uplift_used"] == pytest.approx(w * 0.04 + (1 - w) * 0.05)
    assert 0.04 < big["uplift_used"] < 0.05 and big["weight_measured"] > 0.8
    assert learned.loc["few", "uplift_used"] == 0.05


def test_measurement_window_and_bad_windows() -> None:
    assert measurement_window("2024-12") == (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-01-31"))
    assert measurement_window("2024-11", 2)[1] == pd.Timestamp("2025-01-31")
    g = assign_groups(_assignments({("mail", "Champions"): 5}), 0.2, seed=0, period="2024-11")
    tx = pd.DataFrame({"customer_id": ["K00000"], "order_date": [pd.Timestamp("2024-12-02")], "amount": [3.0]})
    with pytest.raises(InputError, match="before it starts"):
        measure_uplift(g, tx, "2024-12-31", "2024-12-01")
    with pytest.raises(InputError, match="amount"):
        measure_uplift(g, tx.drop(columns="amount"), *WINDOW)


# ------------------------------------------------------------------------------------ through the sample log

CUSTOMERS = 6000
SEED = 21


@pytest.fixture(scope="module")
def experiment() -> pd.DataFrame:
    """Everyone who bought by the end of November, split half/half per region (two actions)."""
    base = clean_transactions(generate_transactions(customers=CUSTOMERS, seed=SEED, end="2024-12-31")).clean
    known = base[base["order_date"] <= "2024-11-30"].groupby("customer_id")["region"].first()
    a = pd.DataFrame(
        {
            "action_id": np.where(known.index.str[-1].isin(list("01234")), "call", "mail"),
            "segment": known.to_numpy(),
            "budget": 2.0,
            "uplift_rate": 0.05,
        },
        index=pd.Index(known.index, name="customer_id"),
    )
    return assign_groups(a, 0.5, seed=1, period="2024-11", region="all")


def _measured(groups: pd.DataFrame, effect: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = generate_transactions(
        customers=CUSTOMERS, seed=SEED, treated=groups, treatment_effect=effect, treatment_window=WINDOW
    )
    clean = clean_transactions(raw).clean
    return measure_uplift(groups, clean, *WINDOW), clean


def test_an_injected_effect_is_recovered_within_its_interval(experiment: pd.DataFrame) -> None:
    results, _ = _measured(experiment, 0.10)
    without, _ = _measured(experiment, 0.0)
    assert list(results.columns) == list(RESULT_COLUMNS)
    assert results["period_assigned"].eq("2024-11").all() and results["window_start"].eq("2024-12-01").all()
    for (_, r), (_, r0) in zip(results.iterrows(), without.iterrows(), strict=True):
        # each treated customer buys once more with probability 0.10; those who buy anyway count once
        truth = 0.10 * (1 - r0["treated_response_rate"])
        assert r["uplift_ci_low"] <= truth <= r["uplift_ci_high"], (r["action"], truth)
        assert r["uplift_ci_low"] > 0 and r["revenue_uplift_ci_low"] > 0
        assert r["control_response_rate"] == r0["control_response_rate"]  # the control group is untouched
        assert r["incremental_revenue"] == pytest.approx(r["revenue_uplift"] * r["treated_customers"])
        assert r["budget"] == 2.0 * r["treated_customers"]
        assert r["roi"] == pytest.approx((r["incremental_revenue"] - r["budget"]) / r["budget"])
        assert r["power"] > 0.8 and r["detectable"]


def test_no_injected_effect_finds_none(experiment: pd.DataFrame) -> None:
    results, _ = _measured(experiment, 0.0)
    for _, r in results.iterrows():
        assert r["uplift_ci_low"] <= 0 <= r["uplift_ci_high"], r["action"]
        assert r["revenue_uplift_ci_low"] <= 0 <= r["revenue_uplift_ci_high"], r["action"]
        assert r["treated_customers"] + r["control_customers"] == (experiment["action"] == r["action"]).sum()


def test_the_effect_adds_rows_only_for_treated_customers_in_the_window(experiment: pd.DataFrame) -> None:
    plain = generate_transactions(customers=800, seed=3)
    pd.testing.assert_frame_equal(plain, generate_transactions(customers=800, seed=3, treatment_effect=0.0))
    treated = [f"C{100000 + i}" for i in range(0, 800, 3)]
    more = generate_transactions(customers=800, seed=3, treated=treated, treatment_effect=0.5, treatment_window=WINDOW)
    extra = more[~more["order_id"].isin(plain["order_id"])]
    assert 0.35 * len(treated) < len(extra) < 0.65 * len(treated)
    assert extra["customer_id"].isin(treated).all() and extra["order_date"].between(*WINDOW).all()
    pd.testing.assert_frame_equal(more[more["order_id"].isin(plain["order_id"])].reset_index(drop=True), plain)
    with pytest.raises(ParamsError, match="treatment_window"):
        generate_transactions(customers=50, treated=treated, treatment_effect=0.1)


def test_cli_evaluate_actions(tmp_path: Path, experiment: pd.DataFrame) -> None:
    run = tmp_path / "reports" / "2024-11" / "all"
    (run / "actions").mkdir(parents=True)
    experiment.to_parquet(run / "actions" / "assignments.parquet")
    cli = CliRunner()
    assigned = str(run / "actions" / "assignments.parquet")
    log = str(tmp_path / "log.csv")
    sample = ["sample", "--out", log, "--customers", str(CUSTOMERS), "--seed", str(SEED)]
    res = cli.invoke(main, [*sample, "--effect", "0.1"])
    assert res.exit_code == 2 and "needs --treated" in res.output
    res = cli.invoke(main, [*sample, "--treated", assigned, "--effect", "0.1", "--window", "2024-12-01..2024-12-31"])
    assert res.exit_code == 0, res.output
    raw = generate_transactions(
        customers=CUSTOMERS, seed=SEED, treated=experiment, treatment_effect=0.10, treatment_window=WINDOW
    )
    pd.testing.assert_frame_equal(pd.read_csv(log, dtype=str, keep_default_na=False), raw)
    res = cli.invoke(main, ["clean", log, "--out", str(tmp_path / "clean")])
    assert res.exit_code == 0, res.output
    evaluate = ["evaluate-actions", "--assigned", str(run), "--data", str(tmp_path / "clean"), "--out", str(tmp_path)]
    res = cli.invoke(main, evaluate)  # proposed only: nothing recorded as sent
    assert res.exit_code == 2 and "Not measured: no record that the actions assigned in 2024-11 were sent" in res.output
    write_sent(run, confirm_sent(experiment).record)  # what rfmkit confirm-actions records without --sent
    res = cli.invoke(main, evaluate)
    assert res.exit_code == 0, res.output
    assert "2 action(s) assigned in 2024-11 measured over 2024-12-01..2024-12-31" in res.output
    table = pd.read_csv(tmp_path / "action_results.csv")
    # the batch's file: the measurement, then which uplift the recommendations use and why
    assert list(table.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert set(table["action"]) == {"call", "mail"}
    assert list(table.columns[len(RESULT_COLUMNS) :]) == [
        "reliable", "reliability", "enough_evidence", "shrunk_uplift", "weight_measured", "uplift_used", "uplift_basis",
        "reason",
    ]  # fmt: skip
    assert table["reliable"].all() and table["reliability"].isna().all()  # 1,450 customers a group, many orders
    assert (table["uplift_ci_low"] > 0).all()
    # two months after November, on data that end on 31 December: measured as the batch would, with a note
    two = ["--window-months", "2", "--out", str(tmp_path / "w2")]
    res = cli.invoke(main, ["evaluate-actions", "--assigned", str(run), "--data", str(tmp_path / "clean"), *two])
    assert res.exit_code == 0, res.output
    assert "measured over 2024-12-01..2025-01-31" in res.output
    assert "the data end on 2024-12-31, before the window's last day 2025-01-31" in res.output
    wider = pd.read_csv(tmp_path / "w2" / "action_results.csv")
    assert set(wider["window_end"]) == {"2025-01-31"}
    assert (wider["treated_customers"] == table["treated_customers"]).all()
    res = cli.invoke(main, ["evaluate-actions", "--assigned", str(tmp_path), "--data", str(tmp_path), "--out", "x"])
    assert res.exit_code == 2 and "assignments.parquet: not found" in res.output


def test_playbook_control_share() -> None:
    playbook = load_playbook()
    assert {p.control_share for p in playbook.plays()} == {0.10}
    data = playbook.model_dump()
    data["segments"]["Lost"]["control_share"] = 1.0
    with pytest.raises(PlaybookError, match=r"segments\.Lost\.control_share"):
        parse_playbook(data)


def test_published_assignments_are_kept_and_new_customers_drawn() -> None:
    a = _assignments({("mail", "Champions"): 40})
    published = assign_groups(a, 0.5, seed=1, period="2024-11")
    grown = pd.concat([a, _assignments({("mail", "Champions"): 3}).rename(index=lambda i: "N" + i[1:])])
    fresh = assign_groups(grown, 0.5, seed=2, period="2024-11")
    kept = keep_published(published, fresh)
    pd.testing.assert_frame_equal(kept.loc[published.index], published)
    assert set(kept.index) == set(grown.index) and not fresh.loc[published.index, "group"].equals(published["group"])
    pd.testing.assert_frame_equal(keep_published(published, published.iloc[:5]), published)


def test_learned_uplift_replaces_the_assumption_of_measured_plays_only() -> None:
    playbook = load_playbook()
    learned = pd.DataFrame(
        {"uplift_used": [0.021, -0.01], "uplift_basis": ["measured", "assumed"]},
        index=pd.Index(["reward_champions", "upsell_loyal"], name="action"),
    )
    new = learned_playbook(playbook, learned)
    assert new.segments["Champions"].uplift_rate == 0.021
    assert new.segments["Loyal Customers"].uplift_rate == playbook.segments["Loyal Customers"].uplift_rate
    assert new.warnings == playbook.warnings and playbook.segments["Champions"].uplift_rate == 0.03
    assert control_shares(playbook)["retention_call"] == 0.10


def test_results_table_says_which_uplift_is_used(experiment: pd.DataFrame) -> None:
    results, _ = _measured(experiment, 0.10)
    table = results_table(results, learn_uplift(results))
    assert list(table.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert set(table["uplift_basis"]) == {"measured"} and set(table["reason"]) == {"enough"}
    # 1,450 customers a group: the measurement outweighs the playbook's ±5-point prior
    assert (table["weight_measured"] > 0.9).all()
    assert (abs(table["uplift_used"] - table["uplift"]) < abs(table["uplift"] - table["assumed_uplift"])).all()


def test_the_evaluation_stage(experiment: pd.DataFrame) -> None:
    from analysis import stages
    from analysis.params import parse_params

    params = parse_params({"periods": {"start": "2024-11", "end": "2024-12"}})
    _, clean = _measured(experiment, 0.10)
    tx = clean[clean["order_date"] <= "2024-12-20"]
    from analysis.strategy.experiment import confirm_sent

    # nothing confirmed as sent: nothing is measured, and the report says which actions were not measured
    unsent = stages.evaluation(tx, experiment, params, "2024-12", as_of=pd.Timestamp("2024-12-20"))
    assert unsent.results.key == "actions_not_sent" and set(unsent.not_sent) == {"call", "mail"}
    sent = confirm_sent(experiment).record  # every treatment customer sent
    ev = stages.evaluation(tx, experiment, params, "2024-12", as_of=pd.Timestamp("2024-12-20"), sent=sent)
    assert ev.period_assigned == "2024-11" and ev.window == (pd.Timestamp("2024-12-01"), pd.Timestamp("2024-12-20"))
    assert set(ev.results["window_end"]) == {"2024-12-20"} and set(ev.learned.index) == {"call", "mail"}
    none = stages.evaluation(tx, None, params, "2024-12")
    assert none.results.key == "no_earlier_assignments" and "2024-11" in none.results.reason("en")
    off = parse_params({"periods": {"start": "2024-12", "end": "2024-12"}, "experiment": {"enabled": False}})
    assert stages.evaluation(tx, experiment, off, "2024-12").learned.key == "experiment_disabled"
    two = parse_params({"periods": {"start": "2024-12", "end": "2024-12"}, "experiment": {"window_months": 2}})
    assert stages.evaluation(tx, None, two, "2024-12").window[0] == pd.Timestamp("2024-11-01")
