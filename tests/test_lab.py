"""`make lab` (scripts/lab.sh): JupyterLab starts for the user running it, root included, and serves the printed URL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "scripts" / "lab.sh"
# JupyterLab's start on a busy 2-core machine takes seconds; the deadline only catches a server that never answers.
DEADLINE_S = 300


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, b""


@pytest.mark.slow
def test_lab_starts_for_this_user_and_serves_the_printed_url(tmp_path: Path) -> None:
    venv = Path(sys.prefix)
    assert (venv / "bin" / "jupyter-lab").exists(), "JupyterLab comes with the test tools: make setup (.[test])"
    port = _free_port()
    env = {**os.environ, "LAB_PORT": str(port), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    env.pop("LAB_TOKEN", None)
    log = (tmp_path / "lab.log").open("w")
    proc = subprocess.Popen(
        ["bash", str(LAB), str(venv)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
    )
    try:
        first = proc.stdout.readline()
        assert first.startswith("==> JupyterLab: open http://127.0.0.1:"), (first, (tmp_path / "lab.log").read_text())
        url = first.split("open ", 1)[1].split()[0]
        assert url.startswith(f"http://127.0.0.1:{port}/lab/tree/notebooks?token=")
        token = url.split("token=", 1)[1]
        assert len(token) >= 32

        deadline = time.monotonic() + DEADLINE_S
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status, body = _get(url)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        server_log = (tmp_path / "lab.log").read_text()
        assert proc.poll() is None, f"JupyterLab stopped (as uid {os.getuid()}):\n{server_log[-2000:]}"
        assert status == 200, server_log[-2000:]
        assert b"JupyterLab" in body
        assert "Running as root is not recommended" not in server_log

        # the file browser is the repository root: notebooks/ and params/ are there
        status, listing = _get(f"http://127.0.0.1:{port}/api/contents/notebooks?token={token}")
        assert status == 200
        names = {item["name"] for item in json.loads(listing)["content"]}
        assert "01_cleaning.ipynb" in names
        status, _ = _get(f"http://127.0.0.1:{port}/api/contents/params?token={token}")
        assert status == 200
        # without the token nothing is served
        status, _ = _get(f"http://127.0.0.1:{port}/api/contents/notebooks")
        assert status == 403
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
