"""The batch under trouble: a hanging cell, dying kernel or worker, a kernel failing to start, a killed batch.

Limits here are ones only a real hang trips: a loaded 2-core CI machine may take tens of seconds to import the
setup cell or to start a kernel, so no limit is within reach of slow but working code. The troublesome cell runs
before the setup cell, so under the cell timeout only trivial cells run (the parameters and the kernel's own set-up
code), and a hanging cell sleeps an hour against a cell timeout of CELL_TIMEOUT_S; waits poll for the event they
need, with a deadline in minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from click.testing import CliRunner

from analysis.batch.kernels import NotebookJob, execute_notebooks
from analysis.cli import main
from tests.conftest import ROOT
from tests.test_batch import small_params

pytestmark = pytest.mark.slow

TROUBLE = """\
import os, signal, time
if region == "North":
    time.sleep(3600)                      # hangs: caught by the cell timeout (CELL_TIMEOUT_S)
elif region == "South":
    os.kill(os.getpid(), signal.SIGKILL)  # the kernel dies, as when the OOM killer takes it
else:
    os.kill(os.getppid(), signal.SIGKILL) # the worker running the kernel dies
"""


CELL_TIMEOUT_S = 30  # far above the trivial cells run before the hang (no setup cell, no import of the kit)
WAIT_S = 900  # how long a test waits for an event before calling it a hang


def _notebooks_with_trouble(tmp: Path) -> Path:
    nbs = tmp / "notebooks"
    shutil.copytree(ROOT / "notebooks", nbs)
    path = nbs / "01_cleaning.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if "setup" in c.metadata.get("tags", []))
    nb.cells.insert(setup, nbformat.v4.new_code_cell(TROUBLE))  # before the setup cell: only trivial cells before it
    nbformat.write(nb, str(path))
    return nbs


def test_hang_dead_kernel_and_dead_worker_are_failed_runs(tmp_path: Path) -> None:
    params = small_params(
        tmp_path,
        periods={"start": "2024-12", "end": "2024-12"},
        include_all_regions=True,
        notebooks_dir=str(_notebooks_with_trouble(tmp_path)),
        execution={"jobs": 2, "timeout_seconds": CELL_TIMEOUT_S},
    )
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    assert res.exit_code == 1, res.output
    assert "3 runs: 0 ok, 0 skipped (unchanged), 3 failed" in res.output
    lines = {line.split(":")[0].strip(): line for line in res.output.splitlines() if "FAILED" in line}
    # the troublesome cell comes right after the parameters and the injected parameters: the hang (an hour's sleep)
    # ends the run through the cell timeout, which names the cell and the limit
    assert f"01_cleaning, cell 3: Timeout: a cell ran longer than {CELL_TIMEOUT_S} s" in lines["FAILED 2024-12/North"]
    assert "01_cleaning, cell 3: Kernel died" in lines["FAILED 2024-12/South"]
    assert "01_cleaning: worker process died" in lines["FAILED 2024-12/all"]
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert index.count('class="run failed"') == 3
    for region in ("North", "South", "all"):
        manifest = json.loads((tmp_path / "reports" / "2024-12" / region / "manifest.json").read_text())
        assert manifest["status"] == "failed" and manifest["failed_notebook"] == "01_cleaning"


def test_kernel_that_fails_to_start_is_retried_once(tmp_path: Path, monkeypatch) -> None:
    """A kernel spec whose first start fails: the second attempt runs the notebook."""
    marker = tmp_path / "started-once"
    spec = tmp_path / "jupyter" / "kernels" / "flaky"
    spec.mkdir(parents=True)
    boot = (
        "import os, sys\n"
        f"m = {str(marker)!r}\n"
        "if not os.path.exists(m):\n"
        "    open(m, 'w').close(); sys.exit(1)\n"
        "from ipykernel import kernelapp\n"
        "sys.argv = ['ipykernel'] + sys.argv[1:]\n"
        "kernelapp.launch_new_instance()\n"
    )
    (spec / "boot.py").write_text(boot)
    argv = [sys.executable, str(spec / "boot.py"), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "flaky", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("print(x + 1)")]
    nbformat.write(nb, str(tmp_path / "tiny.ipynb"))
    job = NotebookJob("tiny", tmp_path / "tiny.ipynb", tmp_path / "out.ipynb", {})
    # a kernel that exits is noticed at once (its process is gone); the start timeout only trips on a hanging start
    outcomes = execute_notebooks([job], kernel_name="flaky", start_timeout=WAIT_S)
    assert marker.exists() and [o.ok for o in outcomes] == [True]
    out = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    assert out.cells[-1].outputs[0]["text"] == "2\n"


def test_unknown_kernel_is_a_failed_run_not_a_crash(tmp_path: Path) -> None:
    params = small_params(
        tmp_path, periods={"start": "2024-12", "end": "2024-12"}, execution={"jobs": 1, "kernel": "no-such-kernel"}
    )
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"])
    assert res.exit_code == 1
    assert "kernel 'no-such-kernel' failed to start (2 attempts)" in res.output


def _visible_runs(out: Path) -> list[Path]:
    return [d for d in out.glob("*/*") if d.is_dir() and not d.name.startswith(".") and d.parent.name[0] not in "._"]


def _outside_group(pid: int) -> list[psutil.Process]:
    """Descendants of ``pid`` in another process group than ``pid``'s (the kernels, started in their own sessions)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if os.getpgid(child.pid) != os.getpgid(pid):
                found.append(child)
        except ProcessLookupError:  # ended meanwhile
            continue
    return found


def _running(proc: psutil.Process) -> bool:
    """Whether ``proc`` still runs (an exited process waiting to be reaped by its new parent counts as ended)."""
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_killed_batch_leaves_no_half_report_and_next_run_completes(tmp_path: Path) -> None:
    params = small_params(
        tmp_path,
        source={"format": "sample", "sample": {"customers": 900, "seed": 11}},  # any sample; a smaller CLV fit
        periods={"start": "2024-12", "end": "2024-12"},
        execution={"jobs": 1},
        # the subject is publishing, not the notebooks: the cleaning notebook writes the staging folder's first
        # parquet early, and the run files (every stage) and the report still follow it before the run is published
        notebooks=["01_cleaning"],
    )
    out = tmp_path / "reports"
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.cli", "run", str(params), "--no-progress"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    kernels: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + WAIT_S  # only a hang gets here: the batch ending early fails at once below
        # wait until one run is published and the next one is being built
        while not (list(out.glob("2024-12/*/manifest.json")) and list(out.glob("2024-12/.*.partial-*/*.parquet"))):
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, f"no run published after {WAIT_S} s: the batch hangs"
            time.sleep(0.2)
        # kernels run in sessions of their own (jupyter_client), so the process-group kill below does not reach them
        kernels = _outside_group(proc.pid)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # a kernel notices its parent is gone and exits (ipykernel polls once a second): wait for exactly that
    deadline = time.monotonic() + WAIT_S
    while alive := [k.pid for k in kernels if _running(k)]:
        assert time.monotonic() < deadline, f"kernels outlived the killed batch by {WAIT_S} s: {alive}"
        time.sleep(0.2)
    runs = _visible_runs(out)
    assert len(runs) == 1  # the finished run only; the other is still hidden in its staging folder
    for run in runs:
        assert json.loads((run / "manifest.json").read_text())["status"] == "ok"
        assert (run / "report.html").exists()
    assert not [p for p in out.glob("2024-12/*/report.html") if p.parent not in runs]

    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0 and "2 runs: 1 ok, 1 skipped" in res.output
    assert sorted(p.name for p in _visible_runs(out)) == ["North", "South"]
    assert not list(out.glob("2024-12/.*"))  # staging folders cleaned up
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="2024-12/North/report.html"' in index and 'href="2024-12/South/report.html"' in index
