"""The same inputs and params, run twice with --force, give byte-identical data artifacts and report."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from analysis.cli import main
from tests.test_batch import small_params

pytestmark = pytest.mark.slow


def _files(run: Path) -> dict[str, bytes]:
    keep = {".csv", ".parquet", ".json", ".html"}
    return {
        p.relative_to(run).as_posix(): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.suffix in keep and p.name != "manifest.json" and "_executed" not in p.parts
    }


def test_force_rerun_is_byte_identical(tmp_path: Path) -> None:
    params = small_params(tmp_path, periods={"start": "2024-12", "end": "2024-12"}, regions=["North"])
    args = ["run", str(params), "--no-progress", "--force"]
    run = tmp_path / "reports" / "2024-12" / "North"
    assert CliRunner().invoke(main, args, catch_exceptions=False).exit_code == 0
    first = _files(run)
    shutil.rmtree(run)
    assert CliRunner().invoke(main, args, catch_exceptions=False).exit_code == 0
    second = _files(run)
    assert {"report.html", "customers.parquet", "customers.csv", "transactions.parquet"} <= set(first)
    assert sorted(first) == sorted(second)
    assert [name for name in first if first[name] != second[name]] == []
