"""Closing the loop end to end: a two-month batch assigns control groups in month 1 and measures them in month 2;
an effect injected into the sample is recovered, and a re-run keeps the published assignments."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from analysis.cli import main
from analysis.data.sample import generate_transactions
from analysis.strategy.experiment import RESULT_COLUMNS, newcombe_interval
from tests.test_batch import small_params

pytestmark = pytest.mark.slow

#: The strategy notebook alone computes every stage the loop needs (clean, score, evaluation, strategy).
LOOP = {"regions": ["North"], "notebooks": ["04_strategy"]}
#: The 900-customer sample: North assigns 317 customers (33 in control), enough for what the tests check, with room:
#: with the effect injected the 99.9 % interval of the pooled uplift is about 0.10 to 0.56 around a truth of 0.41 and
#: the 95 % one starts at 0.23; without it the 99.9 % interval runs from -0.29 to 0.15. Each of the file's five runs
#: costs about two thirds of the CPU of one on the 1,500-customer sample (whose intervals are narrower still).
CUSTOMERS = 900
SAMPLE = {"format": "sample", "sample": {"customers": CUSTOMERS, "seed": 11}}


def _params(tmp: Path, **extra: object) -> Path:
    """The loop's params (North, the strategy notebook, :data:`SAMPLE`) written to ``tmp/small.yaml``."""
    return small_params(tmp, **{**LOOP, "source": SAMPLE, **extra})


SECTION = re.compile(r"Did last period(&#39;|&#x27;|')s actions work\?")


def _run(params: Path, *extra: str) -> str:
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress", *extra], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def _pooled(results: pd.DataFrame, alpha: float = 0.05) -> tuple[float, float, float]:
    """Uplift of all actions together, with its ``1 - alpha`` interval (every stratum holds out the same share, so
    pooling is unbiased).

    The checks below use a 99.9 % interval where a 95 % one would fail one time in twenty whenever an unrelated
    change of the scoring reshuffles the strata: the test then says "the truth is well inside", not "by luck".
    """
    x1, n1 = results["treated_responders"].sum(), results["treated_customers"].sum()
    x0, n0 = results["control_responders"].sum(), results["control_customers"].sum()
    return (x1 / n1 - x0 / n0, *newcombe_interval(x1, n1, x0, n0, alpha))


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A batch over Nov and Dec (nothing confirmed as sent: December measures nothing), then November's actions
    confirmed as sent (``rfmkit confirm-actions``, every treatment customer) and December run again."""
    tmp = tmp_path_factory.mktemp("loop")
    params = _params(tmp)
    _run(params)
    dec = tmp / "reports" / "2024-12" / "North"
    assert not (dec / "action_results.csv").exists()  # proposed, never confirmed: no measured uplift
    html = (dec / "report.html").read_text(encoding="utf-8")
    assert "Not measured: no record that the actions assigned in 2024-11 were sent" in html
    res = CliRunner().invoke(main, ["confirm-actions", str(params), "--period", "2024-11"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    _run(_params(tmp, periods={"start": "2024-12", "end": "2024-12"}), "--force")
    return tmp


def test_month_one_assigns_and_month_two_measures(batch: Path) -> None:
    nov, dec = batch / "reports" / "2024-11" / "North", batch / "reports" / "2024-12" / "North"
    groups = pd.read_parquet(nov / "actions" / "assignments.parquet")
    recorded = {"action", "segment", "group", "period", "region", "budget_per_customer", "uplift_rate"}
    assert recorded <= set(groups.columns) and groups["pseudonym"].str.startswith("c-").all()
    assert groups.index.name == "customer_id" and set(groups["period"]) == {"2024-11"}
    assert set(groups["region"]) == {"North"} and set(groups["group"]) == {"treatment", "control"}
    assert 0.06 < (groups["group"] == "control").mean() < 0.14  # 10 % per stratum, rounded at random
    # the CRM lists hold exactly the treatment group
    listed = pd.concat([pd.read_csv(p, dtype={"customer_id": str}) for p in (nov / "actions").glob("*.csv")])
    assert sorted(listed["customer_id"]) == sorted(groups.index[groups["group"] == "treatment"])
    assert not (nov / "action_results.csv").exists()  # nothing was assigned before November
    nov_html = (nov / "report.html").read_text(encoding="utf-8")
    assert SECTION.search(nov_html) and "No control-group assignments of 2024-10" in nov_html

    results = pd.read_csv(dec / "action_results.csv")
    assert list(results.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert {"uplift_used", "uplift_basis", "reason"} <= set(results.columns)
    assert set(results["period_assigned"]) == {"2024-11"} and set(results["window_end"]) == {"2024-12-31"}
    counts = groups.groupby(["action", "group"]).size().unstack(fill_value=0)
    measured = results.set_index("action")
    pd.testing.assert_series_equal(
        measured["treated_customers"], counts["treatment"].rename("treated_customers"), check_dtype=False
    )
    html = (dec / "report.html").read_text(encoding="utf-8")
    assert SECTION.search(html) and "Actions assigned in <strong>2024-11</strong>" in html
    assert "Which uplift the recommendations use" in html
    assert html.count("<img") == nov_html.count("<img") + 1  # the uplift chart
    # no effect was injected: all actions together show none
    _, low, high = _pooled(results, alpha=0.001)
    assert low <= 0 <= high, (low, high)


def test_a_rerun_keeps_the_published_assignments(batch: Path) -> None:
    nov = batch / "reports" / "2024-11" / "North"
    before = (nov / "actions" / "assignments.parquet").read_bytes()
    params = _params(batch, periods={"start": "2024-11", "end": "2024-11"})
    data = yaml.safe_load(params.read_text())
    data["experiment"] = {"seed": 99}  # another seed draws another split, but the published one is kept
    params.write_text(yaml.safe_dump(data))
    _run(params, "--force")
    assert (nov / "actions" / "assignments.parquet").read_bytes() == before
    assert (nov / "actions" / "sent.parquet").is_file()  # the confirmation survives a re-run of its month


def test_an_injected_effect_is_recovered_through_the_batch(batch: Path, tmp_path: Path) -> None:
    groups = pd.read_parquet(batch / "reports" / "2024-11" / "North" / "actions" / "assignments.parquet")
    log = generate_transactions(
        customers=CUSTOMERS,
        seed=11,
        treated=groups,
        treatment_effect=0.5,
        treatment_window=("2024-12-01", "2024-12-31"),
    )
    log.to_csv(tmp_path / "log.csv", index=False)
    shutil.copytree(batch / "reports" / "2024-11" / "North", tmp_path / "reports" / "2024-11" / "North")
    params = small_params(
        tmp_path,
        **LOOP,
        periods={"start": "2024-12", "end": "2024-12"},
        source={"format": "csv", "path": str(tmp_path / "log.csv")},
    )
    _run(params)
    with_effect = pd.read_csv(tmp_path / "reports" / "2024-12" / "North" / "action_results.csv")
    without = pd.read_csv(batch / "reports" / "2024-12" / "North" / "action_results.csv")
    # each treated customer buys once more with probability 0.5; those who bought anyway count once
    natural = without["treated_responders"].sum() / without["treated_customers"].sum()
    truth = 0.5 * (1 - natural)
    uplift, low, high = _pooled(with_effect, alpha=0.001)
    assert low <= truth <= high, (truth, uplift, low, high)
    assert _pooled(with_effect)[1] > 0  # and the 95 % interval excludes no effect
    assert (with_effect["control_responders"].to_numpy() == without["control_responders"].to_numpy()).all()
    html = (tmp_path / "reports" / "2024-12" / "North" / "report.html").read_text(encoding="utf-8")
    assert SECTION.search(html)


def test_evaluate_actions_writes_the_batchs_action_results(batch: Path, tmp_path: Path) -> None:
    """rfmkit evaluate-actions runs the batch's evaluation stage and writes its file: byte for byte the
    action_results.csv of the run that measured the same assignments (formula-safe, the same columns and window)."""
    clean = next((batch / "reports" / "_data").glob("clean-*"))
    res = CliRunner().invoke(
        main,
        [
            "evaluate-actions", "--assigned", str(batch / "reports" / "2024-11" / "North"), "--data", str(clean),
            "--params", str(batch / "small.yaml"), "--out", str(tmp_path),
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "measured over 2024-12-01..2024-12-31" in res.output
    mine = (tmp_path / "action_results.csv").read_bytes()
    assert mine.startswith(b"\xef\xbb\xbf")
    assert mine == (batch / "reports" / "2024-12" / "North" / "action_results.csv").read_bytes()
