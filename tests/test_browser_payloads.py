"""Hostile text in every field, through a real batch, opened in Chromium (issue 11, item 11).

Customer ids, product lines, sales reps, channels and regions carry script, ``onerror``, ``javascript:``,
``<style>`` and remote-image payloads. In every report and the index: no dialog, no console error, no
network request (only ``file:`` and ``data:`` URLs), the payload text shown literally, the page visible. And no
report shows a raw customer id: every customer has a distinctive id, and none appears in any ``report.html``.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.data.sample import generate_transactions
from tests.test_batch import small_params

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
ONERROR = "<img src=x onerror=alert(1)>"
LINK = "[y](javascript:alert(2))"
STYLE = "<style>body{display:none}</style>"
REMOTE = '<img src="http://127.0.0.1:9/x.png">'
PAYLOADS = (SCRIPT, ONERROR, LINK, STYLE, REMOTE)

#: Field → {original value: payload}; every field carries at least two payloads.
REPLACE = {
    "region": {"North": LINK, "East": SCRIPT, "South": REMOTE},
    "product_line": {"Apparel": ONERROR, "Grocery": STYLE, "Home": REMOTE},
    "channel": {"Online": SCRIPT, "Store": LINK, "Phone": STYLE},
}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def hostile_log(path: Path) -> Path:
    """The sample log with payloads in customer_id, product_line, sales_rep, channel and region."""
    df = generate_transactions(customers=400, seed=5)
    for col, mapping in REPLACE.items():
        df[col] = df[col].replace(mapping)
    reps = sorted(df["sales_rep"].unique())
    df["sales_rep"] = df["sales_rep"].replace({reps[0]: ONERROR, reps[1]: REMOTE, reps[2]: STYLE})
    ids = sorted(df["customer_id"].dropna().unique())
    for k, cid in enumerate(ids):  # a share of payloads, so some are among the top and the movers; the rest distinctive
        new = f"{PAYLOADS[k % len(PAYLOADS)]}{k}" if k < 60 else f"CID-{k:05d}-QX"
        df.loc[df["customer_id"] == cid, "customer_id"] = new
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def hostile_batch(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("hostile")
    params = small_params(
        tmp,
        source={"path": str(hostile_log(tmp / "hostile.csv"))},
        periods={"start": "2024-12", "end": "2024-12"},
        regions=[LINK],
        include_all_regions=True,
    )
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "2 runs: 2 ok" in res.output, res.output
    return tmp / "reports"


def test_payloads_in_a_real_browser(hostile_batch: Path) -> None:
    from playwright.sync_api import sync_playwright

    pages = [hostile_batch / "index.html", *sorted(hostile_batch.glob("*/*/report.html"))]
    assert len(pages) == 3
    dialogs: list[str] = []
    errors: list[str] = []
    requests: list[str] = []
    shown: dict[str, str] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        for path in pages:
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            page.wait_for_timeout(300)  # time for an onerror handler or a late fetch to show up
            body = page.locator("body")
            assert body.is_visible() and body.bounding_box()["height"] > 300, path  # no <style> blanked it
            assert page.locator("script").count() == 0, path
            assert page.locator("img[onerror], a[href^='javascript']").count() == 0, path
            assert page.locator("img:not([src^='data:'])").count() == 0, path
            shown[str(path)] = body.inner_text()
        browser.close()
    assert dialogs == [] and errors == []
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    index, *reports = pages
    assert LINK in shown[str(index)]  # the region's column and legend, as text
    for report in reports:  # every payload on screen, as text (tables, sentences, titles)
        assert [p for p in PAYLOADS if p not in shown[str(report)]] == [], report


def test_no_raw_customer_id_in_any_report(hostile_batch: Path) -> None:
    """Reports show pseudonyms (privacy.show_customer_ids is off by default): no id, raw or HTML-escaped, appears;
    the CRM lists keep the real ids beside the pseudonym the reports show."""
    raw = pd.read_csv(hostile_batch.parent / "hostile.csv", dtype=str, keep_default_na=False)["customer_id"]
    ids = sorted({i for i in raw if i.startswith("CID-") or i.startswith(PAYLOADS)})
    assert len(ids) > 300
    reports = sorted(hostile_batch.glob("*/*/report.html"))
    assert len(reports) == 2
    for report in reports:
        page = report.read_text(encoding="utf-8")
        shown = [i for i in ids if i in page or html.escape(i) in page or html.escape(i, quote=False) in page]
        assert shown == [], (report, shown[:5])
        assert "c-" in page  # pseudonyms instead
    lists = sorted(hostile_batch.glob("*/*/actions/*.csv"))
    assert lists
    crm = pd.concat(pd.read_csv(f, dtype=str, keep_default_na=False) for f in lists)
    assert set(crm["customer_id"].str.lstrip("'")) <= set(ids) and crm["customer"].str.match(r"^c-[a-z2-7]{12}$").all()
