"""The report notebooks: paired sources in sync, display-only cells, text in the catalog, and nbval runs —
with the batch's parameters, and one notebook alone on a fresh output folder as an analyst opens it in Lab."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

from analysis import text
from tests.conftest import ROOT
from tests.test_batch import small_params

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
TEXT_TAG = "text:"
#: What a notebook cell must not do: compute, write files, hide errors.
FORBIDDEN = re.compile(
    r"^\s*(def|class|try|except|with)\b|\blambda\b|\bopen\(|\.to_(csv|parquet|excel|json)\(|\.write\(", re.M
)


def markdown_keys() -> dict[str, str]:
    """``notebook.<key>`` of every markdown cell's ``text:<key>`` tag, with its English (the notebook's source)."""
    keys: dict[str, str] = {}
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            for tag in cell.metadata.get("tags", []):
                if tag.startswith(TEXT_TAG):
                    keys[f"notebook.{tag[len(TEXT_TAG) :]}"] = cell.source
    return keys


def _cells(nb: nbformat.NotebookNode) -> list[tuple[str, str, list[str]]]:
    return [(c.cell_type, c.source.strip(), list(c.metadata.get("tags", []))) for c in nb.cells]


def test_five_notebooks() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01_cleaning", "02_scoring", "03_segmentation", "04_strategy", "05_summary", "06_sales", "07_grading",
    ]  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_paired_script_is_in_sync(path: Path) -> None:
    """``NN_name.py`` (jupytext percent) and ``NN_name.ipynb`` hold the same cells, sources and tags."""
    script = path.with_suffix(".py")
    assert script.exists(), f"{script.name} missing: pair the notebook with 'jupytext --set-formats ipynb,py:percent'"
    assert _cells(jupytext.read(script)) == _cells(jupytext.read(path)), (
        f"{path.name} and {script.name} differ: run 'jupytext --sync notebooks/{script.name}'"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_clean_and_display_only(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code), "commit notebooks without outputs"
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell is the parameters cell"
    bad = [c.source for c in code if FORBIDDEN.search(c.source)]
    assert not bad, f"cells call a stage or display its result (no def/try/file writes): {bad}"
    assert sum(c.cell_type == "markdown" and c.source.startswith("## ") for c in nb.cells) >= 3
    assert not any(t.startswith("lang-") for c in nb.cells for t in c.metadata.get("tags", [])), "one language"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_explanation_has_a_key(path: Path) -> None:
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            tags = [t for t in cell.metadata.get("tags", []) if t.startswith(TEXT_TAG)]
            assert len(tags) == 1, f"markdown cell without one text:<key> tag: {cell.source[:60]!r}"


def test_markdown_has_chinese_and_chinese_has_a_cell() -> None:
    keys = markdown_keys()
    zh, en = text.catalog("zh"), text.catalog("en")
    missing = sorted(k for k in keys if k not in zh)
    assert not missing, f"no Chinese for these notebook cells (add them to analysis/text/zh.yaml): {missing}"
    unused = sorted(k for k in set(zh) - set(en) if k not in keys)
    assert not unused, f"zh.yaml has texts no notebook cell uses (remove them): {unused}"
    assert not [k for k in keys if k in en], "a notebook's markdown is written in the notebook, not in en.yaml"
    for key, english in keys.items():  # same heading level and section number in both languages
        assert zh[key].split(" ", 1)[0] == english.split(" ", 1)[0], key
        number = re.match(r"#+ (\d+)\.", english)
        assert not number or zh[key].startswith(number.group(0)), key


def test_code_cells_use_catalog_keys_that_exist() -> None:
    used = set()
    for path in NOTEBOOKS:
        for cell in nbformat.read(path, as_version=4).cells:
            used |= set(re.findall(r"ctx\.(?:say|text)\(\s*[\"']([\w.]+)[\"']", cell.source))
    assert used, "notebook sentences come from the catalog"
    for language in text.LANGUAGES:
        assert not [k for k in used if not text.has(k, language)], language


def _execute(paths: list[Path], values: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        injected = nbformat.v4.new_code_cell("\n".join(f"{k} = {v!r}" for k, v in values.items()))
        nb.cells.insert(at + 1, injected)  # what papermill does in batch runs
        nbformat.write(nb, tmp_path / path.name)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q"]
        + [str(tmp_path / p.name) for p in paths],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )


#: The sample for the nbval run of every notebook: each notebook runs in a kernel of its own and computes the stages it
#: needs, so the CLV fit of the score stage is paid once per notebook. In North, 900 customers (331 there) give the
#: files and the CLV method (BG/NBD + Gamma-Gamma) of the batch's 1,500, every segment's action list included; the
#: score stage takes 40 % of the CPU.
NOTEBOOK_SAMPLE = {"format": "sample", "sample": {"customers": 900, "seed": 11}}


@pytest.mark.slow
def test_nbval_with_small_parameters(tmp_path: Path) -> None:
    params = small_params(tmp_path, periods={"start": "2024-12", "end": "2024-12"}, source=NOTEBOOK_SAMPLE)
    run_dir = tmp_path / "run"
    values = {"params_path": str(params), "period": "2024-12", "region": "North", "run_dir": str(run_dir)}
    proc = _execute(NOTEBOOKS, {**values, "clean_dir": ""}, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "failed" not in proc.stdout.splitlines()[-1]
    assert (run_dir / "customers.parquet").exists() and (run_dir / "actions.csv").exists()
    assert (run_dir / "headline.json").exists()


@pytest.mark.slow
def test_a_notebook_alone_on_a_fresh_output_folder(tmp_path: Path) -> None:
    """As in JupyterLab with no batch run yet: run_dir empty, so a scratch folder; the stages it needs are computed."""
    params = small_params(tmp_path, periods={"start": "2024-12", "end": "2024-12"})
    strategy = [p for p in NOTEBOOKS if p.stem == "04_strategy"]
    values = {"params_path": str(params), "period": "2024-12", "region": "South", "run_dir": "", "clean_dir": ""}
    proc = _execute(strategy, values, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    out = tmp_path / "reports"
    scratch = out / "_scratch" / "2024-12" / "South"
    assert (scratch / "customers.parquet").exists() and (scratch / "actions.csv").exists()
    assert list((out / "_data").glob("clean-*/clean.parquet"))  # cleaned once, as the batch would
    assert not (out / "2024-12").exists()  # never where a published batch run lives


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_report_shows_each_explanation_in_its_language(language: str) -> None:
    from analysis.report.render import Section, merge_notebooks

    path = next(p for p in NOTEBOOKS if p.stem == "02_scoring")
    merged = merge_notebooks([Section(path.stem, "Scores", path)], language)
    shown = [c.source for c in merged.cells if c.cell_type == "markdown"]
    keys = [k for k in markdown_keys() if k.startswith("notebook.scoring.")]
    expected = [text.t(k, "zh") for k in keys] if language == "zh" else [markdown_keys()[k] for k in keys]
    assert shown == expected
