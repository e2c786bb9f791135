"""Region semantics (issue 18, item 7): a region's report shows customers new to the region and new to the
business, and says which is which. A two-region log where customer M moves from North to South; every count by hand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from analysis.params import load_params
from analysis.pipeline import open_run
from analysis.regions import ALL_REGIONS
from analysis.strategy.executive import format_headline

ROWS = [  # (day, customer, region, amount)
    ("2024-01-10", "M", "North", 10.0), ("2024-01-12", "N", "North", 20.0), ("2024-01-15", "S", "South", 30.0),
    ("2024-02-05", "M", "South", 15.0),  # M moves: new to South, not to the business
    ("2024-02-07", "T", "South", 25.0),  # T: new to South and to the business
    ("2024-02-09", "S", "South", 35.0),  # S: neither
    ("2024-02-11", "N", "North", 5.0),
]  # fmt: skip


def open_month(folder: Path, region: str, rows: list[tuple] = ROWS):
    """February 2024 of ``rows`` for ``region`` (clustering and CLV off), opened as the batch opens a run."""
    log = pd.DataFrame(
        [{"order_id": o[0] if o else f"o{i}", "customer_id": c, "order_date": d, "region": r, "amount": a}
         for i, (d, c, r, a, *o) in enumerate(rows)]
    )  # fmt: skip
    log.to_csv(folder / "log.csv", index=False)
    data = {
        "source": {"format": "csv", "path": str(folder / "log.csv")},
        "periods": {"start": "2024-02", "end": "2024-02"},
        "clv": {"enabled": False},
        "segmentation": {"cluster": {"enabled": False}},
        "output_dir": str(folder / "reports"),
    }
    (folder / "p.yaml").write_text(yaml.safe_dump(data))
    return open_run(load_params(folder / "p.yaml"), "2024-02", region, run_dir=folder / "run")


def _summary(folder: Path, region: str, rows: list[tuple] = ROWS):
    summary = open_month(folder, region, rows).get("summary")
    table = pd.read_csv(folder / "run" / "headline.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return summary, table.set_index(["measure", "window"])


def test_a_customer_moving_region_is_new_to_the_region_not_to_the_business(tmp_path: Path) -> None:
    summary, table = _summary(tmp_path, "South")
    # South's February buyers M, T, S: M and T first bought in South in February; only T first bought anywhere
    assert table.loc[("new_customers", "this"), "value"] == "2"
    assert table.loc[("new_to_business", "this"), "value"] == "1"
    assert table.loc[("new_customers", "this"), "note"].startswith("new to this region")
    assert table.loc[("new_to_business", "this"), "note"].startswith("new to the business")
    # the previous window (1-29 Jan) starts before the data (10 Jan): no count, in either sense, and why
    for measure in ("new_customers", "new_to_business"):
        assert table.loc[(measure, "previous"), "value"] == ""
        assert table.loc[(measure, "previous"), "note"] == "n/a — data starts 2024-01-10"
    shown = format_headline(summary.headline_kpis, "$", "en", summary.unavailable_text("en"))
    assert shown.loc["New to this region", "this period"] == "2"
    assert shown.loc["New to the business", "this period"] == "1"
    zh = format_headline(summary.headline_kpis, "¥", "zh", summary.unavailable_text("zh"))
    assert zh.loc["本区域新客户数", "本期"] == "2" and zh.loc["全公司新客户数", "本期"] == "1"
    said = "**New to this region** (2): customers whose first purchase in South"
    assert any(n.startswith(said) for n in summary.notes)
    card = next(c for c in summary.cards if c.key == "new_customers")
    assert card.value == 2 and card.why == "New to this region; 1 of them new to the business."


def test_a_customer_whose_only_earlier_order_was_cancelled_is_new_to_the_business_too(tmp_path: Path) -> None:
    """M's January order in North is cancelled in full the next day: M had no purchase before February anywhere,
    so M is new to South and to the business (as T); S is neither. Both counts on the net log."""
    rows = [(*ROWS[0], "m1"), ("2024-01-11", "M", "North", -10.0, "m1"), *ROWS[1:]]
    _, table = _summary(tmp_path, "South", rows)
    assert table.loc[("new_customers", "this"), "value"] == "2"  # M, T
    assert table.loc[("new_to_business", "this"), "value"] == "2"  # M, T


def test_the_whole_business_has_one_kind_of_new(tmp_path: Path) -> None:
    summary, table = _summary(tmp_path, ALL_REGIONS)
    assert table.loc[("new_customers", "this"), "value"] == "1"  # T
    assert "new_to_business" not in table.index.get_level_values("measure")
    assert "New customers" in format_headline(summary.headline_kpis, "$", "en").index
