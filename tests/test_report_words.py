"""Words, not codes (issue 22 item 4): a real report in English and in Chinese shows no code, id or snake_case token
in its visible text — quarantine reasons, column names, action ids, lifecycle stages, model class names, directions
— and a Chinese report no English column header."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from analysis.cli import main
from analysis.strategy.playbook import load_playbook
from analysis.text import catalog
from tests.test_batch import small_params

pytestmark = pytest.mark.slow

#: snake_case identifiers (``order_id``, ``bad_date``, ``p_alive``) that are not a file name (``cut_points.csv``)
SNAKE = re.compile(
    r"(?<![\w./-])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![\w-]*\.(?:csv|json|parquet|ipynb))(?![\w/.-])"
)
#: dotted Python names of the kit (a class name in a sentence)
DOTTED = re.compile(r"\banalysis\.[A-Za-z_][\w.]*")


def known_codes() -> set[str]:
    """Values the data and the playbook carry as machine names, which a reader must never see as they are."""
    en = catalog("en")
    codes = {k.split(".", 2)[2] for k in en if k.startswith("quality.reason.")}
    codes |= {k.split(".", 1)[1] for k in en if k.startswith(("stage.", "movement."))} - {"(new)", "(gone)"}
    codes |= {p.id for p in load_playbook().plays()} | {"(all)", "q20", "q40", "q60", "q80"}
    return codes


def codes_in(page: str, language: str) -> list[str]:
    """What a reader sees in ``page`` that is a code: snake_case tokens, the kit's dotted names, table cells that are
    a known code exactly, and in Chinese, table headers in lower-case ASCII (an English column name)."""
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup(["script", "style", "head"]):
        tag.decompose()
    text = soup.get_text(" ")
    found = [m.group(0) for m in SNAKE.finditer(text)] + [m.group(0) for m in DOTTED.finditer(text)]
    codes = known_codes()
    for cell in soup.find_all(["td", "th"]):
        shown = cell.get_text(" ", strip=True)
        if shown in codes:
            found.append(shown)
        if language == "zh" and cell.name == "th" and re.fullmatch(r"[a-z][a-z ]+", shown):
            found.append(shown)
    return sorted(set(found))


def test_the_checker_finds_codes() -> None:
    page = (
        "<html><body><p>By ABC tier × product_line, see cut_points.csv; model analysis.clv.ModifiedBGNBD</p>"
        "<table><tr><th>customer</th></tr><tr><td>bad_date</td><td>winback_at_risk</td><td>active</td>"
        "<td>Active</td></tr></table><script>var a_b = 1;</script></body></html>"
    )
    assert codes_in(page, "en") == [
        "active",
        "analysis.clv.ModifiedBGNBD",
        "bad_date",
        "product_line",
        "winback_at_risk",
    ]
    assert "customer" in codes_in(page, "zh")


@pytest.fixture(scope="module")
def zh_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small Chinese run (a region with rows set aside, so every section has something to show)."""
    tmp = tmp_path_factory.mktemp("words_zh")
    params = small_params(
        tmp,
        source={"format": "sample", "sample": {"customers": 900, "seed": 11}},  # North: the 1,500's sections and files
        language="zh",
        currency="¥",
        periods={"start": "2024-12", "end": "2024-12"},
        regions=["North"],
    )
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return tmp / "reports"


def test_no_code_in_an_english_report(published_batch: Path) -> None:
    reports = sorted((published_batch / "reports").glob("*/*/report.html"))
    assert reports
    for report in reports:
        assert codes_in(report.read_text(encoding="utf-8"), "en") == [], report


def test_no_code_in_a_chinese_report(zh_batch: Path) -> None:
    reports = sorted(zh_batch.glob("*/*/report.html"))
    assert reports
    for report in reports:
        assert codes_in(report.read_text(encoding="utf-8"), "zh") == [], report


def test_the_first_screen_and_a_phone(published_batch: Path) -> None:
    """Done when (issue 22): at 1280×800 the first screen shows the KPI cards with comparisons and the top actions; at
    390 px nothing overflows the page (wide tables scroll in their own box)."""

    from playwright.sync_api import sync_playwright

    from tests.browser import launch_chromium

    report = sorted((published_batch / "reports").glob("*/*/report.html"))[-1]
    with sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(report.as_uri())
        cards = page.locator(".rfm-card")
        assert 4 <= cards.count() <= 6
        for k in range(cards.count()):
            box = cards.nth(k).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 800, k  # every card on the first screen
        assert page.locator(".rfm-card .rfm-change.up, .rfm-card .rfm-change.down").count() >= 4  # coloured changes
        top = page.locator(".rfm-actions li").first.bounding_box()
        assert top is not None and top["y"] < 800  # the first top action too
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(100)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        browser.close()
