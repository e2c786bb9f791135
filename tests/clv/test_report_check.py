"""The shared published batch (tests/conftest.py): every report shows the CLV model check with its numbers (or the
one-sentence reason), the run-rate fallback's backtest and the CLV method, never a raw error (issue 18, item 6)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # reads the shared published batch (built once per test run)


#: The model check's sentences with their numbers (catalog ``check_result`` / ``check_run_rate``), tags stripped.
MODEL_CHECK = re.compile(
    r"fitted on the history up to .+?, predicted \**[\d,]+\** repeat purchases from .+? to .+?; the customers made "
    r"\**[\d,]+\** \((?:[+-]\d+\.\d|0\.0)%\); per customer the typical error is \d+\.\d\d purchases \(MAE\)"
)
RUN_RATE_CHECK = re.compile(
    r"The run-rate estimate \(the fallback when no model can be fitted\), made on .+? for the same days, predicted "
    r"\**[\d,]+\** \((?:[+-]\d+\.\d|0\.0)%; per customer \d+\.\d\d purchases MAE\)"
)


def _history_allows(region: str, as_of: str) -> bool:
    """Whether the bundled sample's history (tests.test_batch.small_params: 1,500 customers, seed 11) of ``region``
    up to ``as_of`` is long enough to hold part of it back (analysis.clv.selection.holdout_window)."""
    import pandas as pd

    from analysis.clv.selection import holdout_window
    from analysis.data.sample import generate_transactions

    raw = generate_transactions(customers=1500, seed=11)
    day = pd.to_datetime(raw["order_date"], errors="coerce", format="%Y-%m-%d")
    mine = raw["region"].astype(str).str.strip().str.casefold() == region.casefold()
    return holdout_window(day[mine].min(), as_of) is not None


def test_every_report_shows_the_model_check_and_the_method(published_batch: Path) -> None:
    out = published_batch / "reports"
    checked = 0
    for period, as_of in (("2024-11", "2024-11-30"), ("2024-12", "2024-12-31")):
        for region in ("North", "South"):
            run = out / period / region
            html = re.sub(r"<[^>]+>", "", (run / "report.html").read_text(encoding="utf-8"))
            assert "Model check skipped" not in html and "Traceback" not in html and "[detail:" not in html
            if _history_allows(region, as_of):  # the sample starts in January 2023: every run here
                assert MODEL_CHECK.search(html), (period, region)
                assert RUN_RATE_CHECK.search(html), (period, region)
                assert "Model check not run:" not in html
                checked += 1
            else:  # the reason only, never numbers made up
                assert "Model check not run:" in html and not MODEL_CHECK.search(html)
            assert "(method: " in html  # beside the CLV total
            with (run / "headline.csv").open(encoding="utf-8-sig") as f:
                rows = {(r["measure"], r["window"]): r for r in csv.DictReader(f)}
            assert rows[("clv_total", "next")]["note"].startswith("Method: ")
    assert checked == 4  # the bundled sample has the history for all four runs: the check cannot silently not run
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Gamma-Gamma)" in index or "run-rate estimate)" in index  # the method beside each CLV total
