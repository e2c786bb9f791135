"""A small process pool that watches its workers: a run that hangs or whose worker dies is reported, not waited on.

``concurrent.futures.ProcessPoolExecutor`` cannot kill one stuck task (killing a worker breaks the
whole pool), so each worker here is a spawned process with its own pipe. A worker reports events
(``("kernel", pid)`` once its kernel started, ``("notebook", name)`` before each notebook); each
event resets the task's deadline. When a deadline passes, the worker and its kernel are killed and
the task is reported lost; when a worker dies (out of memory, killed), its task is reported lost.
Either way a fresh worker takes its place and the other tasks go on. A worker lives for many tasks (the batch's
workers keep a warm kernel across their runs, :class:`analysis.batch.kernels.KernelSession`) and shuts that kernel
down when it is told to stop.

Log records of the ``analysis`` loggers in a worker (kernel retries, notebook timings) are sent to the parent
over the same pipe and handled there by the logger of the same name, so ``rfmkit -v`` shows them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from typing import Any

log = logging.getLogger(__name__)
#: The logger whose records a worker forwards to the parent.
PACKAGE_LOGGER = "analysis"


@dataclass
class Task:
    """One unit of work: ``fn(*args, on_event=...)`` in a worker.

    ``start_seconds`` is allowed before the first ``notebook`` event, ``step_seconds`` after each.
    """

    key: Any
    args: tuple[Any, ...]
    start_seconds: float
    step_seconds: float


@dataclass
class _Worker:
    proc: Any
    conn: Connection
    task: Task | None = None
    deadline: float = 0.0
    kernel_pid: int | None = None
    step: str = ""


def _watch_parent(parent: int) -> None:
    """Exit when the parent is gone (a killed batch must not leave workers running)."""
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(1)


class _PipeHandler(logging.Handler):
    """Sends a worker's log records to the parent (message formatted here: arguments may not pickle)."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {
                "name": record.name,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "msg": record.getMessage(),
                "created": record.created,
                "process": record.process,
            }
            self.conn.send(("log", fields))
        except Exception:  # a closed pipe: the parent is gone or replaced us
            self.handleError(record)


def _forward_logs(conn: Connection, level: int) -> None:
    logger = logging.getLogger(PACKAGE_LOGGER)
    logger.setLevel(level)
    logger.addHandler(_PipeHandler(conn))
    logger.propagate = False


def _worker_main(conn: Connection, fn: Callable[..., Any], parent: int, log_level: int = logging.WARNING) -> None:
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _forward_logs(conn, log_level)

    def emit(kind: str, data: Any) -> None:
        conn.send(("event", kind, data))

    try:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                return
            if msg is None:
                return
            try:
                result = fn(*msg, on_event=emit)
            except BaseException as err:  # reported to the parent as a lost task
                conn.send(("error", f"{type(err).__name__}: {err}"))
            else:
                conn.send(("done", result))
    finally:
        from analysis.batch.kernels import close_worker_session

        close_worker_session()  # the worker's warm kernel, if its runs kept one


def _kill(w: _Worker) -> None:
    if w.kernel_pid:
        with contextlib.suppress(OSError):
            os.kill(w.kernel_pid, signal.SIGKILL)
    if w.proc.is_alive():
        w.proc.kill()
    w.proc.join(timeout=5)
    w.conn.close()


def run_supervised(
    fn: Callable[..., Any],
    tasks: list[Task],
    jobs: int,
    on_done: Callable[[Task, Any], None],
    on_lost: Callable[[Task, str, str], None],
    poll_seconds: float = 0.5,
) -> None:
    """Run every task in at most ``jobs`` watched worker processes.

    Parameters
    ----------
    fn : callable
        A module-level function ``fn(*task.args, on_event=callback)``.
    tasks : list of Task
        The work, started in order.
    jobs : int
        Worker processes.
    on_done : callable
        ``on_done(task, result)`` with the function's return value.
    on_lost : callable
        ``on_lost(task, step, reason)`` when a task's worker died, timed out or raised; ``step`` is
        the last ``notebook`` event seen (empty before the first).
    poll_seconds : float, default=0.5
        How often deadlines are checked.
    """
    ctx = get_context("spawn")
    pending = deque(tasks)
    workers: list[_Worker] = []

    def spawn() -> _Worker:
        parent_conn, child_conn = ctx.Pipe()
        level = logging.getLogger(PACKAGE_LOGGER).getEffectiveLevel()
        proc = ctx.Process(target=_worker_main, args=(child_conn, fn, os.getpid(), level), daemon=True)
        proc.start()
        child_conn.close()
        log.debug("worker %s started", proc.pid)
        return _Worker(proc, parent_conn)

    def assign(w: _Worker, task: Task) -> None:
        w.task, w.kernel_pid, w.step = task, None, ""
        w.deadline = time.monotonic() + task.start_seconds
        w.conn.send(task.args)

    def replace(w: _Worker) -> None:
        log.warning("worker %s stopped; a new worker takes its place for the remaining runs", w.proc.pid)
        _kill(w)
        workers.remove(w)

    try:
        while pending or any(w.task for w in workers):
            for w in workers:
                if w.task is None and pending:
                    assign(w, pending.popleft())
            while pending and len(workers) < jobs:
                w = spawn()
                workers.append(w)
                assign(w, pending.popleft())
            busy = [w for w in workers if w.task]
            wait([w.conn for w in busy] + [w.proc.sentinel for w in busy], timeout=poll_seconds)
            for w in busy:
                _service(w, on_done, on_lost, replace)
    finally:
        for w in workers:
            with contextlib.suppress(OSError):
                w.conn.send(None)
        for w in workers:
            w.proc.join(timeout=5)
            if w.proc.exitcode == 0:
                w.kernel_pid = None  # it shut its kernel down itself; that pid may since belong to another process
            _kill(w)


def _service(
    w: _Worker,
    on_done: Callable[[Task, Any], None],
    on_lost: Callable[[Task, str, str], None],
    replace: Callable[[_Worker], None],
) -> None:
    task = w.task
    assert task is not None
    try:
        while w.conn.poll():
            kind, *rest = w.conn.recv()
            if kind == "log":
                _handle_log(rest[0])
            elif kind == "event":
                name, data = rest
                if name == "kernel":
                    w.kernel_pid = data
                elif name == "notebook":
                    w.step = str(data)
                    w.deadline = time.monotonic() + task.step_seconds
            elif kind == "done":
                w.task = None
                on_done(task, rest[0])
                return
            elif kind == "error":
                w.task = None
                log.warning("worker %s: run %s raised %s", w.proc.pid, task.key, rest[0])
                on_lost(task, w.step, rest[0])
                replace(w)
                return
    except (EOFError, OSError):
        pass
    if not w.proc.is_alive() or w.conn.closed:
        code = w.proc.exitcode
        log.warning("worker %s died (exit code %s) during %s of run %s", w.proc.pid, code, w.step or "start", task.key)
        w.task = None
        replace(w)
        on_lost(task, w.step, f"worker process died (exit code {code}; out of memory or killed)")
    elif time.monotonic() > w.deadline:
        log.warning("worker %s timed out during %s of run %s: killing it", w.proc.pid, w.step or "start", task.key)
        w.task = None
        replace(w)
        on_lost(task, w.step, "timed out: the kernel did not finish in time (execution.notebook_timeout_seconds)")


def _handle_log(fields: dict[str, Any]) -> None:
    """Handle a worker's log record in this process, as if it had been logged here (same logger, level)."""
    logger = logging.getLogger(fields["name"])
    if logger.isEnabledFor(fields["levelno"]):
        record = logging.makeLogRecord({**fields, "args": None})
        logger.handle(record)
