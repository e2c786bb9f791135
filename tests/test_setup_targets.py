"""Set-up by need: `make report` installs the runtime only, `make test` the test toolchain (make's dry run)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_ONLY = ("pytest", "playwright", "pyspark", "hypothesis", "nbval", "jupyterlab", "mkdocs", "import-linter")

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _dry_run(target: str, tmp_path: Path) -> str:
    """The commands `make TARGET` would run for a fresh environment in tmp_path (nothing is executed)."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        # run under `make test` (CI), a sub-make would inherit the parent's flags and variables
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_runtime_dependencies_hold_no_test_tool() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = " ".join(project["dependencies"]).lower()
    assert not [name for name in TEST_ONLY if name in runtime]
    test_extra = " ".join(project["optional-dependencies"]["test"]).lower()
    assert all(name in test_extra for name in TEST_ONLY)


def test_make_report_installs_the_runtime_only(tmp_path: Path) -> None:
    commands = _dry_run("report", tmp_path)
    assert "pip install --python" in commands and " -e .\n" in commands
    assert ".[test]" not in commands and ".[lab]" not in commands
    assert "scripts/system-packages.sh runtime" in commands
    assert "system-packages.sh test" not in commands
    assert commands.rstrip().endswith("rfmkit run params/monthly.yaml")


def test_make_test_installs_the_test_toolchain(tmp_path: Path) -> None:
    commands = _dry_run("test", tmp_path)
    assert " -e .\n" in commands  # the runtime first
    assert '-e ".[test]"' in commands
    assert "scripts/system-packages.sh test" in commands


def test_make_lab_runs_the_lab_script(tmp_path: Path) -> None:
    commands = _dry_run("lab", tmp_path)
    assert '-e ".[lab]"' in commands and ".[test]" not in commands
    assert f"bash scripts/lab.sh {tmp_path / 'venv'}" in commands


def test_system_packages_refuses_an_unknown_need() -> None:
    done = subprocess.run(
        ["bash", "scripts/system-packages.sh", "everything"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "usage" in done.stderr
