"""Comparison windows of equal length (issue 18, item 1) and the minimum-data rule (item 4), by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.window import Window, equal_window, too_short

D = pd.Timestamp


def _days(bounds: tuple[pd.Timestamp, pd.Timestamp]) -> int:
    return int((bounds[1] - bounds[0]).days) + 1


def test_october_against_september_counts_31_days_each() -> None:
    w = Window("2024-10")
    assert (w.start, w.as_of, w.days) == (D("2024-10-01"), D("2024-10-31"), 31)
    # September has 30 days: the window ends on 30 Sep and reaches back to 31 Aug
    assert w.previous == (D("2024-08-31"), D("2024-09-30")) and _days(w.previous) == 31
    assert w.year_ago == (D("2023-10-01"), D("2023-10-31"))
    assert w.days_note == "reach_back"
    # retention of the previous window follows the 31 days before it, never overlapping it
    assert w.before(w.previous) == (D("2024-07-31"), D("2024-08-30"))
    assert w.before((w.start, w.as_of)) == w.previous


def test_march_against_february_and_a_leap_year() -> None:
    w = Window("2025-03")
    assert w.previous == (D("2025-01-29"), D("2025-02-28"))  # 3 days of January + 28 of February = 31
    leap = Window("2024-02")  # 29 days against February 2023's 28: 31 Jan - 28 Feb 2023
    assert leap.year_ago == (D("2023-01-31"), D("2023-02-28")) and _days(leap.year_ago) == 29
    assert Window("2024-09").previous == (D("2024-08-01"), D("2024-08-30"))  # 30 of August's 31 days
    assert Window("2024-09").days_note == "same"


def test_a_partial_month_is_compared_with_the_same_days() -> None:
    w = Window("2011-12", D("2010-12-01"), D("2011-12-09"))
    assert w.is_partial and w.days == 9
    assert w.previous == (D("2011-11-01"), D("2011-11-09")) and w.year_ago == (D("2010-12-01"), D("2010-12-09"))
    assert w.before(w.previous) == (D("2011-10-01"), D("2011-10-09"))
    # a partial March to the 30th: February has 28 days, so 30 days ending on 28 Feb
    march = Window("2025-03", D("2024-01-01"), D("2025-03-30"))
    assert march.previous == (D("2025-01-30"), D("2025-02-28"))


def test_the_first_month_of_data_has_no_comparison() -> None:
    w = Window("2010-12", D("2010-12-01"), D("2011-12-09"))
    missing = w.unavailable()
    assert set(missing) == {"previous", "year_ago", "new_customers"}
    assert missing["year_ago"].reason("en") == "n/a — data starts 2010-12-01"


@pytest.mark.parametrize(("first", "last", "days", "expected"), [
    ("2024-09-01", "2024-09-30", 31, ("2024-08-31", "2024-09-30")),
    ("2024-11-01", "2024-11-30", 9, ("2024-11-01", "2024-11-09")),
    ("2024-07-01", "2024-09-30", 92, ("2024-07-01", "2024-09-30")),  # a quarter (the sales funnel)
    ("2024-01-01", "2024-03-31", 92, ("2023-12-31", "2024-03-31")),  # Q1 (91 days in 2024) against Q2's 92
])  # fmt: skip
def test_equal_window(first: str, last: str, days: int, expected: tuple[str, str]) -> None:
    bounds = equal_window(first, last, days)
    assert bounds == (D(expected[0]), D(expected[1])) and _days(bounds) == days


def test_too_short_names_the_days_and_the_minimum() -> None:
    assert too_short(7, 7) is None
    why = too_short(1, 7)
    assert why is not None and why.reason("en") == (
        "Only 1 day of data in this period (fewer than 7): too little to compare, so growth figures, backtests and "
        "the action evaluation are not shown."
    )
    assert "1" in why.reason("zh") and "7" in why.reason("zh")
