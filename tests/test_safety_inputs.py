"""Hostile and unlucky input (issue 19, issue 17 item 7): every value ends in clean data or quarantine, never an
exception; ids stay exact; one date layout per column; input limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analysis.data.clean import clean_transactions, parse_dates

_ZONED = st.builds(
    lambda prefix, date, sep, sign, hh, mm, tail: f"{prefix}{date}{sep}{sign}{hh:02d}{mm:02d}{tail}",
    st.sampled_from(["", "T", " ", "x"]),
    st.sampled_from(["2024-01-05", "05/01/2024", "2024-1-5", "Jan 5 2024", "2024-01-05T10:00"]),
    st.sampled_from(["", "-", "+", " ", "T", "Z"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(0, 99),
    st.integers(0, 99),
    st.sampled_from(["", "-2024-01-05", "Z", ":00", " UTC"]),
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(_ZONED | st.text(max_size=12), min_size=1, max_size=6))
@example(["T2024-01-05-2024-01-05"])
@example(["T2024-01-05-2024-01-05", "2024-01-05 10:00+02:00", "2024-01-05"])
def test_time_zone_looking_dates_parse_or_are_nat(values: list[str]) -> None:
    """A text that dateutil reads with an offset (``-2024``) once raised AttributeError in parse_dates."""
    parsed = parse_dates(pd.Series(values, dtype=object))
    assert len(parsed) == len(values)
    assert parsed.dtype == np.dtype("datetime64[ns]")
    raw = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(values))], "order_date": values, "amount": 1.0})
    result = clean_transactions(raw)
    assert result.quality["rows_in"] == len(result.clean) + len(result.quarantine)
    assert set(result.quarantine["reason"]) <= {"bad_date", "duplicate"}
