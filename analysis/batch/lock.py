"""One batch at a time per output folder.

A batch holds an exclusive lock on ``<output_dir>/.rfmkit.lock`` (``filelock``, an OS-level ``flock``) from before it
cleans the data until it has written the index. A second batch on the same folder **waits** for the first one, saying
which batch holds the folder (pid, host, start time and command, from ``.rfmkit.lock.json`` beside the lock), or, with
``wait=False`` (``rfmkit run --no-wait``), fails at once with that message. The operating system releases the lock
when its process dies, so a batch that was killed leaves no lock behind: its holder file is then recognised as stale
(the pid is gone) and replaced. A batch that ends removes its holder file before it releases the lock, so the file
names only a batch that is running (or was killed). Holding the lock, a batch removes the temporary files a killed
batch left (:func:`remove_stale_temp_files`). Locks on network file systems depend on the file system's own locking.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from analysis.errors import BatchError

log = logging.getLogger(__name__)

LOCK_NAME = ".rfmkit.lock"
HOLDER_NAME = ".rfmkit.lock.json"


#: The temporary files of the kit's atomic writers (``tempfile.mkstemp(prefix=".<name>.", suffix=".tmp")``).
_TEMP_FILE = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def remove_stale_temp_files(out_dir: str | Path) -> list[Path]:
    """Remove the temporary files (``.<name>.<8 random characters>.tmp``) that a killed batch's writers left in
    ``out_dir``, its period folders and its cleaned-data folders; call it holding the batch lock (no other batch is
    writing). Only regular files of exactly that shape are removed; returns them."""
    out = Path(out_dir)
    removed = []
    for pattern in ("*", "*/*", "_data/*/*"):
        for path in out.glob(pattern):
            if "_scratch" in path.parts or not _TEMP_FILE.match(path.name):
                continue
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                removed.append(path)
    if removed:
        log.info("removed %d temporary file(s) left by a killed batch: %s", len(removed), [p.name for p in removed])
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_holder(out_dir: str | Path) -> dict[str, Any] | None:
    """Who holds (or last held) the lock of ``out_dir``: pid, host, started, command; ``None`` if unknown."""
    try:
        return json.loads((Path(out_dir) / HOLDER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def describe_holder(holder: dict[str, Any] | None) -> str:
    """``pid 123 on host x, started 2026-11-25 14:02:11 UTC (rfmkit run params/monthly.yaml)`` or a fallback."""
    if not holder:
        return "another batch (no holder details)"
    return (
        f"pid {holder.get('pid')} on host {holder.get('host')}, started {holder.get('started')} "
        f"({holder.get('command', '?')})"
    )


@contextmanager
def batch_lock(out_dir: str | Path, *, wait: bool = True, poll_seconds: float = 5.0) -> Iterator[Path]:
    """Hold the output folder's batch lock for the duration of the block.

    Parameters
    ----------
    out_dir : path
        The params' ``output_dir`` (made if missing).
    wait : bool, default=True
        Wait for a running batch to finish (logging who holds the folder every minute); with ``False`` raise
        :class:`BatchError` naming the holder at once.
    poll_seconds : float, default=5.0
        How often a waiting batch tries again.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(out / LOCK_NAME))
    waited_since = time.monotonic()
    announced = -1.0
    while True:
        try:
            lock.acquire(timeout=0 if not wait else poll_seconds)
            break
        except Timeout:
            holder = read_holder(out)
            if holder and holder.get("host") == socket.gethostname() and not _pid_alive(int(holder.get("pid", 0))):
                holder = {**holder, "command": f"{holder.get('command', '?')}; its process is gone"}
            message = f"{out}: another rfmkit batch is writing this folder: {describe_holder(holder)}"
            if not wait:
                raise BatchError(message + "; wait for it to finish, or use another output_dir") from None
            elapsed = time.monotonic() - waited_since
            if announced < 0 or elapsed - announced >= 60:
                log.info("%s; waiting for it to finish", message)  # the person is told on stderr below
                print(f"{message}; waiting for it to finish …", file=sys.stderr, flush=True)
                announced = elapsed
    try:
        previous = read_holder(out)
        if previous and previous.get("host") == socket.gethostname() and not _pid_alive(int(previous.get("pid", 0))):
            log.info("replacing the stale lock holder of a batch that was killed: %s", describe_holder(previous))
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]) or "python",
        }
        from analysis.data.io import write_json

        write_json(holder, out / HOLDER_NAME)
        remove_stale_temp_files(out)
        yield out
    finally:
        mine = read_holder(out)
        if mine and mine.get("pid") == os.getpid() and mine.get("host") == socket.gethostname():
            (out / HOLDER_NAME).unlink(missing_ok=True)  # no stale holder once released
        lock.release()
