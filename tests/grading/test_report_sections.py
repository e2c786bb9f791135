"""The shared published batch (no optional inputs): the strategy section says the service-recovery play cannot be
targeted without satisfaction data, and the segment section says which input would show segments by attributes."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

pytestmark = pytest.mark.slow


def test_without_inputs_the_report_says_what_the_play_and_the_attributes_need(published_batch: Path) -> None:
    report = sorted((published_batch / "reports").glob("*/*/report.html"))[-1]
    soup = BeautifulSoup(report.read_text(encoding="utf-8"), "html.parser")
    page = " ".join(soup.get_text(" ").split())
    assert (
        "Personal call by the account manager to fix what went wrong, before any offer: cannot be targeted: there is "
        "no satisfaction data (add a feedback input under grading.feedback" in page
    )
    assert "No customer attributes: add them under grading.attributes" in page
    assert "actions/service_recovery.csv" not in page  # no list, no link to one
