"""Executing one run's notebooks: one kernel per run, over IPC, with timeouts and a watch on the kernel.

Why one kernel per run rather than one per notebook (what ``papermill.execute_notebook`` does):
starting a kernel and importing pandas, matplotlib and :mod:`analysis` costs a few seconds, paid
once per run instead of once per notebook. Between notebooks the user namespace is reset
(``%reset -f``) and figures are closed, so every notebook still starts from a clean namespace.

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

import nbformat

from analysis.data.io import write_text
from analysis.errors import BatchError

log = logging.getLogger(__name__)

#: Run in the kernel before each notebook but the first: a clean namespace, no figures left open,
#: PNG charts without the "Software" metadata chunk (bytes that differ between matplotlib versions).
RESET_CODE = """\
get_ipython().run_line_magic('reset', '-f')
import matplotlib.pyplot as _rfm_plt
_rfm_plt.close('all')
del _rfm_plt
"""

#: Run once in a fresh kernel.
INIT_CODE = """\
get_ipython().run_line_magic('config', "InlineBackend.print_figure_kwargs = "
    "{'bbox_inches': 'tight', 'metadata': {'Software': None}}")
"""

START_ATTEMPTS = 2  # a kernel that fails to start is retried once


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

    ``cell`` is the execution count shown in the executed notebook (``In [n]``), ``cell_index`` the
    0-based position of that cell in the executed notebook.
    """

    name: str
    ok: bool
    seconds: float
    error: str = ""
    cell: int | None = None
    cell_index: int | None = None


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
) -> list[NotebookOutcome]:
    """Execute notebooks in order in one kernel; stop at the first failure.

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

    Returns
    -------
    list of NotebookOutcome
        One per notebook executed (the last one failed if the run failed).

    Raises
    ------
    KernelStartError
        If the kernel did not start, twice.
    """
    return asyncio.run(
        _execute_all(jobs, kernel_name, cell_timeout, notebook_timeout, start_timeout, cwd, on_event)
    )


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
                env={**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"},
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


async def _execute_all(
    jobs: list[NotebookJob],
    kernel_name: str,
    cell_timeout: float | None,
    notebook_timeout: float | None,
    start_timeout: float,
    cwd: str | Path | None,
    on_event: EventHook,
) -> list[NotebookOutcome]:
    sock_dir = tempfile.mkdtemp(prefix="rfm-")  # short path: Unix socket names are limited to ~100 bytes
    km, kc = await _start_kernel(kernel_name, str(cwd) if cwd else None, start_timeout, sock_dir)
    on_event("kernel", kernel_pid(km))
    outcomes: list[NotebookOutcome] = []
    try:
        await _run_silently(kc, km, INIT_CODE, cell_timeout)
        for i, job in enumerate(jobs):
            on_event("notebook", job.name)
            if i:
                await _run_silently(kc, km, RESET_CODE, cell_timeout)
            outcome = await _execute_one(job, km, kc, kernel_name, cell_timeout, notebook_timeout)
            outcomes.append(outcome)
            if outcome.ok:
                log.debug("notebook %s ran in %.1f s", job.name, outcome.seconds)
            else:
                log.warning(
                    "notebook %s failed at cell %s after %.1f s: %s",
                    *(job.name, outcome.cell, outcome.seconds, outcome.error),
                )
            if not outcome.ok:
                break
    finally:
        kc.stop_channels()
        await _shutdown(km)
        shutil.rmtree(sock_dir, ignore_errors=True)
    return outcomes


async def _run_silently(kc: Any, km: Any, code: str, timeout: float | None) -> None:
    """Run bookkeeping code in the kernel, without output or history."""
    msg_id = kc.execute(code, silent=True, store_history=False)
    deadline = time.monotonic() + (timeout or 600)
    while time.monotonic() < deadline:
        try:
            msg = await kc.get_shell_msg(timeout=1)
        except Exception:  # queue.Empty: check the kernel and wait on
            if not await km.is_alive():
                raise BatchError("kernel died between notebooks") from None
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return
    raise BatchError("kernel did not answer between notebooks")


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
        record_timing=False,
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
    seconds = round(time.perf_counter() - started, 3)
    cell_index = current["index"] if not ok and current["index"] >= 0 else None
    cell_no = None
    if cell_index is not None:
        cell_no = sum(c.cell_type == "code" for c in nb.cells[: cell_index + 1])
        nb.cells[cell_index].execution_count = cell_no
        nb.cells.insert(0, _error_banner(job.name, cell_no, error))
        cell_index += 1
    strip_volatile(nb)
    write_text(nbformat.writes(nb) + "\n", job.executed)
    return NotebookOutcome(job.name, ok, seconds, error, cell_no, cell_index)


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
