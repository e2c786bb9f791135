"""Report tables you can work with (issue 22 item 3): the kit's one script sorts and filters every table of more
than 20 rows in place, allowed by its hash in the CSP; sections link to the files behind them."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis.report.render import CSP, Section, render_report, report_csp, section_files, table_script


def _run(tmp_path: Path, rows: int = 30) -> Path:
    """A run folder with one executed 'scoring' notebook showing a table of ``rows`` rows and a short one."""
    run = tmp_path / "run"
    (run / "_executed").mkdir(parents=True)
    big = pd.DataFrame(
        {
            "customer": [f"c-{k:03d}" for k in range(rows)],
            "revenue": [f"${(k * 37) % 101:,}.00" if k % 7 else "n/a" for k in range(rows)],
            "segment": ["Champions" if k % 3 == 0 else "At Risk" for k in range(rows)],
        }
    )
    small = big.head(5)
    nb = nbformat.v4.new_notebook()
    for frame in (big, small):
        cell = nbformat.v4.new_code_cell("x")
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data", data={"text/html": frame.to_html(index=False), "text/plain": "table"}
            )
        ]
        nb.cells.append(cell)
    nbformat.write(nb, run / "_executed" / "02_scoring.ipynb")
    (run / "customers.csv").write_text("customer\n", encoding="utf-8")
    (run / "cut_points.csv").write_text("x\n", encoding="utf-8")
    return run


def test_the_csp_allows_exactly_the_kit_script_by_its_hash() -> None:
    script = table_script()
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert report_csp(script) == f"{CSP}; script-src 'sha256-{digest}'"
    assert report_csp(script + " ") != report_csp(script)
    assert "</" not in script and "fetch" not in script and "XMLHttpRequest" not in script and "innerHTML" not in script


def test_sections_link_the_files_behind_them(tmp_path: Path) -> None:
    run = _run(tmp_path)
    (run / "actions").mkdir()
    (run / "actions" / "win back.csv").write_text("x\n", encoding="utf-8")
    outside = tmp_path / "_data" / "quarantine.csv"
    outside.parent.mkdir()
    outside.write_text("x\n", encoding="utf-8")
    assert section_files(run, "02_scoring") == [
        {"href": "customers.csv", "label": "customers.csv"},
        {"href": "cut_points.csv", "label": "cut_points.csv"},
    ]
    assert section_files(run, "04_strategy") == [{"href": "actions/win%20back.csv", "label": "actions/win back.csv"}]
    assert section_files(run, "05_summary") == [
        {"href": "customers.csv", "label": "customers.csv"},
        {"href": "actions/", "label": "actions/"},
    ]
    assert section_files(run, "01_cleaning", {"01_cleaning": [outside]}) == [
        {"href": "../_data/quarantine.csv", "label": "../_data/quarantine.csv"}
    ]
    assert section_files(run, "07_grading") == []  # no grading.csv: no link to a file that is not there


@pytest.mark.slow
def test_a_long_table_sorts_and_filters_in_a_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    run = _run(tmp_path)
    html = render_report(
        [Section("05_summary", "Summary", run / "_executed" / "02_scoring.ipynb")], run / "report.html", "T", "en"
    )
    page_text = html.read_text(encoding="utf-8")
    assert re.findall(r"<script>(.*?)</script>", page_text, re.S) == [table_script()]
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 390, "height": 800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        assert page.locator(".rfm-filter input").count() == 1  # the 30-row table, not the 5-row one
        assert page.locator("a[href='customers.csv']").count() == 1
        table = page.locator(".rfm-scroll table")

        def column(k: int) -> list[str]:
            return table.evaluate(
                f"t => [...t.tBodies[0].rows].filter(r => !r.hidden).map(r => r.cells[{k}].textContent.trim())"
            )

        page.locator(".rfm-sortable", has_text="revenue").click()
        shown = column(1)
        numbers = [float(v.strip("$").replace(",", "")) for v in shown if v != "n/a"]
        assert numbers == sorted(numbers) and shown[-len([v for v in shown if v == "n/a"]) :] == ["n/a"] * 5
        page.locator(".rfm-sortable", has_text="revenue").click()
        numbers = [float(v.strip("$").replace(",", "")) for v in column(1) if v != "n/a"]
        assert numbers == sorted(numbers, reverse=True)
        page.locator(".rfm-sortable", has_text="customer").click()
        assert column(0) == sorted(column(0))
        page.locator(".rfm-filter input").fill("champions")
        assert column(2) == ["Champions"] * 10
        assert page.locator(".rfm-count").inner_text() == "10 / 30 rows"
        page.locator(".rfm-filter input").fill("")
        assert len(column(0)) == 30
        # at a phone's width nothing overflows the page: wide tables scroll inside their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        browser.close()
    assert errors == [] and [u for u in requests if not u.startswith(("file:", "data:"))] == []


def _notebook(path: Path, cells: list[tuple[str, str, list[str]]]) -> Path:
    nb = nbformat.v4.new_notebook()
    for kind, source, tags in cells:
        cell = nbformat.v4.new_markdown_cell(source) if kind == "md" else nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_the_managers_part_first_then_the_appendix_in_details(tmp_path: Path) -> None:
    """Item 2: the summary and the manager's sections first; data quality, scores and the experiment tables in a
    collapsible appendix after them; a table of contents lists both."""
    from bs4 import BeautifulSoup

    summary = _notebook(tmp_path / "05_summary.ipynb", [("md", "# Summary text", [])])
    strategy = _notebook(
        tmp_path / "04_strategy.ipynb",
        [
            ("md", "## 1. Recommendations", ["text:strategy.recommendations"]),
            ("md", "Call them", []),
            ("md", "## 6. Did last period's actions work?", ["text:strategy.experiment"]),
            ("md", "Experiment table", []),
        ],
    )
    cleaning = _notebook(tmp_path / "01_cleaning.ipynb", [("md", "Rows set aside", [])])
    sections = [
        Section("05_summary", "Summary", summary),
        Section("01_cleaning", "Data quality", cleaning),
        Section("04_strategy", "Strategy", strategy),
    ]
    page = render_report(sections, tmp_path / "r.html", "T", "en").read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    details = soup.select("details.rfm-appendix")
    assert [d.summary.get_text() for d in details] == ["Data quality", "Strategy"]
    assert "Rows set aside" in details[0].get_text() and "Experiment table" in details[1].get_text()
    assert "Call them" not in "".join(d.get_text() for d in details)
    toc = soup.select_one("nav.rfm-toc")
    assert [a["href"] for a in toc.select("a")] == [
        "#sec-05_summary", "#sec-04_strategy", "#appendix", "#sec-01_cleaning", "#sec-04_strategy-appendix"
    ]  # fmt: skip
    assert all(soup.select_one(a["href"]) is not None for a in toc.select("a"))  # every entry lands somewhere
    toc.extract()
    text = soup.main.get_text()
    order = [
        text.index(s)
        for s in ("Summary text", "Call them", "Appendix for analysts", "Rows set aside", "Experiment table")
    ]
    assert order == sorted(order)
    zh = render_report(sections, tmp_path / "z.html", "T", "zh").read_text(encoding="utf-8")
    assert "分析师附录" in zh and "目录" in zh
