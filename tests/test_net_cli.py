"""The CLI commands net returns exactly as the batch does (docs/cancellations.md): up to the run's as_of."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.artifacts import write_sent
from analysis.cli import main
from analysis.strategy.experiment import assign_groups, confirm_sent

# order_id, customer_id, order_date, amount: a negative line is a return of that order
LOG = [
    ("o1", "A", "2024-10-05", 10.0),
    ("o2", "B", "2024-10-05", 10.0),
    ("o3", "C", "2024-10-05", 10.0),
    ("o4", "D", "2024-10-05", 10.0),
    ("o5", "A", "2024-12-03", 100.0),
    ("o5", "A", "2024-12-04", -100.0),  # cancelled in full the next day: no December purchase
    ("o6", "B", "2024-12-03", 60.0),
    ("o6", "B", "2025-01-10", -60.0),  # returned after December: December still holds the sale
    ("o7", "C", "2024-12-05", 40.0),
    ("o8", "D", "2024-12-05", 30.0),
    ("o9", "D", "2025-01-12", 5.0),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("net_cli")
    pd.DataFrame(LOG, columns=["order_id", "customer_id", "order_date", "amount"]).to_csv(tmp / "log.csv", index=False)
    res = CliRunner().invoke(main, ["clean", str(tmp / "log.csv"), "--out", str(tmp / "clean")])
    assert res.exit_code == 0, res.output
    return tmp


@pytest.mark.parametrize("source", ["clean", "clean/clean.parquet", "log.csv"])
def test_evaluate_actions_nets_returns_up_to_the_runs_as_of(folder: Path, tmp_path: Path, source: str) -> None:
    """November's mail measured over December (the batch's 2024-12 run, as_of 31 December): A and D held out,
    B and C treated. A's order is cancelled on 4 December (no purchase); B's return on 10 January is after the
    run's as_of, so B's 60 stays. Treated: (60 + 40) / 2 = 50, both bought; control: (0 + 30) / 2 = 15, one bought.
    """
    ids = pd.Index(["A", "B", "C", "D"], name="customer_id")
    plan = pd.DataFrame({"action_id": "mail", "segment": "Champions", "budget": 1.0, "uplift_rate": 0.05}, index=ids)
    groups = assign_groups(plan, 0.5, seed=1, period="2024-11")
    assert groups["group"].to_dict() == {"A": "control", "B": "treatment", "C": "treatment", "D": "control"}
    run = tmp_path / "reports" / "2024-11" / "all"
    (run / "actions").mkdir(parents=True)
    groups.to_parquet(run / "actions" / "assignments.parquet")
    write_sent(run, confirm_sent(groups).record)
    args = ["evaluate-actions", "--assigned", str(run), "--data", str(folder / source), "--out", str(tmp_path)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    (row,) = pd.read_csv(tmp_path / "action_results.csv").to_dict("records")
    assert (row["window_start"], row["window_end"]) == ("2024-12-01", "2024-12-31")
    assert (row["treated_responders"], row["control_responders"]) == (2, 1)
    assert row["treated_revenue_per_customer"] == pytest.approx(50.0)
    assert row["control_revenue_per_customer"] == pytest.approx(15.0)


@pytest.mark.parametrize("source", ["clean/clean.parquet", "log.csv"])
def test_score_nets_only_the_returns_made_up_to_as_of(folder: Path, tmp_path: Path, source: str) -> None:
    """Scored on 31 December, B's 60 of 3 December counts (its return comes on 10 January): 10 + 60 = 70 over
    two orders; A's cancelled order is no order (10 over one)."""
    out = tmp_path / "scores.csv"
    args = ["score", str(folder / source), "--as-of", "2024-12-31", "--no-clv", "--out", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    scores = pd.read_csv(out).set_index("customer_id")
    assert scores.loc[["A", "B", "C", "D"], "monetary"].tolist() == pytest.approx([10.0, 70.0, 50.0, 40.0])
    assert scores.loc[["A", "B"], "frequency"].tolist() == [1, 2]


def test_clv_log_nets_each_period_up_to_its_own_end(folder: Path) -> None:
    """rfmkit clv's log: calibration to 31 December nets A's cancellation (4 December) but not B's return of
    10 January; with a holdout to 31 January B's return lowers nothing after the calibration end either (its
    purchase is in the calibration), so B keeps 60 and D's 5 of 12 January is in the holdout."""
    from analysis.cli import _clv_log
    from analysis.data.store import load_clean

    result = load_clean(folder / "clean")
    cal, hold = pd.Timestamp("2024-12-31"), pd.Timestamp("2025-01-31")
    for log in (_clv_log(result, cal), _clv_log(result, cal, hold)):
        spend = log.groupby("customer_id")["amount"].sum()
        assert spend.to_dict() == pytest.approx({"A": 10.0, "B": 70.0, "C": 50.0, "D": 45.0})
        assert len(log) == 8  # 9 clean lines less A's cancelled one
