"""Everything the kit needs at run time is inside the installed package; the version is written once."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import version
from pathlib import Path

import pytest
from setuptools import find_packages

import analysis
from analysis.params import RunParams
from analysis.resources import notebooks_dir, resolve_notebooks_dir
from tests.conftest import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _package_dir(package: str) -> Path:
    mapped = SETUPTOOLS.get("package-dir", {})
    return ROOT / mapped[package] if package in mapped else ROOT / package.replace(".", "/")


def test_the_package_list_names_every_package_folder() -> None:
    on_disk = set(find_packages(str(ROOT), include=["analysis*"])) | {"analysis.notebooks"}
    assert set(SETUPTOOLS["packages"]) == on_disk, "add the new package to [tool.setuptools] packages"


def test_every_package_data_glob_matches_files() -> None:
    for package, globs in SETUPTOOLS["package-data"].items():
        assert package in SETUPTOOLS["packages"]
        for pattern in globs:
            files = [p for p in _package_dir(package).glob(pattern) if p.is_file()]
            assert files, f"{package}: {pattern} matches nothing"


def test_version_is_written_once() -> None:
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert SETUPTOOLS["dynamic"]["version"] == {"attr": "analysis.__version__"}
    assert version("rfmkit") == analysis.__version__


def test_the_batch_finds_the_bundled_notebooks_without_a_setting() -> None:
    params = RunParams.model_validate({"periods": {"start": "2024-12", "end": "2024-12"}})
    assert params.notebooks_dir is None
    assert resolve_notebooks_dir(params.notebooks_dir) == notebooks_dir()
    for name in params.notebooks:
        assert (notebooks_dir() / f"{name}.ipynb").is_file()
    assert resolve_notebooks_dir("/some/where") == Path("/some/where")


@pytest.mark.slow
def test_the_wheel_carries_the_run_time_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("rfmkit-*.whl")
    assert wheel.name.startswith(f"rfmkit-{analysis.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    needed = {
        "analysis/strategy/playbook.yaml",
        "analysis/text/en.yaml",
        "analysis/text/zh.yaml",
        "analysis/data/cdnow/CDNOW_sample.txt.gz",
        "analysis/data/cdnow/README.md",
        *(f"analysis/notebooks/{nb}.ipynb" for nb in RunParams.model_fields["notebooks"].default_factory()),
    }
    assert needed <= names, sorted(needed - names)
    assert any(n.startswith("analysis/report/templates/") for n in names)
