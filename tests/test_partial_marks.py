"""Partial periods marked where they are drawn (issue 18, item 4): the monthly revenue bars, the cohort heatmap and
the index page's trend charts label a month the data cover in part ("1–9 Dec (partial)", both languages) and draw it
apart (hatched bar, hatched cells, hollow points). Checked on the figures' artists and the rendered SVG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from bs4 import BeautifulSoup

from analysis.customers.cohorts import cohort_table
from analysis.regions import ALL_REGIONS
from analysis.report.index_page import RunEntry, write_index
from analysis.report.plots.rfm import monthly_revenue
from analysis.report.plots.segmentation import cohort_heatmap

D = pd.Timestamp
TX = pd.DataFrame({
    "customer_id": ["a", "b", "a", "c", "b"],
    "order_date": pd.to_datetime(["2011-10-03", "2011-10-20", "2011-11-05", "2011-11-28", "2011-12-09"]),
    "amount": [10.0, 20.0, 30.0, 40.0, 50.0],
})  # fmt: skip
DAYS = (D("2011-10-01"), D("2011-12-09"))  # the data cover October and November whole, December to the 9th


def test_the_partial_month_is_a_hatched_lighter_bar_with_its_days() -> None:
    ax = monthly_revenue(TX, "$", data_days=DAYS)
    bars = ax.patches
    assert [b.get_height() for b in bars] == [30.0, 70.0, 50.0]
    assert [b.get_hatch() for b in bars] == [None, None, "//"]
    assert bars[2].get_alpha() < bars[0].get_alpha()
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["2011-10", "2011-11", "2011-12 1–9 Dec (partial)"]
    zh = monthly_revenue(TX, "¥", language="zh", data_days=DAYS)
    assert zh.get_xticklabels()[-1].get_text() == "2011-12 12月1–9日（不完整）"
    plt.close("all")


def test_the_cohort_heatmap_hatches_the_partial_month_and_labels_a_partial_cohort() -> None:
    table = cohort_table(TX, as_of="2011-12-09")
    # the data start on 3 Oct: October's cohort is a partial month too
    ax = cohort_heatmap(table.retention, data_days=(D("2011-10-03"), D("2011-12-09")))
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows == ["2011-10 · 3–31 Oct (partial)", "2011-11"]
    hatched = {(int(p.get_x()), int(p.get_y())) for p in ax.patches if p.get_gid() == "partial"}
    # (month since first, cohort row): October's cohort in October (m 0) and December (m 2); November's in December
    assert hatched == {(0, 0), (2, 0), (1, 1)}
    plt.close("all")


def test_the_index_trend_charts_mark_the_partial_month(tmp_path: Path) -> None:
    def entry(period: str, revenue: float, buyers: int) -> RunEntry:
        h = {"revenue_period": revenue, "buyers": buyers, "customers": 3, "data_start": "2011-10-01",
             "data_end": "2011-12-09", "currency": "$", "language": "en"}  # fmt: skip
        return RunEntry(period, ALL_REGIONS, "ok", headline=h)

    entries = [entry("2011-10", 30.0, 2), entry("2011-11", 70.0, 2), entry("2011-12", 50.0, 1)]
    page = BeautifulSoup(write_index(tmp_path, "t", entries).read_text(encoding="utf-8"), "html.parser")
    for chart_id in ("trend", "trend-customers"):
        svg = page.find("svg", id=chart_id)
        ticks = svg.find_all("text", class_="partial")
        assert [t.get_text(" ") for t in ticks] == ["2011-12 1–9 Dec (partial)"]
        hollow = svg.find_all("circle", class_="partial")
        assert len(hollow) == 1 and "1–9 Dec (partial)" in hollow[0].title.get_text()
        assert len(svg.find_all("circle")) == 3
