"""A worker's warm kernel: reused across runs, yet every run starts as in a fresh kernel; replaced when in doubt."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from pathlib import Path

import nbformat
import pytest

from analysis.batch import kernels
from analysis.batch.kernels import KernelSession, NotebookJob
from analysis.batch.runner import run_batch
from tests.test_batch import small_params

pytestmark = pytest.mark.notebook  # starts Jupyter kernels: not in the fast tier

WAIT_S = 900  # only a hang waits this long for a kernel to end

HELPER = """\
import warnings


def careful():
    warnings.warn("careful: shown once per location, as Python does", UserWarning, stacklevel=1)
"""

FIRST = [
    "import helper\nhelper.careful()",
    "leak = 41\nfrom analysis import context\n"
    "print('open run:', context.KERNEL.run)\ncontext.KERNEL.run = 'from this run'",
    "print(sorted(k for k in globals() if not k.startswith('_') and k not in ('In', 'Out', 'exit', 'quit')))",
]
SECOND = ["print('leak' in globals(), 'helper' in globals())"]


def _notebook(path: Path, cells: list[str]) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"{path.stem}-{i}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def session(tmp_path: Path):
    (tmp_path / "helper.py").write_text(HELPER)
    _notebook(tmp_path / "first.ipynb", FIRST)
    _notebook(tmp_path / "second.ipynb", SECOND)
    _notebook(tmp_path / "fails.ipynb", ["raise ValueError('this run fails')"])
    s = KernelSession("python3", cwd=tmp_path, start_timeout=WAIT_S)
    yield s
    s.close()


def _run(s: KernelSession, tmp: Path, run: str, notebooks=("first", "second")) -> tuple[list, list[int | None]]:
    pids: list[int | None] = []
    jobs = [NotebookJob(nb, tmp / f"{nb}.ipynb", tmp / run / f"{nb}.ipynb", {}) for nb in notebooks]

    def on_event(kind: str, data: object) -> None:
        if kind == "kernel":
            pids.append(data)

    outcomes = s.run(jobs, cell_timeout=WAIT_S, on_event=on_event)
    return outcomes, pids


def _outputs(path: Path) -> list[str]:
    return ["".join(o.get("text", "") for o in c.outputs) for c in nbformat.read(str(path), as_version=4).cells]


def test_runs_share_one_kernel_yet_start_clean(session: KernelSession, tmp_path: Path) -> None:
    first, pids1 = _run(session, tmp_path, "run1")
    second, pids2 = _run(session, tmp_path, "run2")
    assert [o.ok for o in first + second] == [True] * 4
    assert pids1 == pids2 and pids1[0] is not None  # the same kernel served both runs
    assert session.runs == 2
    # the second run's notebooks are byte for byte those of the first (a fresh kernel): no variable of the first
    # run, no stage result cached by it, the "once" warning shown again, execution counts from 1
    for nb in ("first", "second"):
        assert (tmp_path / "run1" / f"{nb}.ipynb").read_bytes() == (tmp_path / "run2" / f"{nb}.ipynb").read_bytes()
    out = _outputs(tmp_path / "run2" / "first.ipynb")[-3:]  # after papermill's parameters cell
    assert "careful: shown once" in out[0]
    assert out[1] == "open run: None\n"
    assert "leak" in out[2] and _outputs(tmp_path / "run2" / "second.ipynb")[-1] == "False False\n"
    executed = nbformat.read(str(tmp_path / "run2" / "first.ipynb"), as_version=4)
    assert [c.execution_count for c in executed.cells] == [1, 2, 3, 4]
    assert all(o.cells > 0 for o in second) and all(o.cells <= o.seconds for o in second)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie waiting for its parent (the kernel manager) to reap it counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1].startswith("Z")
    except OSError:
        return True


def test_a_killed_kernel_is_replaced_for_the_next_run(session: KernelSession, tmp_path: Path) -> None:
    _, (pid,) = _run(session, tmp_path, "run1", ["second"])
    os.kill(pid, signal.SIGKILL)  # as the OOM killer would, between two runs
    deadline = time.monotonic() + WAIT_S
    while not _gone(pid):
        assert time.monotonic() < deadline, "a SIGKILLed kernel did not end"
        time.sleep(0.1)
    outcomes, (new,) = _run(session, tmp_path, "run2", ["second"])
    assert [o.ok for o in outcomes] == [True] and new != pid and session.runs == 1


def test_a_failed_run_leaves_the_next_run_a_fresh_kernel(session: KernelSession, tmp_path: Path) -> None:
    failed, (pid,) = _run(session, tmp_path, "run1", ["fails", "second"])
    assert [o.ok for o in failed] == [False]  # stops at the failing notebook
    assert "ValueError: this run fails" in failed[0].error
    assert session.pid is None and _gone(pid)  # shut down at once, not kept in an unknown state
    outcomes, (new,) = _run(session, tmp_path, "run2", ["second"])
    assert [o.ok for o in outcomes] == [True] and new != pid


def test_a_kernel_is_replaced_after_its_run_limit_and_above_its_memory_limit(
    session: KernelSession, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(kernels, "MAX_RUNS_PER_KERNEL", 2)
    pids = [_run(session, tmp_path, f"run{i}", ["second"])[1][0] for i in range(3)]
    assert pids[0] == pids[1] != pids[2]
    assert kernels.process_rss(pids[2]) > 10 * 2**20  # a Python kernel holds tens of MiB
    monkeypatch.setattr(kernels, "MAX_KERNEL_RSS_BYTES", 10 * 2**20)
    _, (after,) = _run(session, tmp_path, "run3", ["second"])
    assert after != pids[2]


@pytest.mark.slow
def test_a_batch_worker_reuses_its_kernel_and_warm_runs_equal_fresh_ones(tmp_path: Path, caplog) -> None:
    """Two runs in one worker: one kernel started; the warm run's data and report equal those of the same run made
    alone in a fresh kernel, byte for byte.

    On the 900-customer sample (three runs at about half the CPU of the 1,500 one): North, the first run, fits the
    CLV models (BG/NBD + Gamma-Gamma) while South, the warm run, has too few repeat buyers for the Gamma-Gamma fit,
    so a fit or a method left behind by North would change South's files."""
    params = small_params(
        tmp_path,
        source={"format": "sample", "sample": {"customers": 900, "seed": 11}},
        periods={"start": "2024-12", "end": "2024-12"},
        execution={"jobs": 1},
    )
    caplog.set_level(logging.DEBUG, logger="analysis")  # the worker's records arrive here (analysis.batch.pool)
    first = run_batch(params, progress=False)
    assert [(r.region, r.status) for r in first.runs] == [("North", "ok"), ("South", "ok")]
    started = [r for r in caplog.records if r.getMessage().startswith("kernel 'python3' started")]
    assert len(started) == 1  # the South run (second) reused the North run's kernel

    north = json.loads((tmp_path / "reports" / "2024-12" / "North" / "headline.json").read_text(encoding="utf-8"))
    assert "Gamma-Gamma" in north["clv_method_name"]  # the first run went through the whole CLV fit

    run = tmp_path / "reports" / "2024-12" / "South"
    warm = _files(run)
    again = run_batch(params, regions=["South"], force=True, progress=False)  # the first run of a fresh kernel
    assert [r.status for r in again.runs] == ["ok"]
    fresh = _files(run)
    assert {"report.html", "customers.parquet", "transactions.parquet"} <= set(warm)
    assert sorted(warm) == sorted(fresh)
    assert [name for name in warm if warm[name] != fresh[name]] == []


def _files(run: Path) -> dict[str, bytes]:
    """What tests/test_reproducibility.py compares: the data, the report; not the manifest (timings) nor the executed
    notebooks (a fresh kernel's first imports may print warnings there that a warm kernel, imports done, does not)."""
    keep = {".csv", ".parquet", ".json", ".html"}
    return {
        p.relative_to(run).as_posix(): p.read_bytes()
        for p in sorted(run.rglob("*"))
        if p.is_file() and p.suffix in keep and p.name != "manifest.json" and "_executed" not in p.parts
    }
