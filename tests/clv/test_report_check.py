"""The shared published batch (tests/conftest.py): every report shows the CLV model check with its numbers (or the
one-sentence reason), the run-rate fallback's backtest and the CLV method, never a raw error (issue 18, item 6)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # reads the shared published batch (built once per test run)


def test_every_report_shows_the_model_check_and_the_method(published_batch: Path) -> None:
    out = published_batch / "reports"
    for period in ("2024-11", "2024-12"):
        for region in ("North", "South"):
            run = out / period / region
            html = re.sub(r"<[^>]+>", "", (run / "report.html").read_text(encoding="utf-8"))
            assert "Model check skipped" not in html and "Traceback" not in html and "[detail:" not in html
            shown = "fitted on the history up to" in html and "The run-rate estimate (the fallback" in html
            assert shown or "Model check not run:" in html
            assert "(method: " in html  # beside the CLV total
            with (run / "headline.csv").open(encoding="utf-8-sig") as f:
                rows = {(r["measure"], r["window"]): r for r in csv.DictReader(f)}
            assert rows[("clv_total", "next")]["note"].startswith("Method: ")
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Gamma-Gamma)" in index or "run-rate estimate)" in index  # the method beside each CLV total
