"""Issue 10's "done when": a batch over the last three months of a retailer's log renders every period × region.

The log (``retail.py``) starts less than a year before those months, ends mid-month (9 December), writes missing
customer ids as ``(blank)`` (and ``NULL``, ``N/A``, empty), has cancellations and outliers; the regions run are all
regions together and one with three customers. Every run must be ok, and the figures the index and the report are
built from must equal a hand computation from the export's rows.

The batch runs the three reported months (:data:`BATCH`): October, November with the £60k wholesale outlier and the
three-customer region's month without sales, December the partial month with the cancelled £168k order.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from analysis.cli import main
from analysis.window import period_bounds
from tests.acceptance.retail import (
    CANCELLED_BUYER,
    DATE_FORMAT,
    MAPPING,
    NULL_TOKENS,
    REPORTED,
    TINY_REGION,
    hand_customers,
    hand_revenue,
    retail_log,
    write_retail_log,
)
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

REGIONS = ("all", TINY_REGION)
#: The months the batch runs: the issue's last three months (a month with no sales, an outlier, a partial month).
BATCH = REPORTED


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("retail_batch")
    params = {
        "title": "Retail acceptance",
        "currency": "£",
        "source": {"format": "auto", "path": str(write_retail_log(tmp / "retail.csv"))},
        "columns": MAPPING,
        "cleaning": {"date_format": DATE_FORMAT, "cancelled_prefix": "C"},
        "periods": {"start": BATCH[0], "end": BATCH[-1]},
        "regions": [TINY_REGION],
        "include_all_regions": True,
        "notebooks_dir": str(ROOT / "notebooks"),
        "output_dir": str(tmp / "reports"),
        "execution": {"jobs": 2, "timeout_seconds": 600},  # generous: only a hang trips it on a loaded machine
    }
    path = tmp / "retail.yaml"
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    res = CliRunner().invoke(main, ["run", str(path), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    n = len(BATCH) * len(REGIONS)
    assert f"{n} runs: {n} ok" in res.output, res.output
    return tmp / "reports"


def _runs(out: Path) -> dict[tuple[str, str], Path]:
    """Run folders by (period, region), wherever the batch lays them out under the output folder."""
    runs = {}
    for manifest in out.rglob("manifest.json"):
        m = json.loads(manifest.read_text(encoding="utf-8"))
        region = "all" if m["region"] in ("all", "\x1fall") else m["region"]
        runs[(m["period"], region)] = manifest.parent
    return runs


def test_every_period_and_region_renders_ok(batch: Path) -> None:
    runs = _runs(batch)
    assert set(runs) == {(p, r) for p in BATCH for r in REGIONS}
    index_file = next(batch.rglob("index.html"))
    index = index_file.read_text(encoding="utf-8")
    for run in runs.values():
        manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["status"] == "ok", manifest
        html = (run / "report.html").read_text(encoding="utf-8")
        assert "(blank)" not in html  # a missing id is never shown as a customer
        assert f'href="{(run / "report.html").relative_to(index_file.parent).as_posix()}"' in index


def test_headline_figures_equal_a_hand_computation(batch: Path) -> None:
    raw = retail_log()
    for (period, region), run in _runs(batch).items():
        first, last = (d.strftime("%Y-%m-%d") for d in period_bounds(period))
        where = None if region == "all" else region
        headline = json.loads((run / "headline.json").read_text(encoding="utf-8"))
        assert headline["revenue_period"] == pytest.approx(hand_revenue(raw, first, last, where), abs=0.005)
        customers = pd.read_parquet(run / "customers.parquet")
        assert set(customers.index.astype(str)) == hand_customers(raw, last, where)
        assert headline["customers"] == len(customers)
    # the export ends on 9 December: December is scored as of that day, and the report says so
    december = _runs(batch)[("2011-12", "all")]
    headline = json.loads((december / "headline.json").read_text(encoding="utf-8"))
    assert (headline["as_of"], headline["days"], headline["period_days"]) == ("2011-12-09", 9, 31)
    assert pd.read_parquet(december / "customers.parquet")["recency_days"].min() == 0
    assert "(9 of 31 days)" in (december / "report.html").read_text(encoding="utf-8")


def test_action_lists_hold_real_customers_only(batch: Path) -> None:
    raw = retail_log()
    for (period, region), run in _runs(batch).items():
        last = period_bounds(period)[1].strftime("%Y-%m-%d")
        known = hand_customers(raw, last, None if region == "all" else region)
        lists = [p for p in (run / "actions").glob("*.csv")]
        assert lists, f"{period}/{region}: no CRM list"
        for csv in lists:
            ids = set(pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")["customer_id"])
            assert not ids & set(NULL_TOKENS), csv
            assert ids <= known, csv
    december = _runs(batch)[("2011-12", "all")]
    actions = pd.read_csv(december / "actions.csv")
    assert actions["value_at_stake"].sum() < 1e6  # the cancelled £168k order does not become £589k "at stake"
    crm = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
                    for p in (december / "actions").glob("*.csv"))  # fmt: skip
    if CANCELLED_BUYER in set(crm["customer_id"]):
        row = crm[crm["customer_id"] == CANCELLED_BUYER].iloc[0]
        assert float(row["monetary"]) == pytest.approx(25.50)  # what he kept, not what he cancelled


def test_the_three_customer_region(batch: Path) -> None:
    raw = retail_log()
    assert hand_revenue(raw, "2011-11-01", "2011-11-30", TINY_REGION) == 0  # November: a month without its sales
    for period in BATCH:
        run = _runs(batch)[(period, TINY_REGION)]
        customers = pd.read_parquet(run / "customers.parquet")
        assert len(customers) == 3
        html = (run / "report.html").read_text(encoding="utf-8")
        assert "Clustering skipped: 3 customers" in html  # said, not failed
