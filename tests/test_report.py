"""The report renderer and the index page, on hand-made notebooks (no kernel needed)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from analysis.report.index_page import RunEntry, trend_chart, write_index
from analysis.report.render import Section, render_report, report_order

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _notebook(path: Path, title: str) -> Path:
    nb = nbformat.v4.new_notebook()
    en = nbformat.v4.new_markdown_cell(f"# {title}\n\nEnglish text")
    en.metadata["tags"] = ["lang-en"]
    zh = nbformat.v4.new_markdown_cell(f"# {title}\n\n中文文字")
    zh.metadata["tags"] = ["lang-zh"]
    params = nbformat.v4.new_code_cell("params_path = 'secret.yaml'")
    params.metadata["tags"] = ["parameters"]
    code = nbformat.v4.new_code_cell("import secret_module\nsecret_module.run()")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="FutureWarning: noisy\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "<Figure at 0x7f3a2b1c4d50>"}),
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/html": '<style>#T_3f9a1_row0 {color: red}</style><table id="T_3f9a1" class="rfm-table">'
                '<tr><td id="T_3f9a1_row0">1,234</td></tr></table>'
            },
        ),
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=["Traceback: boom"]),
    ]
    both = nbformat.v4.new_markdown_cell("Shown in every language")
    nb.cells = [en, zh, params, code, both]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def sections(tmp_path: Path) -> list[Section]:
    return [
        Section("05_summary", "Summary", _notebook(tmp_path / "05_summary.ipynb", "Executive summary")),
        Section("01_cleaning", "Data quality", _notebook(tmp_path / "01_cleaning.ipynb", "Data quality")),
    ]


def test_summary_is_shown_first_and_missing_is_fine() -> None:
    assert report_order(["01_cleaning", "02_scoring", "05_summary"]) == ["05_summary", "01_cleaning", "02_scoring"]
    assert report_order(["01_cleaning", "02_scoring"]) == ["01_cleaning", "02_scoring"]


@pytest.mark.parametrize(
    ("language", "kept", "dropped"), [("en", "English text", "中文文字"), ("zh", "中文文字", "English text")]
)
def test_language_cells_no_code_self_contained(tmp_path: Path, sections, language, kept, dropped) -> None:
    out = render_report(sections, tmp_path / "report.html", "Title · 2024-12", language, "../../index.html")
    html = out.read_text(encoding="utf-8")
    assert kept in html and dropped not in html and "Shown in every language" in html
    assert f'<html lang="{language}">' in html
    assert "secret_module" not in html and "secret.yaml" not in html  # no input cell, no parameters cell
    assert "noisy" not in html and "Traceback" not in html and "0x7f3a" not in html
    assert "<script" not in html and not re.search(r"https?://", html)  # nothing fetched, no URL at all
    assert "data:image/png;base64," in html  # images inline
    assert re.findall(r'id="sec-([\w-]+)"', html) == ["05_summary", "01_cleaning"]
    assert 'href="#sec-05_summary"' in html and 'href="../../index.html"' in html
    assert "T_3f9a1" not in html and 'id="T_rfm0"' in html  # Styler's random ids made stable


def test_render_is_deterministic_and_banner(tmp_path: Path, sections) -> None:
    a = render_report(sections, tmp_path / "a.html", "T", "en").read_bytes()
    b = render_report(sections, tmp_path / "b.html", "T", "en").read_bytes()
    assert a == b
    failed = render_report(sections, tmp_path / "c.html", "T", "en", banner="This run failed: 01_cleaning, cell 3")
    assert 'class="rfm-failed">This run failed: 01_cleaning, cell 3<' in failed.read_text(encoding="utf-8")


def test_index_grid_statuses_and_trend_chart(tmp_path: Path) -> None:
    entries = [
        RunEntry("2024-11", "North", "ok", "2024-11/North/report.html", headline={"customers": 1200}),
        RunEntry(
            "2024-12",
            "North",
            "skipped",
            "2024-12/North/report.html",
            headline={"customers": 1300, "revenue_period": 6e4, "clv_total": 2.5e5},
        ),
        RunEntry(
            "2024-12",
            "all",
            "failed",
            None,
            "2024-12/all/_executed/02_scoring.ipynb",
            {},
            "ValueError: bad",
            "02_scoring",
            7,
        ),
    ]
    html = write_index(tmp_path, "Monthly", entries, "¥", "zh").read_text(encoding="utf-8")
    grid = html[html.index("<thead>") :]
    assert grid.index("全部地区") < grid.index("North")  # all regions first
    assert 'class="run ok"' in html and 'class="run skipped"' in html and 'class="run failed"' in html
    assert "完成 · 未变更" in html and "02_scoring, 单元 7: ValueError: bad" in html
    assert "¥250,000" in html and "1,300" in html and "¥60,000" in html
    assert 'href="2024-12/all/_executed/02_scoring.ipynb"' in html
    assert '<svg class="chart" id="trend"' in html and html.count("<polyline") == 1  # customers: 2 points
    assert html.count("<circle") == 3  # revenue: 1 point (no revenue in 2024-11), customers: 2
    assert "<script" not in html and not re.search(r"https?://", html)


def test_trend_chart_handles_gaps_and_one_period() -> None:
    svg = trend_chart({"North": [None, 3.0, 4.0], "South": [1.0, None, None]}, ["a", "b", "c"], "t")
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 1
    assert "<circle" in trend_chart({"x": [0.0]}, ["2024-12"], "t")
