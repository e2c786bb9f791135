"""nbval over the four notebooks with small parameters, and the notebooks' own hygiene."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ROOT
from tests.test_batch import small_params

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean_and_thin(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell is the parameters cell"
    assert not any("def " in c.source or "class " in c.source or "lambda" in c.source for c in code), (
        "logic belongs in analysis, not in notebooks"
    )
    assert sum(c.cell_type == "markdown" and c.source.startswith("## ") for c in nb.cells) >= 3


@pytest.mark.slow
def test_nbval_with_small_parameters(tmp_path: Path) -> None:
    params = small_params(tmp_path, periods={"start": "2024-12", "end": "2024-12"})
    run_dir = tmp_path / "run"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        values = {
            "params_path": str(params),
            "period": "2024-12",
            "region": "North",
            "run_dir": str(run_dir),
            "clean_dir": "",
        }
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
        nb.cells.insert(at + 1, injected)  # what papermill does in batch runs
        nbformat.write(nb, tmp_path / path.name)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            *[str(tmp_path / p.name) for p in NOTEBOOKS],
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "failed" not in proc.stdout.splitlines()[-1]
    assert (run_dir / "customers.parquet").exists() and (run_dir / "actions.csv").exists()
