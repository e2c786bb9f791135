"""Notebook 03 labels the clusters' CLV column with the CLV method, as the report names it beside the CLV total
(notebook 02, the index page): the shared published batch (tests/conftest.py), every report."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup


@pytest.mark.slow
def test_the_cluster_clv_names_the_method_of_the_clv_total(published_batch: Path) -> None:
    reports = sorted((published_batch / "reports").glob("*/*/report.html"))
    assert len(reports) == 4
    for report in reports:
        words = BeautifulSoup(report.read_text(encoding="utf-8"), "html.parser").get_text(" ")
        words = re.sub(r"\s+", " ", words)
        total = re.search(r"Expected value of these customers over the next .*? \(method: ([^)]+)\)", words)
        cluster = re.search(r"CLV : the mean expected value per customer of the cluster .*? \(method: ([^)]+)\)", words)
        assert total is not None and cluster is not None, report
        assert cluster.group(1) == total.group(1), report  # one method, named the same way
