"""Tiny periods and time zones (issue 18, items 4 and 9): a log whose timestamps are UTC and whose January is four
hours of New Year's night. With ``cleaning.timezone`` the rows land on their local days; a period with fewer than
``rfm.min_period_days`` days of data shows no growth figure, no backtest and no action evaluation, and says why.
Every figure is recomputed by hand from the rows below."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.data.clean import clean_transactions
from analysis.errors import ParamsError
from analysis.params import CleaningParams, load_params
from analysis.pipeline import open_run

SHORT = "Only 1 day of data in this period (fewer than 7): too little to compare"

ROWS = [  # (UTC timestamp, customer, amount)
    ("2024-10-01 12:00:00", "E", 5.0), ("2024-11-05 12:00:00", "A", 10.0), ("2024-11-20 12:00:00", "B", 20.0),
    ("2024-12-01 02:00:00", "A", 100.0),  # New York: 30 Nov, 21:00
    ("2024-12-10 12:00:00", "B", 7.0), ("2024-12-20 12:00:00", "C", 3.0),
    ("2024-12-31 23:30:00", "A", 40.0),  # 31 Dec everywhere
    ("2025-01-01 00:10:00", "B", 1.0), ("2025-01-01 01:30:00", "C", 2.0),  # London: 1 Jan; New York: 31 Dec
    ("2025-01-01 03:50:00", "D", 4.0),
]  # fmt: skip


def _run(folder: Path, period: str, timezone: str | None) -> tuple[pd.DataFrame, object]:
    log = pd.DataFrame(
        [{"order_id": f"o{i}", "customer_id": c, "order_date": d, "amount": a} for i, (d, c, a) in enumerate(ROWS)]
    )
    log.to_csv(folder / "log.csv", index=False)
    data = {
        "title": "Time zones",
        "source": {"format": "csv", "path": str(folder / "log.csv")},
        "cleaning": {"timezone": timezone},
        "periods": {"start": period, "end": period},
        "clv": {"enabled": False},
        "segmentation": {"cluster": {"enabled": False}},
        "output_dir": str(folder / "reports"),
    }
    (folder / "p.yaml").write_text(yaml.safe_dump(data))
    run = open_run(load_params(folder / "p.yaml"), period, run_dir=folder / "run")
    run.get("summary")
    table = pd.read_csv(folder / "run" / "headline.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return table.set_index(["measure", "window"]), run


def test_new_years_night_in_london_is_a_one_day_january_without_growth_figures(tmp_path: Path) -> None:
    table, run = _run(tmp_path, "2025-01", "Europe/London")  # London is on UTC in winter: the rows stay on 1 Jan
    assert tuple(table.loc[("revenue", "this"), ["start", "end", "value"]]) == ("2025-01-01", "2025-01-01", "7.00")
    assert table.loc[("customers", "this"), "value"] == "3"  # B C D
    for window in ("previous", "year_ago"):  # no comparison, and why, for every measure
        rows = table.xs(window, level="window")
        assert (rows["value"] == "").all() and rows["note"].str.startswith(SHORT).all()
    summary = run.get("summary")
    assert any(n.startswith(SHORT) for n in summary.notes)
    assert summary.notes[0].startswith("Windows of equal length, 1 day each: this period is **2025-01-01 to 2025-01-01")
    revenue = summary.headline_kpis.loc["revenue"]
    assert revenue["this_period"] == 7.0 and pd.isna(revenue["change"]) and pd.isna(revenue["change_vs_year"])
    card = next(c for c in summary.cards if c.key == "revenue")
    assert card.unavailable["previous"].startswith(SHORT)
    strategy = run.get("strategy")
    assert strategy.backtest.reason("en").startswith(SHORT)
    assert run.get("evaluation").results.reason("en").startswith(SHORT)
    assert strategy.backtest.reason("zh").startswith("本期只有 1 天的数据")


def test_in_new_york_the_night_belongs_to_december(tmp_path: Path) -> None:
    table, _ = _run(tmp_path, "2024-12", "America/New_York")
    # 1 Dec 02:00 UTC is 30 Nov in New York; the four January hours are 31 Dec: 7 + 3 + 40 + 1 + 2 + 4
    assert table.loc[("revenue", "this"), "value"] == "57.00"
    assert tuple(table.loc[("revenue", "this"), ["start", "end"]]) == ("2024-12-01", "2024-12-31")
    # November's window: the 31 days ending on 30 Nov (31 Oct - 30 Nov): 10 + 20 + 100
    assert tuple(table.loc[("revenue", "previous"), ["start", "end"]]) == ("2024-10-31", "2024-11-30")
    assert table.loc[("revenue", "previous"), "value"] == "130.00"


def test_cleaning_puts_stamps_on_their_local_day() -> None:
    raw = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_id": ["1", "2", "3"], "amount": [1.0, 2.0, 3.0],
                        "order_date": ["2025-01-01 03:00:00", "2025-01-01T02:00:00+01:00", "2024-12-31"]})  # fmt: skip

    def days(timezone: str | None) -> list[str]:
        clean = clean_transactions(raw, params=CleaningParams(timezone=timezone)).clean.sort_values("customer_id")
        return [str(d.date()) for d in clean["order_date"]]

    # without a timezone naive stamps are local already (a zoned one becomes UTC: 01:00 on 1 Jan)
    assert days(None) == ["2025-01-01", "2025-01-01", "2024-12-31"]
    assert days("Europe/London") == ["2025-01-01", "2025-01-01", "2024-12-31"]
    # New York is 5 hours behind UTC in winter: 22:00 and 20:00 on 31 Dec; in a column with times of day a bare day
    # is midnight UTC (30 Dec, 19:00)
    assert days("America/New_York") == ["2024-12-31", "2024-12-31", "2024-12-30"]
    # a column of bare dates holds days already: never moved
    only_days = raw.assign(order_date=["2025-01-01", "2025-01-01", "2024-12-31"])
    clean = clean_transactions(only_days, params=CleaningParams(timezone="America/New_York")).clean
    assert sorted(str(d.date()) for d in clean["order_date"]) == ["2024-12-31", "2025-01-01", "2025-01-01"]


def test_an_unknown_timezone_names_the_key_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        yaml.safe_dump({"periods": {"start": "2024-12", "end": "2024-12"}, "cleaning": {"timezone": "Europe/Londn"}})
    )
    with pytest.raises(ParamsError, match=r"cleaning.timezone 'Europe/Londn' is not an IANA time zone name.*London"):
        load_params(tmp_path / "p.yaml")


@pytest.mark.parametrize("timezone", [None, "America/New_York"])
def test_engines_assign_zoned_stamps_to_the_same_days(timezone: str | None) -> None:
    from analysis.engines import get_engine
    from analysis.engines.base import SummaryRequest

    # 1 Jan 03:00 UTC: 1 Jan in UTC, 31 Dec (22:00) in New York; 30 Dec 12:00 UTC is 30 Dec everywhere
    tx = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"], "amount": [5.0, 7.0, 9.0],
                       "order_date": pd.to_datetime(["2024-12-30 12:00", "2025-01-01 03:00", "2025-01-01 03:00"],
                                                    utc=True)})  # fmt: skip
    request = SummaryRequest("2025-01-01", timezone=timezone)
    frames = {}
    for name in ("pandas", "duckdb"):
        with get_engine(name) as engine:
            frames[name] = engine.customer_summary(tx, request, btyd=False).rfm.sort_index()
    recency = 1 if timezone else 0  # days from the last purchase day to 1 Jan
    assert list(frames["pandas"]["recency_days"]) == [recency, recency]
    pd.testing.assert_frame_equal(frames["pandas"], frames["duckdb"], check_dtype=False)
