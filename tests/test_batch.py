"""End to end: `rfmkit run` on two months × two regions, and what a re-run does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from analysis.cli import main
from analysis.report.render import table_script
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

NOTEBOOKS = ["01_cleaning", "02_scoring", "03_segmentation", "04_strategy"]
if (ROOT / "notebooks" / "05_summary.ipynb").exists():
    NOTEBOOKS.append("05_summary")


def small_params(tmp: Path, **extra) -> Path:
    data = {
        "title": "Test report",
        "source": {"format": "sample", "sample": {"customers": 1500, "seed": 11}},
        "periods": {"start": "2024-11", "end": "2024-12"},
        "regions": ["North", "South"],
        "include_all_regions": False,
        "playbook": str(ROOT / "analysis" / "strategy" / "playbook.yaml"),
        "notebooks_dir": str(ROOT / "notebooks"),
        "output_dir": str(tmp / "reports"),
        "execution": {"jobs": 2, "timeout_seconds": 300},
        **extra,
    }
    path = tmp / "small.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.fixture
def batch(published_batch: Path) -> Path:
    """The run's one small published batch (tests/conftest.py): ``small_params`` run once, 4 runs ok."""
    return published_batch


def test_files_titles_and_tables(batch: Path) -> None:
    out = batch / "reports"
    index = (out / "index.html").read_text(encoding="utf-8")
    for period in ("2024-11", "2024-12"):
        for region in ("North", "South"):
            run = out / period / region
            assert {p.name for p in run.glob("*.html")} == {"report.html"}
            assert f'href="{period}/{region}/report.html"' in index
            html = (run / "report.html").read_text(encoding="utf-8")
            assert f"<title>Test report · {period} · {region}</title>" in html
            assert (run / "report.html").stat().st_size <= 3_000_000  # small enough to e-mail
            assert "customers scored as of" in html and "rfm-table" in html and "<img" in html
            assert "Champions" in html and "Recommendations" in html and any((run / "actions").glob("*.csv"))
            anchors = re.findall(r'id="sec-([\w-]+)"', html)
            # the manager's part (summary, segments, strategy), then the analyst's appendix (data quality, scores,
            # and the appendix parts of the manager's sections: clusters, segment rules, experiment tables)
            assert [a for a in anchors if not a.endswith("-appendix")] == [
                "05_summary", "03_segmentation", "04_strategy", "01_cleaning", "02_scoring"
            ]  # fmt: skip
            for nb in anchors:
                assert f'href="#sec-{nb}"' in html
            manifest = json.loads((run / "manifest.json").read_text())
            assert manifest["status"] == "ok" and manifest["region"] == region
            assert set(NOTEBOOKS) <= set(manifest["timings_seconds"])
            assert manifest["params"]["source"]["sample"]["customers"] == 1500
            assert not list(run.parent.glob(".*"))  # no staging folder left behind


def test_no_code_reaches_the_html(batch: Path) -> None:
    for html_file in (batch / "reports").rglob("*.html"):
        html = html_file.read_text(encoding="utf-8")
        body = re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S)
        assert "jp-InputArea-editor" not in body and "hl-ipython3" not in body and "jp-InputPrompt" not in body
        assert "import " not in body and "ctx." not in body
        assert "params_path" not in html  # the parameters cell is not shown
        kit = f"<script>{table_script()}</script>" if html_file.name == "report.html" else ""  # a report's one script
        assert "<script" not in html.replace(kit, "") and "<link" not in html  # nothing to load: opens offline
        assert not re.search(r"https?://", html), re.search(r".{60}https?://.{60}", html)  # no URL of any kind


def test_region_reports_only_their_region(batch: Path) -> None:
    import pandas as pd

    for region in ("North", "South"):
        tx = pd.read_parquet(batch / "reports" / "2024-11" / region / "transactions.parquet")
        assert set(tx.region) == {region} and tx.order_date.max() <= pd.Timestamp("2024-11-30")


def test_unchanged_rerun_is_skipped(batch: Path) -> None:
    """An unchanged batch run again runs nothing. What ``--force`` does to an unchanged run is checked where a batch
    is forced anyway, so this file pays no run of the 1,500 sample for it: tests/test_batch_safety.py (the second of
    two batches re-runs a run the first has just published: "1 runs: 1 ok, 0 skipped"), and
    tests/test_reproducibility.py (2024-12/North of this batch forced alone: the same files, byte for byte)."""
    res = CliRunner().invoke(main, ["run", str(batch / "small.yaml"), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0 and "4 runs: 0 ok, 4 skipped (unchanged), 0 failed" in res.output, res.output


def test_failed_run_is_reported_and_others_go_on(tmp_path) -> None:
    import shutil

    import nbformat

    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    nb = nbformat.read(notebooks / "04_strategy.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    code[3].source = "raise RuntimeError('the CRM export folder is read-only')"  # first cell after the header
    nbformat.write(nb, notebooks / "04_strategy.ipynb")
    sample = {"format": "sample", "sample": {"customers": 900, "seed": 11}}  # any sample; a smaller CLV fit
    params = small_params(
        tmp_path,
        source=sample,
        periods={"start": "2024-12", "end": "2024-12"},
        notebooks_dir=str(notebooks),
        notebooks=["03_segmentation", "04_strategy"],  # one that runs, one that fails: not four notebooks a run
    )
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress", "--jobs", "1"])
    assert res.exit_code == 1
    assert "0 ok" in res.output and re.search(r"FAILED 2024-12/North: 04_strategy, cell \d+: \w+", res.output)
    run = tmp_path / "reports" / "2024-12" / "North"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["failed_notebook"] == "04_strategy"
    executed = json.loads((run / "_executed" / "04_strategy.ipynb").read_text())
    failed = [c for c in executed["cells"] if c.get("execution_count") == manifest["failed_cell"]]
    assert failed and any(o.get("output_type") == "error" for o in failed[0]["outputs"])  # the cell named is the one
    report = (run / "report.html").read_text(encoding="utf-8")  # what did run, under a failure banner
    assert "This run failed: 04_strategy" in report and 'id="sec-03_segmentation"' in report
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert 'class="run failed"' in index and "_executed/04_strategy.ipynb" in index


def test_reports_in_a_real_browser(batch: Path) -> None:
    """Open the index and a report in Debian's chromium: key elements visible, no console errors."""
    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    errors: list[str] = []
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto((batch / "reports" / "index.html").as_uri())
        assert page.locator("h1").inner_text() == "Test report"
        assert page.locator("#runs td.run").count() == 4
        chart = page.locator("svg#trend")
        assert chart.is_visible() and chart.bounding_box()["width"] > 300
        assert chart.locator("polyline").count() == 2 and chart.locator("circle").count() == 4
        page.screenshot(path=str(artifacts / "index.png"), full_page=True)
        page.locator('a[href="2024-12/North/report.html"]').click()
        page.wait_for_load_state()
        assert page.title() == "Test report · 2024-12 · North"
        nav = page.locator("nav.rfm-nav")
        assert nav.is_visible() and nav.locator('a[href^="#sec-"]').count() == 3  # the manager's part
        assert nav.locator('a[href="#appendix"]').count() == 1
        assert page.locator("h1").first.is_visible()
        page.screenshot(path=str(artifacts / "report-top.png"), full_page=False)
        nav.locator('a[href="#sec-03_segmentation"]').click()
        heading = page.locator("h1", has_text="Customer segments")
        page.wait_for_function("() => location.hash === '#sec-03_segmentation'")
        assert heading.is_visible() and heading.bounding_box()["y"] < 300  # scrolled to the section
        assert nav.bounding_box()["y"] == 0  # the navigation stays at the top
        assert page.locator("table.rfm-table").first.is_visible()
        assert page.locator("img").count() >= 4
        page.screenshot(path=str(artifacts / "report-segments.png"), full_page=False)
        page.locator('nav.rfm-nav a[href$="index.html"]').click()
        page.wait_for_load_state()
        assert page.locator("#runs").is_visible()
        browser.close()
    assert errors == []
