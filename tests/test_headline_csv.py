"""One definition per measure, its windows stated and used (issue 18, item 1): ``headline.csv`` on a log shaped like
a real export (data from 1 Dec 2010 to 9 Dec 2011), each figure recomputed by hand from the rows below.

Retention is the share of the previous window's buyers who bought in this window, with the previous window the one
the headline names (1-9 Nov for 1-9 Dec, not the nine days before 1 Dec); nobody is counted as new in the data's first
month, and a comparison the data cannot support is empty with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.params import load_params
from analysis.pipeline import open_run
from analysis.strategy.executive import HEADLINE_CSV_COLUMNS
from tests.conftest import ROOT

ROWS = [  # (day, customer, amount)
    ("2010-12-01", "Y", 100.0), ("2010-12-05", "A", 50.0), ("2010-12-20", "Y", 30.0),  # the data's first month
    ("2011-01-10", "Y", 5.0),
    ("2011-10-02", "A", 10.0), ("2011-10-05", "C", 20.0), ("2011-10-08", "X", 30.0),  # 1-9 Oct: A C X
    ("2011-11-02", "A", 11.0), ("2011-11-03", "B", 12.0), ("2011-11-04", "C", 13.0), ("2011-11-09", "D", 14.0),
    ("2011-11-25", "E", 15.0), ("2011-11-28", "G", 16.0),  # 22-30 Nov: E G (the nine days before 1 Dec)
    ("2011-12-01", "A", 21.0), ("2011-12-05", "B", 22.0), ("2011-12-09", "F", 23.0),  # the data end on 9 Dec
]  # fmt: skip


def _run(folder: Path, period: str, notes: list[str] | None = None, rows: list | None = None) -> pd.DataFrame:
    rows = rows or ROWS
    log = pd.DataFrame(
        [{"order_id": f"o{i}", "customer_id": c, "order_date": d, "amount": a} for i, (d, c, a) in enumerate(rows)]
    )
    log.to_csv(folder / "log.csv", index=False)
    data = {
        "title": "Headline",
        "source": {"format": "csv", "path": str(folder / "log.csv")},
        "periods": {"start": period, "end": period},
        "clv": {"enabled": False},
        "segmentation": {"cluster": {"enabled": False}},
        "output_dir": str(folder / "reports"),
    }
    (folder / "h.yaml").write_text(yaml.safe_dump(data))
    run = open_run(load_params(folder / "h.yaml"), period, run_dir=folder / "run")
    summary = run.get("summary")
    if notes is not None:
        notes.extend(summary.notes)
    table = pd.read_csv(folder / "run" / "headline.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert tuple(table.columns) == HEADLINE_CSV_COLUMNS
    return table.set_index(["measure", "window"])


@pytest.fixture(scope="module")
def december(tmp_path_factory) -> pd.DataFrame:
    return _run(tmp_path_factory.mktemp("dec"), "2011-12")


def test_windows_are_the_ones_named(december: pd.DataFrame) -> None:
    revenue = december.loc["revenue"]
    assert list(revenue.index) == ["this", "previous", "year_ago"]
    assert tuple(revenue.loc["this", ["start", "end"]]) == ("2011-12-01", "2011-12-09")
    assert tuple(revenue.loc["previous", ["start", "end"]]) == ("2011-11-01", "2011-11-09")
    assert tuple(revenue.loc["year_ago", ["start", "end"]]) == ("2010-12-01", "2010-12-09")
    # by hand: 21 + 22 + 23; 11 + 12 + 13 + 14; Y 100 + A 50 (Y's 20 Dec purchase is outside 1-9 Dec)
    assert [revenue.loc[w, "value"] for w in ("this", "previous", "year_ago")] == ["66.00", "50.00", "150.00"]
    assert december.loc[("orders", "this"), "value"] == "3" and december.loc[("aov", "this"), "value"] == "22.00"
    assert december.loc[("customers", "previous"), "value"] == "4"


def test_retention_follows_the_buyers_of_the_window_the_headline_names(december: pd.DataFrame) -> None:
    # 1-9 Nov buyers A B C D; of them A and B bought in 1-9 Dec: 2 of 4 (22-30 Nov's E and G would give 0)
    this = december.loc[("retention_rate", "this")]
    assert this["value"] == "0.5" and "2011-11-01 to 2011-11-09" in this["note"]
    # the previous window's own retention follows 1-9 Oct (A C X): A and C bought in 1-9 Nov
    previous = december.loc[("retention_rate", "previous")]
    assert float(previous["value"]) == pytest.approx(2 / 3, abs=1e-6) and "2011-10-01 to 2011-10-09" in previous["note"]
    # a year ago's base, 1-9 Nov 2010, is before the data: no value, and why
    year_ago = december.loc[("retention_rate", "year_ago")]
    assert year_ago["value"] == "" and year_ago["note"] == "n/a — data starts 2010-12-01"


def test_nobody_is_new_in_the_datas_first_month(december: pd.DataFrame) -> None:
    new = december.loc["new_customers"]
    # F buys first on 9 Dec 2011; B and D first bought in 1-9 Nov (C already in October)
    assert (new.loc["this", "value"], new.loc["previous", "value"]) == ("1", "2")
    assert new.loc["year_ago", "value"] == "" and "data starts 2010-12-01" in new.loc["year_ago", "note"]
    assert "first month" in new.loc["year_ago", "note"]


def test_the_first_month_has_no_comparison_and_nobody_new(tmp_path: Path) -> None:
    table = _run(tmp_path, "2010-12")
    assert table.loc[("revenue", "this"), "value"] == "180.00"  # the whole month: 100 + 50 + 30
    assert table.loc[("new_customers", "this"), "value"] == ""
    for window in ("previous", "year_ago"):
        rows = table.xs(window, level="window")
        assert (rows["value"] == "").all() and (rows["note"] == "n/a — data starts 2010-12-01").all()


def test_a_month_after_a_shorter_one_says_so(tmp_path: Path) -> None:
    notes: list[str] = []
    table = _run(tmp_path, "2011-10", notes)
    # October's 31 days against the 31 days ending on September's last day (equal lengths, no per-day scaling)
    assert tuple(table.loc[("revenue", "previous"), ["start", "end"]]) == ("2011-08-31", "2011-09-30")
    assert tuple(table.loc[("revenue", "year_ago"), ["start", "end"]]) == ("2010-10-01", "2010-10-31")
    assert table.loc[("revenue", "this"), "value"] == "60.00"  # 10 + 20 + 30
    assert table.loc[("revenue", "previous"), "value"] == "0.00"  # no sales in 31 Aug - 30 Sep: 0, and said
    assert table.loc[("revenue", "previous"), "note"] == "no sales in this window"
    assert table.loc[("retention_rate", "this"), "value"] == ""  # nobody bought in the previous window to follow
    assert "equal length, 31 days each" in notes[0] and "reaches back into the month before" in notes[1]


def test_a_month_shorter_than_the_one_before(tmp_path: Path) -> None:
    # September's 30 days against 1-30 August (August is long enough): the window starts on its first day, and
    # August's 31st is outside it
    extra = [("2011-08-01", "A", 4.0), ("2011-08-30", "B", 5.0), ("2011-08-31", "C", 6.0), ("2011-09-15", "B", 8.0)]
    notes: list[str] = []
    table = _run(tmp_path, "2011-09", notes, rows=ROWS + extra)
    assert tuple(table.loc[("revenue", "previous"), ["start", "end"]]) == ("2011-08-01", "2011-08-30")
    assert table.loc[("revenue", "previous"), "value"] == "9.00"  # 4 + 5, not C's 6 on 31 Aug
    assert table.loc[("revenue", "this"), "value"] == "8.00"
    assert table.loc[("retention_rate", "this"), "value"] == "0.5"  # of A and B (1-30 Aug), B bought again
    assert "equal length, 30 days each" in notes[0] and not any("reaches back" in n for n in notes)


#: Sales an export writes without a customer id, and rows without one that are no sale.
NO_ID = [
    ("2011-12-02", "(blank)", 40.0), ("2011-12-08", "", 60.0),  # two sales in 1-9 Dec: 100
    ("2011-11-05", "NULL", 25.0),  # a sale in 1-9 Nov
    ("2011-12-03", "N/A", -40.0),  # a return without a customer: no sale, netted from the sales without one
    ("not a date", "(blank)", 70.0),  # no day: no sale
]  # fmt: skip


def test_sales_without_a_customer_id_count_in_revenue_not_in_customer_figures(tmp_path: Path) -> None:
    notes: list[str] = []
    table = _run(tmp_path, "2011-12", notes, rows=ROWS + NO_ID)
    value = table["value"]
    # customer measures as without those rows
    assert value[("revenue", "this")] == "66.00" and value[("customers", "this")] == "3"
    assert value[("retention_rate", "this")] == "0.5" and value[("new_customers", "this")] == "1"
    # revenue with them, as finance books it: 66 + 40 + 60 − 40 (the return without a customer, 3 Dec) this
    # window, 50 + 25 the previous one; their share (40 + 60 − 40) / 126
    assert value[("revenue_all_sales", "this")] == "126.00" and value[("revenue_all_sales", "previous")] == "75.00"
    assert float(value[("anonymous_share", "this")]) == pytest.approx(60 / 126, abs=1e-6)
    assert value[("revenue_all_sales", "year_ago")] == "150.00" and value[("anonymous_share", "year_ago")] == "0"
    assert any("Sales without a customer id" in n and "2 line(s)" in n for n in notes)
    headline = json.loads((tmp_path / "run" / "headline.json").read_text())
    assert headline["revenue_period"] == 66.0 and headline["revenue_no_customer_id"] == 60.0
    # reconciled with the cleaning: every row set aside stays in the quarantine, the three sales are counted
    quality = json.loads(next((tmp_path / "reports" / "_data").glob("clean-*/quality.json")).read_text())
    assert quality["reasons"]["missing_customer_id"] == 5 and quality["rows_in"] == len(ROWS) + len(NO_ID)
    assert quality["anonymous_sales"] == {"rows": 3, "revenue": 125.0}
    assert quality["anonymous_returns"] == {"rows": 1, "value": 40.0}
    assert quality["rows_in"] == quality["rows_clean"] + quality["rows_quarantined"]


def test_cdnow_headline_equals_the_raw_rows(tmp_path: Path) -> None:
    """The real CDNOW sample, March 1997 (31 days against February's 28): every value of headline.csv recomputed
    from the raw file, with retention following the February buyers the headline names."""
    raw = pd.read_csv(
        ROOT / "analysis" / "data" / "cdnow" / "CDNOW_sample.txt.gz",
        sep=r"\s+",
        header=None,
        names=["cohort_id", "sample_id", "date", "cds", "dollars"],
        dtype={"sample_id": str, "date": str},
    )
    raw["day"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    first = raw.groupby("sample_id")["day"].min()

    def window(a: str, b: str) -> pd.DataFrame:
        return raw[(raw["day"] >= a) & (raw["day"] <= b)]

    # March's 31 days against the 31 days ending on February's last day: 29 Jan - 28 Feb
    mar, feb = window("1997-03-01", "1997-03-31"), window("1997-01-29", "1997-02-28")
    params = load_params(ROOT / "params" / "cdnow.yaml", overrides={
        "periods": {"start": "1997-03", "end": "1997-03"}, "output_dir": str(tmp_path / "reports"),
        "clv": {"enabled": False}, "segmentation": {"cluster": {"enabled": False}},
    })  # fmt: skip
    run = open_run(params, "1997-03", run_dir=tmp_path / "run")
    run.get("summary")
    table = pd.read_csv(tmp_path / "run" / "headline.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    value = table.set_index(["measure", "window"])["value"]
    assert tuple(table.set_index(["measure", "window"]).loc[("revenue", "previous"), ["start", "end"]]) == (
        "1997-01-29",
        "1997-02-28",
    )
    for name, rows in (("this", mar), ("previous", feb)):
        orders = len(rows[["sample_id", "day"]].drop_duplicates())  # no order id: one order per customer and day
        assert float(value[("revenue", name)]) == pytest.approx(rows["dollars"].sum(), abs=0.005)
        assert int(value[("orders", name)]) == orders
        assert int(value[("customers", name)]) == rows["sample_id"].nunique()
        assert float(value[("aov", name)]) == pytest.approx(rows["dollars"].sum() / orders, abs=0.005)
    # CDNOW's customers all made their first purchase in Q1 1997: the March cohort bought first in March
    assert int(value[("new_customers", "this")]) == int(((first >= "1997-03-01") & (first <= "1997-03-31")).sum())
    # retention: the previous window's buyers who bought in March; the previous window's own retention would follow
    # the 31 days before it (29 Dec 1996 - 28 Jan 1997), which start before the data: empty, with the reason
    feb_buyers = set(feb["sample_id"])
    expected = len(feb_buyers & set(mar["sample_id"])) / len(feb_buyers)
    assert float(value[("retention_rate", "this")]) == pytest.approx(expected, abs=1e-6)
    assert value[("retention_rate", "previous")] == ""
    notes = table.set_index(["measure", "window"])["note"]
    assert notes[("retention_rate", "previous")] == "n/a — data starts 1997-01-01"
    # a year ago is before the data (1 Jan 1997): empty, with the reason
    year_ago = table[table["window"] == "year_ago"]
    assert (year_ago["value"] == "").all() and (year_ago["note"] == "n/a — data starts 1997-01-01").all()
