"""Executing a run's notebooks in a warm kernel, over IPC, with timeouts and a watch on the kernel.

Why a kernel is kept warm rather than started per notebook (what ``papermill.execute_notebook`` does) or per run:
starting a kernel and importing pandas, matplotlib, scikit-learn and :mod:`analysis` costs seconds of CPU. A
worker's :class:`KernelSession` starts its kernel once and reuses it for the worker's runs, so the imports are paid
once per worker. Before every notebook the user namespace is reset (``%reset -f``) and figures are closed; before
every run on a reused kernel the previous run (:func:`analysis.context.close_run`, with its stage results), the
warning registry (a "once" warning is shown again) and the execution counter are reset too, so a run's executed
notebooks are byte-for-byte those of a fresh kernel and no notebook sees a previous run's variables. After the
last notebook, the run's ``finish`` code (the batch's: :func:`analysis.context.finish`, every stage computed and
every run file written) runs in the same kernel; its failure fails the run as step :data:`FINISH_STEP`.

A kernel is replaced (shut down, a new one started for the next run) when a notebook of its run failed (a cell
error, a cell or notebook timeout, a dead kernel: the kernel's state is then unknown), when it died between runs,
after :data:`MAX_RUNS_PER_KERNEL` runs, and when its resident memory exceeds :data:`MAX_KERNEL_RSS_BYTES` when the
next run would start (bounding what a slow leak in a library can grow to).

Kernels talk to us over Unix sockets (``transport="ipc"``) in a private temporary folder, so
kernels started in parallel cannot race for TCP ports (the start-up collisions papermill users
report). A kernel that fails to start is retried once; a cell that runs longer than
``cell_timeout`` seconds, a notebook longer than ``notebook_timeout`` seconds and a kernel that dies
(killed for memory, crashed) end the run as failed, naming the notebook and the cell.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.batch import import_jsonschema_without_iri_grammar
from analysis.data.io import write_text
from analysis.errors import BatchError

import_jsonschema_without_iri_grammar()

import nbformat  # noqa: E402  (after jsonschema, see import_jsonschema_without_iri_grammar)

log = logging.getLogger(__name__)

#: Run in the kernel before each notebook but a fresh kernel's first: no figures left open, a clean namespace
#: (``%reset -f`` also collects garbage), then what survived (imported modules, caches) is moved out of the garbage
#: collector's sight (``gc.freeze``), so the next reset's collection walks only what the next notebook made, not
#: every object of pandas, scikit-learn and matplotlib again (a full collection of a warm kernel costs ~0.5 s).
RESET_CODE = """\
import matplotlib.pyplot as _rfm_plt
_rfm_plt.close('all')
del _rfm_plt
get_ipython().run_line_magic('reset', '-f')
import gc as _rfm_gc
_rfm_gc.freeze()
del _rfm_gc
"""

#: Run once in a fresh kernel: PNG settings, and the warning filters as they are now (restored before each run).
INIT_CODE = """\
get_ipython().run_line_magic('config', "InlineBackend.print_figure_kwargs = "
    "{'bbox_inches': 'tight', 'metadata': {'Software': None}}")
import sys as _rfm_sys, warnings as _rfm_warnings
_rfm_sys._rfmkit_warning_filters = list(_rfm_warnings.filters)
del _rfm_sys, _rfm_warnings
"""

#: Run in a reused kernel before a new run's first notebook (then :data:`RESET_CODE`): the previous run (and its
#: stage results) goes, warnings shown once are shown again (the filters as at start-up, registries invalidated),
#: and the execution counter starts at 1 as in a fresh kernel.
RUN_RESET_CODE = """\
import sys as _rfm_sys, warnings as _rfm_warnings
if "analysis.context" in _rfm_sys.modules:
    _rfm_sys.modules["analysis.context"].close_run()
_rfm_warnings.resetwarnings()
_rfm_warnings.filters[:] = _rfm_sys._rfmkit_warning_filters
get_ipython().execution_count = 1
del _rfm_sys, _rfm_warnings
"""

#: The name a run's failure after its notebooks is reported under (its ``finish`` code: the run's files).
FINISH_STEP = "run files"

#: Runs one kernel serves before it is replaced by a fresh one.
MAX_RUNS_PER_KERNEL = 25
#: Resident memory of a kernel (bytes) above which it is replaced after its run.
MAX_KERNEL_RSS_BYTES = 2 * 1024**3

START_ATTEMPTS = 2  # a kernel that fails to start is retried once

#: Threads of the BLAS library (OpenBLAS in numpy's and scipy's wheels; MKL in some distributions) in each kernel,
#: unless the environment sets them. The batch already runs ``execution.jobs`` kernels side by side, one per core;
#: a BLAS with a thread per core in each kernel only oversubscribes the cores, and OpenBLAS's threads spin while they
#: wait: with them the CLV fits (scipy's L-BFGS-B calls BLAS at every step) cost about ten times the CPU, about a
#: quarter of a run's CPU in all (docs/benchmarks.md). One thread also makes a run's numbers independent of the
#: machine's core count (a BLAS sum split over threads adds in another order). Results on the bundled sample are
#: byte-identical either way.
KERNEL_BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class KernelStartError(BatchError):
    """A kernel did not start (twice in a row)."""


@dataclass
class NotebookJob:
    """One notebook of a run: where it is, where the executed copy goes, its parameters."""

    name: str
    source: Path
    executed: Path
    parameters: dict[str, Any]


@dataclass
class NotebookOutcome:
    """What happened to one notebook.

    ``seconds`` is the notebook's wall time from parameterising it to writing the executed copy, ``cells`` the sum
    of its code cells' execution times (from the kernel starting a cell to its reply; wall seconds). ``cell`` is the
    execution count shown in the executed notebook (``In [n]``), ``cell_index`` the 0-based position of that cell in
    the executed notebook.
    """

    name: str
    ok: bool
    seconds: float
    error: str = ""
    cell: int | None = None
    cell_index: int | None = None
    cells: float = 0.0


EventHook = Callable[[str, Any], None]


def _no_event(kind: str, data: Any) -> None:
    return None


def execute_notebooks(
    jobs: list[NotebookJob],
    kernel_name: str = "python3",
    cell_timeout: float | None = 600,
    notebook_timeout: float | None = None,
    start_timeout: float = 60,
    cwd: str | Path | None = None,
    on_event: EventHook = _no_event,
    finish: str | None = None,
) -> list[NotebookOutcome]:
    """Execute notebooks in order in one kernel; stop at the first failure; then run ``finish``.

    Parameters
    ----------
    jobs : list of NotebookJob
        The notebooks, in execution order.
    kernel_name : str, default="python3"
        The Jupyter kernel.
    cell_timeout : float, optional
        Seconds one cell may run (``None``: no limit).
    notebook_timeout : float, optional
        Seconds one notebook may run (``None``: no limit).
    start_timeout : float, default=60
        Seconds a kernel may take to start.
    cwd : path, optional
        The kernel's working folder.
    on_event : callable, optional
        Called as ``on_event("kernel", pid)`` when a kernel started and ``on_event("notebook", name)``
        before each notebook, so a supervising process can watch the kernel.
    finish : str, optional
        Code run in the kernel after the last notebook when all succeeded (the batch's: the run's files); when it
        raises, the run fails with a last outcome named :data:`FINISH_STEP`.

    Returns
    -------
    list of NotebookOutcome
        One per notebook executed (the last one failed if the run failed).

    Raises
    ------
    KernelStartError
        If the kernel did not start, twice.
    """
    session = KernelSession(kernel_name, cwd, start_timeout)
    try:
        return session.run(jobs, cell_timeout, notebook_timeout, on_event, finish)
    finally:
        session.close()


class KernelSession:
    """A kernel kept warm across runs: :meth:`run` executes one run's notebooks in it, starting it when needed.

    One session per worker process (:func:`worker_session`); it owns an event loop the kernel's channels live on.
    ``runs`` counts the runs the current kernel served; ``pid`` is its process id (``None`` when none is running).
    """

    def __init__(self, kernel_name: str = "python3", cwd: str | Path | None = None, start_timeout: float = 60) -> None:
        self.kernel_name = kernel_name
        self.cwd = str(cwd) if cwd else None
        self.start_timeout = start_timeout
        self.runs = 0
        self._loop = asyncio.new_event_loop()
        self._km: Any = None
        self._kc: Any = None
        self._sock_dir = ""

    @property
    def pid(self) -> int | None:
        """The process id of the running kernel, if one runs."""
        return kernel_pid(self._km) if self._km is not None else None

    def matches(self, kernel_name: str, cwd: str | Path | None, start_timeout: float) -> bool:
        """Whether this session serves runs of that kernel and working folder."""
        return (kernel_name, str(cwd) if cwd else None, start_timeout) == (
            self.kernel_name,
            self.cwd,
            self.start_timeout,
        )

    def run(
        self,
        jobs: list[NotebookJob],
        cell_timeout: float | None = 600,
        notebook_timeout: float | None = None,
        on_event: EventHook = _no_event,
        finish: str | None = None,
    ) -> list[NotebookOutcome]:
        """Execute one run's notebooks in order in the warm kernel (started or replaced first when needed); stop at
        the first failure, after which the kernel is replaced before the next run; then run ``finish`` (see
        :func:`execute_notebooks`). Raises :class:`KernelStartError` when no kernel starts (twice in a row)."""
        return self._loop.run_until_complete(self._run(jobs, cell_timeout, notebook_timeout, on_event, finish))

    def close(self) -> None:
        """Shut the kernel down and close the event loop."""
        if not self._loop.is_closed():
            self._loop.run_until_complete(self._stop())
            self._loop.close()

    async def _stop(self) -> None:
        if self._kc is not None:
            self._kc.stop_channels()
        if self._km is not None:
            await _shutdown(self._km)
        if self._sock_dir:
            shutil.rmtree(self._sock_dir, ignore_errors=True)
        self._km = self._kc = None
        self._sock_dir = ""
        self.runs = 0

    async def _reusable(self) -> bool:
        """Whether the current kernel may serve another run (alive, young enough, small enough)."""
        if self._km is None:
            return False
        if self.runs >= MAX_RUNS_PER_KERNEL:
            log.debug("kernel %s served %d runs: replacing it", self.pid, self.runs)
            return False
        rss = process_rss(self.pid)
        if rss is not None and rss > MAX_KERNEL_RSS_BYTES:
            log.info(
                "kernel %s uses %.0f MiB (limit %.0f MiB): replacing it",
                self.pid,
                rss / 2**20,
                MAX_KERNEL_RSS_BYTES / 2**20,
            )
            return False
        if process_ended(self.pid) or not await self._km.is_alive():
            log.warning("kernel %s died between runs: starting a new one", self.pid)
            return False
        return True

    async def _run(
        self,
        jobs: list[NotebookJob],
        cell_timeout: float | None,
        notebook_timeout: float | None,
        on_event: EventHook,
        finish: str | None = None,
    ) -> list[NotebookOutcome]:
        warm = await self._reusable()
        if not warm:
            await self._stop()
            self._sock_dir = tempfile.mkdtemp(prefix="rfm-")  # short path: Unix socket names are limited to ~100 bytes
            self._km, self._kc = await _start_kernel(self.kernel_name, self.cwd, self.start_timeout, self._sock_dir)
        on_event("kernel", self.pid)
        self.runs += 1
        outcomes: list[NotebookOutcome] = []
        try:
            if warm:
                await _run_silently(self._kc, self._km, RUN_RESET_CODE, cell_timeout)
            else:
                await _run_silently(self._kc, self._km, INIT_CODE, cell_timeout)
            for i, job in enumerate(jobs):
                on_event("notebook", job.name)
                if i or warm:
                    await _run_silently(self._kc, self._km, RESET_CODE, cell_timeout)
                outcome = await _execute_one(job, self._km, self._kc, self.kernel_name, cell_timeout, notebook_timeout)
                outcomes.append(outcome)
                if outcome.ok:
                    log.debug("notebook %s ran in %.1f s (cells %.1f s)", job.name, outcome.seconds, outcome.cells)
                else:
                    log.warning(
                        "notebook %s failed at cell %s after %.1f s: %s",
                        *(job.name, outcome.cell, outcome.seconds, outcome.error),
                    )
                    break
            if finish and all(o.ok for o in outcomes):
                on_event("notebook", FINISH_STEP)
                started = time.perf_counter()
                error = await _run_checked(self._kc, self._km, finish, notebook_timeout or cell_timeout)
                outcomes.append(NotebookOutcome(FINISH_STEP, not error, round(time.perf_counter() - started, 3), error))
                if error:
                    log.warning("run files failed: %s", error)
        except BaseException:
            await self._stop()  # the kernel's state is unknown: the next run gets a fresh one
            raise
        if not all(o.ok for o in outcomes):
            await self._stop()
        return outcomes


_SESSION: KernelSession | None = None


def worker_session(kernel_name: str, cwd: str | Path | None, start_timeout: float = 60) -> KernelSession:
    """This process's warm kernel session for that kernel and working folder (made, or replaced, when needed)."""
    global _SESSION
    if _SESSION is not None and not _SESSION.matches(kernel_name, cwd, start_timeout):
        _SESSION.close()
        _SESSION = None
    if _SESSION is None:
        _SESSION = KernelSession(kernel_name, cwd, start_timeout)
    return _SESSION


def close_worker_session() -> None:
    """Shut down this process's warm kernel, if any (a worker calls it before it exits)."""
    global _SESSION
    if _SESSION is not None:
        _SESSION.close()
        _SESSION = None


def process_rss(pid: int | None) -> int | None:
    """Resident memory of a process in bytes (Linux ``/proc``), or ``None`` when unknown."""
    if not pid:
        return None
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def process_ended(pid: int | None) -> bool:
    """Whether the process ``pid`` has ended: gone, or a zombie its parent has not reaped yet (Linux ``/proc``).

    Checked beside the kernel manager's ``is_alive``, whose ``Popen.poll`` can answer "running" for a killed
    kernel while another thread of this process is waiting on a child.
    """
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[-1][:1]
    except OSError:
        return True
    return state in ("Z", "X")


def kernel_env() -> dict[str, str]:
    """The environment a batch kernel starts with: this process's, with :data:`KERNEL_BLAS_THREADS` where it does not
    set them, and the debugger's start-up check off."""
    return {**KERNEL_BLAS_THREADS, **os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}


async def _start_kernel(kernel_name: str, cwd: str | None, start_timeout: float, sock_dir: str) -> Any:
    from jupyter_client.manager import AsyncKernelManager

    last: BaseException | None = None
    for attempt in range(START_ATTEMPTS):
        km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=os.path.join(sock_dir, f"k{attempt}"))
        kc = None
        try:
            await km.start_kernel(
                cwd=cwd,
                extra_arguments=["--HistoryManager.hist_file=:memory:"],
                env=kernel_env(),
            )
            kc = km.client()
            kc.start_channels()
            await kc.wait_for_ready(timeout=start_timeout)
            kc.allow_stdin = False
            log.debug("kernel '%s' started (pid %s, attempt %d)", kernel_name, kernel_pid(km), attempt + 1)
            return km, kc
        except Exception as err:  # any start failure is retried once, then reported
            last = err
            again = "retrying" if attempt + 1 < START_ATTEMPTS else "giving up"
            log.warning(
                "kernel '%s' failed to start (attempt %d of %d): %s: %s; %s",
                kernel_name,
                attempt + 1,
                START_ATTEMPTS,
                type(err).__name__,
                err,
                again,
            )
            if kc is not None:
                kc.stop_channels()
            await _shutdown(km)
    raise KernelStartError(f"kernel '{kernel_name}' failed to start ({START_ATTEMPTS} attempts): {last}")


async def _shutdown(km: Any) -> None:
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:  # the kernel may already be gone
        pass
    try:
        from jupyter_core.utils import ensure_async

        await ensure_async(km.cleanup_resources())
    except Exception:
        pass


def kernel_pid(km: Any) -> int | None:
    """The process id of a started kernel, if known."""
    prov = getattr(km, "provisioner", None)
    proc = getattr(prov, "process", None)
    return getattr(proc, "pid", None)


async def _await_reply(kc: Any, km: Any, code: str, timeout: float | None) -> dict[str, Any] | str:
    """Run ``code`` in the kernel (no output, no history) and wait for its reply.

    Returns the reply's ``content``, or ``"dead"`` when the kernel died and ``"timeout"`` when it did not answer
    within ``timeout`` seconds (600 when None). The one wait loop of both callers below.
    """
    msg_id = kc.execute(code, silent=True, store_history=False)
    deadline = time.monotonic() + (timeout or 600)
    while time.monotonic() < deadline:
        try:
            msg = await kc.get_shell_msg(timeout=1)
        except Exception:  # queue.Empty: check the kernel and wait on
            if not await km.is_alive():
                return "dead"
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return dict(msg["content"])
    return "timeout"


async def _run_silently(kc: Any, km: Any, code: str, timeout: float | None) -> None:
    """Run bookkeeping code in the kernel, without output or history; a dead or silent kernel raises."""
    reply = await _await_reply(kc, km, code, timeout)
    if reply == "dead":
        raise BatchError("kernel died between notebooks")
    if reply == "timeout":
        raise BatchError("kernel did not answer between notebooks")


async def _run_checked(kc: Any, km: Any, code: str, timeout: float | None) -> str:
    """Run code in the kernel (no output, no history); its error as ``"Name: message"``, or ``""`` when it ran."""
    reply = await _await_reply(kc, km, code, timeout)
    if reply == "dead":
        return "Kernel died (out of memory, or crashed) while writing the run files"
    if isinstance(reply, str):  # "timeout"
        return f"Timeout: writing the run files took longer than {timeout or 600:g} s"
    if reply.get("status") == "ok":
        return ""
    evalue = " ".join(line.strip() for line in str(reply.get("evalue", "")).strip().splitlines())
    return f"{reply.get('ename', 'Error')}: {evalue}"[:1000]


async def _execute_one(
    job: NotebookJob, km: Any, kc: Any, kernel_name: str, cell_timeout: float | None, notebook_timeout: float | None
) -> NotebookOutcome:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = load_notebook_node(str(job.source))  # papermill's normal form: every cell has metadata.tags
    nb = parameterize_notebook(nb, job.parameters, kernel_name=kernel_name, language="python")
    for i, cell in enumerate(nb.cells):  # deterministic ids (papermill's injected cell gets a random one)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.id = f"{job.name}-injected-parameters"[:64]
        elif not cell.get("id"):
            cell.id = f"{job.name}-{i:02d}"
    current: dict[str, int] = {"index": -1}

    def on_cell_execute(cell: Any, cell_index: int, **_: Any) -> None:
        current["index"] = cell_index

    client = NotebookClient(
        nb,
        km=km,
        kernel_name=kernel_name,
        timeout=int(cell_timeout) if cell_timeout else None,
        record_timing=True,  # per-cell times, summed into NotebookOutcome.cells, then stripped
        allow_errors=False,
        shell_timeout_interval=1,
        on_cell_execute=on_cell_execute,
    )
    client.kc = kc
    started = time.perf_counter()
    error, ok = "", True
    try:
        await asyncio.wait_for(client.async_execute(), timeout=notebook_timeout)
    except CellTimeoutError:
        ok, error = False, f"Timeout: a cell ran longer than {cell_timeout:g} s (execution.timeout_seconds)"
    except TimeoutError:
        ok, error = False, f"Timeout: the notebook ran longer than {notebook_timeout:g} s"
    except DeadKernelError:
        ok, error = False, "Kernel died (out of memory, or crashed) while running this cell"
    except CellExecutionError as err:
        evalue = str(err.evalue).strip().splitlines()
        ok, error = False, f"{err.ename}: {' '.join(line.strip() for line in evalue)}"[:1000]
    cells = cell_seconds(nb)
    cell_index = current["index"] if not ok and current["index"] >= 0 else None
    cell_no = None
    if cell_index is not None:
        cell_no = sum(c.cell_type == "code" for c in nb.cells[: cell_index + 1])
        nb.cells[cell_index].execution_count = cell_no
        nb.cells.insert(0, _error_banner(job.name, cell_no, error))
        cell_index += 1
    strip_volatile(nb)
    write_text(nbformat.writes(nb) + "\n", job.executed)
    seconds = round(time.perf_counter() - started, 3)
    return NotebookOutcome(job.name, ok, seconds, error, cell_no, cell_index, cells)


def cell_seconds(nb: nbformat.NotebookNode) -> float:
    """Sum of the code cells' execution times in seconds (nbclient's ``execution`` metadata: from
    ``iopub.execute_input`` to ``shell.execute_reply``); cells without both times count 0."""
    from datetime import datetime

    total = 0.0
    for cell in nb.cells:
        times = cell.metadata.get("execution", {})
        start, end = times.get("iopub.execute_input"), times.get("shell.execute_reply")
        if start and end:
            total += (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    return round(total, 3)


def _error_banner(name: str, cell_no: int, error: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(
        f'<span style="color:red; font-weight:bold">{name} failed at cell In [{cell_no}]: {error}</span>'
    )
    cell.id = f"{name}-error-banner"[:64]
    cell.metadata["tags"] = ["rfmkit-error"]
    return cell


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,16}")


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove what differs between two executions of the same inputs (in place; returns ``nb``).

    Timestamps and durations (papermill's and nbclient's), memory addresses in text outputs
    (``<Figure at 0x7f…>``) and widget state go; cell ids are kept (they are fixed in our notebooks).
    """
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                out["text"] = _ADDRESS.sub(" at 0x…", out.get("text", ""))
            data = out.get("data") or {}
            if isinstance(data.get("text/plain"), str):
                data["text/plain"] = _ADDRESS.sub(" at 0x…", data["text/plain"])
            out.get("metadata", {}).pop("execution", None)
    return nb
