"""The one browser set-up of the browser tests and scripts/screenshots.py: Debian's chromium, headless, nothing fetched.

Playwright drives the system's ``chromium`` package (never a downloaded browser: the machine has no internet), with
the background services that would reach the network switched off, so a test that counts requests counts only the
page's own.
"""

from __future__ import annotations

import shutil
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def launch_chromium(playwright: Any) -> Any:
    """A headless Debian chromium browser from a ``sync_playwright()`` context."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
