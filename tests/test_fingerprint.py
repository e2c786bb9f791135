"""Fingerprints that follow outputs (issue 22 item 5): parameters that cannot change an output (timeouts, jobs,
the region cap) re-run nothing; the batch says which parameter change made a run run again."""

from __future__ import annotations

import json
from pathlib import Path

from analysis.batch.runner import RunSpec, _fingerprint, changed_params, output_params, rerun_reason
from analysis.params import RunParams, dump_params


def _params(**extra) -> dict:
    return dump_params(RunParams(periods={"start": "2024-12", "end": "2024-12"}, **extra))


SPEC = RunSpec("2024-12", "North", "/tmp/x")


def test_timeouts_and_jobs_do_not_change_the_fingerprint() -> None:
    base = _fingerprint(_params(), "clean", "v1", SPEC)
    for execution in ({"timeout_seconds": 5}, {"notebook_timeout_seconds": 99}, {"jobs": 7}):
        assert _fingerprint(_params(execution=execution), "clean", "v1", SPEC) == base, execution
    assert _fingerprint(_params(max_regions=3), "clean", "v1", SPEC) == base
    # what does change an output does re-run
    assert _fingerprint(_params(rfm={"partial_period": "period_end"}), "clean", "v1", SPEC) != base
    assert _fingerprint(_params(language="zh"), "clean", "v1", SPEC) != base
    assert _fingerprint(_params(execution={"kernel": "other"}), "clean", "v1", SPEC) != base
    assert (
        _fingerprint(_params(), "clean2", "v1", SPEC) != base and _fingerprint(_params(), "clean", "v2", SPEC) != base
    )
    assert "timeout_seconds" not in output_params(_params())["execution"]


def test_changed_params_are_named_dotted() -> None:
    a, b = _params(), _params(rfm={"partial_period": "period_end"}, title="Other")
    assert changed_params(a, b) == ["rfm.partial_period", "title"]
    assert changed_params(a, a) == []


def test_the_rerun_reason_names_the_parameter(tmp_path: Path) -> None:
    run = tmp_path / "North"
    run.mkdir()
    assert rerun_reason(run, _params(), "c") == ""  # never run: nothing to explain
    manifest = {"status": "ok", "params": _params(), "input": {"clean_sha256": "c"}}
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert rerun_reason(run, _params(rfm={"partial_period": "period_end"}), "c") == (
        "parameter changed: rfm.partial_period"
    )
    assert rerun_reason(run, _params(), "other") == "the cleaned data changed"
    assert rerun_reason(run, _params(execution={"timeout_seconds": 5}), "c") == "its report is missing"
    (run / "report.html").write_text("x", encoding="utf-8")
    assert rerun_reason(run, _params(), "c") == "the code, the notebooks or the pseudonym key changed"
    manifest["status"] = "failed"
    (run / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert rerun_reason(run, _params(), "c") == "its last run failed"


def test_the_batch_summary_says_why_runs_ran_again(tmp_path: Path) -> None:
    from analysis.batch.runner import BatchResult, RunResult

    runs = [RunResult("2024-12", r, str(tmp_path / r), "ok") for r in ("North", "South")]
    reruns = {
        "2024-12/North": "parameter changed: rfm.partial_period",
        "2024-12/South": "parameter changed: rfm.partial_period",
    }
    text = BatchResult(runs, tmp_path / "index.html", tmp_path, 1.0, reruns).summary()
    assert "  ran again (parameter changed: rfm.partial_period): 2024-12/North, 2024-12/South" in text.splitlines()
    assert "ran again" not in BatchResult(runs, tmp_path / "index.html", tmp_path, 1.0).summary()
