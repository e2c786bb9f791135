"""A region's KPI tables by segment (and by ABC tier × dimension) count customers new to *this region*, and say so
in the column label, as the headline does ("new to this region" / "new to the business"). The two-region log of
tests/test_region_new.py: M moves from North to South in February, T is new to the business, S is neither."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from bs4 import BeautifulSoup

from analysis.regions import ALL_REGIONS
from analysis.report import tables
from tests.test_region_new import open_month


def _segments(folder: Path, region: str):
    return open_month(folder, region).get("segments")


def _headers(frame: pd.DataFrame, language: str) -> list[str]:
    html = tables.styled(frame, "$", language=language).to_html()
    return [th.get_text() for th in BeautifulSoup(html, "html.parser").select("thead th")]


def test_a_regions_kpi_tables_label_new_customers_new_to_this_region(tmp_path: Path) -> None:
    seg = _segments(tmp_path, "South")
    # South's February buyers M, T, S: M and T first bought in South in February (M had bought in North before)
    assert seg.kpi_by_segment.loc["(all)", "new_customers"] == 2
    for language, label, plain in (("en", "new to this region", "new customers"), ("zh", "本区域新客户数", "新客户数")):
        headers = _headers(seg.kpi_by_segment, language)
        assert label in headers and plain not in headers
        for report in seg.kpi_by_dimension.values():  # ABC tier × region: the same count, the same label
            assert label in _headers(report, language)


def test_the_whole_business_keeps_new_customers(tmp_path: Path) -> None:
    seg = _segments(tmp_path, ALL_REGIONS)
    assert seg.kpi_by_segment.loc["(all)", "new_customers"] == 1  # T only: M bought in January (North)
    headers = _headers(seg.kpi_by_segment, "en")
    assert "new customers" in headers and "new to this region" not in headers
