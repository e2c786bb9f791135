"""Property-based tests (hypothesis): arbitrary user data never slips through cleaning or scoring unnoticed.

* Cleaning: any frame ends either in a typed :class:`~analysis.errors.RfmkitError` or in a result where every
  row is accounted for (``rows_in = clean + quarantined``, each row once), every clean value is finite and
  within the plausible limits, and ``quality`` is valid JSON.
* RFM and the CLV summary on any clean log return finite numbers (NaN only where documented) or a typed error.

In the full run cleaning runs 700 examples, scoring and the CLV summary 300 each (small frames, so each example
is cheap), 20 each in the fast tier (``tests/conftest.py``: hypothesis profiles).
"""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.clv.summary import summary_from_transactions
from analysis.contract import CONTROL_CHARACTERS, REASONS
from analysis.customers.rfm import score_customers
from analysis.data.clean import clean_transactions
from analysis.errors import RfmkitError
from analysis.params import DEFAULT_MISSING_TOKENS, CleaningParams
from tests.conftest import examples

#: Cleaning: 700 derandomized examples (the ``ci`` profile) reach every line and arc of ``analysis`` that 1,000 reach
#: (2,004 arcs under coverage, the same set; 400 missed some), at 70 % of the CPU.
EXAMPLES = settings(
    max_examples=examples(700), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
#: Scoring and the CLV summary take clean logs of at most 12 rows over six ids: 300 derandomized examples reach every
#: branch of ``analysis`` that 1,000 reach (the same arcs under coverage), at under a third of the CPU.
SCORING_EXAMPLES = settings(EXAMPLES, max_examples=examples(300))

#: Values real exports contain, good and hostile; mixed with arbitrary text (control characters included).
NASTY = [
    "", " ", "(blank)", "NULL", "N/A", "#N/A", "nan", "None", "-", "?", "inf", "-inf", "Infinity", "1e309",
    "-1e309", "0", "-5", "12.5", "1,234.50", "10,50", "$3", "12346.0", "\x00", "\x00\x00", "a\x00b", "\u200b",
    "\u202eevil", "a\tb", "C123", "=SUM(1+1)", "<img src=x>", "2024-01-05", "2024-01-05 10:00", "9999-12-31",
    "0001-01-01", "1677-09-21", "01/01/1500", "31/12/2024", "12/31/2024", "2024-02-30", "2024-01-09T10:00:00Z",
    "2262-04-12", "1e13", "3",
]  # fmt: skip
text_cell = st.one_of(st.sampled_from(NASTY), st.text(max_size=8))
number_cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 2.0**53, 2.0**63, 1e300, 12346.0, 3.5]),
    st.none(),
)
date_cell = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2025, 12, 31)),
    st.none(),
)
OPTIONAL = ["order_id", "region", "channel", "cost", "quantity", "unit_price", "note"]


@st.composite
def raw_frames(draw: st.DrawFn) -> pd.DataFrame:
    """A raw log as a reader returns it: all text (CSV, Excel) or typed columns (Parquet, SQL), any values."""
    n = draw(st.integers(0, 6))
    typed = draw(st.booleans())
    columns = ["customer_id", "order_date", "amount", *draw(st.lists(st.sampled_from(OPTIONAL), unique=True))]
    if draw(st.integers(0, 20)) == 0:
        columns.append(draw(st.sampled_from(columns)))  # a duplicated header now and then: must be a typed error
    data = {}
    for i, col in enumerate(columns):
        if not typed:
            cells = draw(st.lists(text_cell, min_size=n, max_size=n))
        elif col == "order_date":
            cells = pd.Series(draw(st.lists(date_cell, min_size=n, max_size=n)), dtype="datetime64[us]")
        elif col in ("customer_id", "amount", "cost", "quantity", "unit_price"):
            cells = pd.Series(draw(st.lists(number_cell, min_size=n, max_size=n)), dtype="float64")
        else:
            cells = draw(st.lists(st.one_of(text_cell, number_cell), min_size=n, max_size=n))
        data[i] = cells
    frame = pd.DataFrame(data)
    frame.columns = columns
    return frame


def _finite(values: pd.Series) -> bool:
    return bool(np.isfinite(values.to_numpy(dtype=float)).all())


@EXAMPLES
@given(raw=raw_frames(), keep_zero=st.booleans())
def test_cleaning_accounts_for_every_row_and_keeps_only_plausible_values(raw: pd.DataFrame, keep_zero: bool) -> None:
    params = CleaningParams(zero_amount="keep" if keep_zero else "quarantine")
    try:
        res = clean_transactions(raw, params=params)
    except RfmkitError:
        return  # a typed error with a message is an acceptable outcome for arbitrary input
    q, clean, quarantine = res.quality, res.clean, res.quarantine
    assert q["rows_in"] == len(raw) == q["rows_clean"] + q["rows_quarantined"] == len(clean) + len(quarantine)
    assert sorted([*clean["row_id"], *quarantine["row_id"]]) == list(range(len(raw)))
    assert sum(q["reasons"].values()) == len(quarantine) and set(quarantine["reason"]) <= set(REASONS)
    json.dumps(q, allow_nan=False)
    # every clean value is finite and within the limits
    first, last = params.date_range()
    assert clean["order_date"].between(first, last + pd.Timedelta(days=1), inclusive="left").all()
    assert _finite(clean["amount"]) and (clean["amount"] <= params.max_amount).all()
    assert (clean["amount"] >= 0).all() and (keep_zero or (clean["amount"] > 0).all())
    for col in ("cost", "quantity", "unit_price"):
        if col in clean:
            v = clean[col].dropna()
            assert _finite(v) and (v.abs() <= params.max_amount).all()
    ids = clean["customer_id"]
    folded = {t.casefold() for t in DEFAULT_MISSING_TOKENS}
    assert ids.notna().all() and (ids.str.len() > 0).all() and not ids.str.casefold().isin(folded).any()
    assert not ids.str.contains(CONTROL_CHARACTERS, regex=True).any()
    assert not ids.str.contains(r"^\s|\s$", regex=True).any()
    assert q["revenue"] == round(float(clean["amount"].sum()), 2)


@st.composite
def clean_logs(draw: st.DrawFn) -> pd.DataFrame:
    """A clean log as cleaning produces it: ids, days within the plausible range, positive finite amounts."""
    n = draw(st.integers(1, 12))
    ids = draw(st.lists(st.sampled_from(["a", "b", "c", "d", "007", "客户"]), min_size=n, max_size=n))
    days = draw(st.lists(st.dates(dt.date(1990, 1, 1), dt.date(2030, 12, 31)), min_size=n, max_size=n))
    amounts = draw(
        st.lists(
            st.one_of(
                st.floats(min_value=0.0, max_value=1e12, exclude_min=True, allow_nan=False),
                st.sampled_from([0.01, 1.0, 1e12, 5e-324]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    return pd.DataFrame(
        {
            "customer_id": pd.Series(ids, dtype="string"),
            "order_id": pd.Series([f"o{i % 4}" for i in range(n)], dtype="string"),
            "order_date": pd.to_datetime(pd.Series(days)).astype("datetime64[ns]"),
            "amount": amounts,
            "is_outlier": False,
            "row_id": range(n),
        }
    )


@SCORING_EXAMPLES
@given(tx=clean_logs(), as_of=st.dates(dt.date(1989, 6, 1), dt.date(2031, 6, 30)))
def test_rfm_never_returns_nan_silently(tx: pd.DataFrame, as_of: dt.date) -> None:
    try:
        customers = score_customers(tx, pd.Timestamp(as_of)).customers
    except RfmkitError:
        return
    seen = tx[tx["order_date"] <= pd.Timestamp(as_of)]
    assert set(customers.index) == set(seen["customer_id"])
    numbers = customers[["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"]]
    assert not numbers.isna().any().any() and _finite(numbers.stack())
    assert (customers["recency_days"] >= 0).all() and (customers["frequency"] >= 1).all()
    assert customers[["segment", "value_class"]].notna().all().all()
    if len(customers):
        # monetary is rounded to 1e-6 (float noise must not split equal customers), nothing more
        assert math.isclose(customers["monetary"].sum(), seen["amount"].sum(), rel_tol=1e-9, abs_tol=1e-6 * len(seen))


@SCORING_EXAMPLES
@given(
    tx=clean_logs(),
    calibration_end=st.dates(dt.date(1989, 6, 1), dt.date(2031, 6, 30)),
    holdout_days=st.one_of(st.none(), st.integers(1, 800)),
    unit=st.sampled_from(["D", "W", "M"]),
)
def test_clv_summary_never_returns_nan_silently(
    tx: pd.DataFrame, calibration_end: dt.date, holdout_days: int | None, unit: str
) -> None:
    holdout_end = None if holdout_days is None else pd.Timestamp(calibration_end) + pd.Timedelta(days=holdout_days)
    try:
        summary = summary_from_transactions(tx, pd.Timestamp(calibration_end), holdout_end, unit)
    except RfmkitError:
        return
    assert len(summary) and summary.index.is_unique
    for col in ("frequency", "t_x", "T"):
        assert _finite(summary[col]) and (summary[col] >= 0).all(), col
    assert (summary["t_x"] <= summary["T"] + 1e-9).all()
    # monetary_value is NaN exactly for customers without a repeat purchase (documented), finite otherwise
    repeat = summary["frequency"] > 0
    assert summary["monetary_value"].isna().eq(~repeat).all()
    assert _finite(summary.loc[repeat, "monetary_value"]) and (summary.loc[repeat, "monetary_value"] >= 0).all()
    if holdout_end is not None:
        for col in ("frequency_holdout", "spend_holdout", "duration_holdout"):
            assert _finite(summary[col]) and (summary[col] >= 0).all(), col
