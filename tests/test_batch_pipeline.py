"""The batch runs the pipeline: params validated once and handed to every notebook, every run file written by the
runner whichever notebooks are listed (tests/test_batch.py has the reports themselves)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.pipeline import RUN_PARAMS, STAGES
from tests.test_batch import small_params

pytestmark = pytest.mark.slow


def _run_files(run: Path) -> dict[str, bytes]:
    """What the stages wrote: every file but the report, the manifest (timings), the executed notebooks and the
    batch's hidden marks."""
    return {
        p.relative_to(run).as_posix(): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file()
        and p.name not in ("report.html", "manifest.json")
        and "_executed" not in p.parts
        and not p.name.startswith(".")
    }


#: A 900-customer sample: what these tests check (the flag reaching the notebooks, run files whichever notebooks are
#: listed) does not depend on its size, and North's score stage (the CLV fit) takes 2.5 times the CPU at the default
#: 1,500 customers, in each of the four runs.
SAMPLE = {"format": "sample", "sample": {"customers": 900, "seed": 11}}


def _large_batch(tmp: Path, **extra: object) -> Path:
    """Two months over a cap of one month: only ``--allow-large`` lets the batch (and so its notebooks) run."""
    params = small_params(
        tmp, source=SAMPLE, regions=["North"], periods={"start": "2024-11", "end": "2024-12", "max_months": 1}, **extra
    )
    refused = CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    assert refused.exit_code != 0 and "--allow-large" in refused.output
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress", "--allow-large"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "2 runs: 2 ok" in res.output
    return tmp / "reports"


@pytest.fixture(scope="module")
def large(tmp_path_factory) -> Path:
    return _large_batch(tmp_path_factory.mktemp("large"))


def test_allow_large_reaches_every_notebook(large: Path) -> None:
    for period in ("2024-11", "2024-12"):
        run = large / period / "North"
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["status"] == "ok" and (run / "report.html").is_file()
        html = (run / "report.html").read_text(encoding="utf-8")
        assert "failed" not in manifest["timings_seconds"] and "This run failed" not in html
        # the notebooks ran on the params the fingerprint describes: the file they were handed is the manifest's
        assert json.loads((run / RUN_PARAMS).read_text(encoding="utf-8")) == manifest["params"]
        executed = (run / "_executed" / "02_scoring.ipynb").read_text(encoding="utf-8")
        assert RUN_PARAMS.split("/")[-1] in executed and "small.yaml" not in executed


def test_run_files_do_not_depend_on_the_notebooks_listed(large: Path, tmp_path: Path) -> None:
    """A batch of the cleaning notebook alone leaves the files of a batch of every notebook, byte for byte:
    the customers, the actions, what the earlier month's actions earned and headline.json (which only the summary
    notebook shows) included."""
    reports = _large_batch(tmp_path, notebooks=["01_cleaning"])
    for period in ("2024-11", "2024-12"):
        alone, every = _run_files(reports / period / "North"), _run_files(large / period / "North")
        assert {"headline.json", "customers.csv", "actions.csv", "transactions.parquet"} <= set(alone)
        assert sorted(alone) == sorted(every)
        assert [name for name in alone if alone[name] != every[name]] == []
        manifest = json.loads((reports / period / "North" / "manifest.json").read_text(encoding="utf-8"))
        assert set(manifest["timings_seconds"]) == {"01_cleaning", "run files", "render"}
    assert "action_results.csv" not in alone  # 2024-11's actions were never confirmed as sent: nothing measured
    assert set(STAGES) >= {"clean", "score", "segments", "evaluation", "strategy", "summary"}
