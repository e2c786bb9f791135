"""The same inputs and params, run twice (the second time alone, with --force), give byte-identical data
artifacts and report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main

pytestmark = pytest.mark.slow


def _files(run: Path) -> dict[str, bytes]:
    keep = {".csv", ".parquet", ".json", ".html"}
    return {
        p.relative_to(run).as_posix(): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.suffix in keep and p.name != "manifest.json" and "_executed" not in p.parts
    }


def test_force_rerun_is_byte_identical(published_batch: Path) -> None:
    """The run's published batch (tests/conftest.py, run once) against 2024-12/North run again alone with --force."""
    params = published_batch / "small.yaml"
    args = ["run", str(params), "--no-progress", "--force", "--period", "2024-12", "--region", "North"]
    run = published_batch / "reports" / "2024-12" / "North"
    first = _files(run)
    shutil.rmtree(run)
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 0 and "1 runs: 1 ok" in res.output, res.output
    second = _files(run)
    assert {"report.html", "customers.parquet", "customers.csv", "transactions.parquet"} <= set(first)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
