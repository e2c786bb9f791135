"""The batch lock and run folder names (no notebooks executed here; tests/test_batch*.py run real batches)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from analysis.batch.lock import HOLDER_NAME, batch_lock, read_holder
from analysis.errors import BatchError
from analysis.regions import region_folder


def _hold_in_child(out, seconds: float) -> subprocess.Popen:
    code = textwrap.dedent(f"""
        import time
        from analysis.batch.lock import batch_lock
        with batch_lock({str(out)!r}):
            print("held", flush=True)
            time.sleep({seconds})
            open({str(out / "done")!r}, "w").close()  # the last thing before letting go
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_batch_fails_at_once_naming_the_holder(tmp_path):
    proc = _hold_in_child(tmp_path, 3600)  # held until killed below, however slow this machine is
    try:
        with pytest.raises(BatchError, match=rf"pid {proc.pid} on host"), batch_lock(tmp_path, wait=False):
            pass
    finally:
        proc.kill()
        proc.wait()


def test_second_batch_waits_for_the_first(tmp_path, capsys):
    proc = _hold_in_child(tmp_path, 2)
    with batch_lock(tmp_path, wait=True, poll_seconds=0.2):
        assert (tmp_path / "done").exists()  # only after the first batch let go: it waited, without a wall-clock bound
        assert read_holder(tmp_path)["pid"] != proc.pid
    assert "waiting for it to finish" in capsys.readouterr().err
    proc.wait()


def test_a_killed_batch_leaves_no_lock(tmp_path):
    proc = _hold_in_child(tmp_path, 60)
    proc.kill()
    proc.wait()
    assert (tmp_path / HOLDER_NAME).exists()  # the stale holder file stays behind …
    with batch_lock(tmp_path, wait=False):  # … but the lock itself went with the process
        assert read_holder(tmp_path)["pid"] != proc.pid
    assert not (tmp_path / HOLDER_NAME).exists()  # and a batch that ends leaves no holder behind (issue 19)


def test_temp_files_of_a_killed_batch_are_removed_by_the_next(tmp_path):
    """Issue 19: two temporary files of killed batches were never cleaned up; nothing else is touched."""
    stale = [tmp_path / ".index.html.ab12cd_9.tmp", tmp_path / "2024-12" / ".x.json.zz99zz00.tmp",
             tmp_path / "_data" / "clean-0" / ".clean.parquet.k2k2k2k2.tmp"]  # fmt: skip
    users = [tmp_path / "notes.tmp", tmp_path / ".mine.tmp", tmp_path / "_scratch" / "p" / ".a.b.12345678.tmp"]
    for f in stale + users:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("x")
    with batch_lock(tmp_path, wait=False):
        assert [f for f in stale if f.exists()] == []
    assert all(f.exists() for f in users)


def test_region_folders_are_distinct_and_all_is_reserved():
    names = ["North", "a/b", "a b", "a_b", "all", "ALL", "../x", ".hidden", "_data", "", "东区", "con", "x" * 100]
    folders = [region_folder(n) for n in names]
    assert len(set(folders)) == len(names)
    assert region_folder("North") == "North" and region_folder("a_b") == "a_b"
    assert region_folder("all") != "all" and region_folder("x", all_regions=True) == "all"
    assert all("/" not in f and not f.startswith((".", "_")) and f for f in folders)
    assert region_folder("a/b") == region_folder("a/b")  # stable
