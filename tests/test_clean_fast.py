"""The vectorised cleaning gives exactly what cleaning gave before it was vectorised.

The oracle is :mod:`tests.clean_reference` (the earlier definition, value by value in Python): on a 30,000-row
messy log read back from Parquet (three Arrow chunks, as real files give), from CSV (all text) and with typed
columns (float and integer ids, timestamp dates, numeric amounts), both must give the same clean, quarantine and
returns frames and the same quality counts; the text, date and number readers are also compared on generated text.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal, assert_series_equal

from analysis.data import clean as fast
from analysis.data.io import read_transactions
from analysis.params import CleaningParams, SourceParams
from tests import clean_reference as reference
from tests.conftest import examples

ROWS = 30_000  # every awkward value hundreds of times over; the speed is a benchmark's business

IDS = [" 1001 ", "1002.0", "1003.00", "-7.0", "1004", "(blank)", "NULL", "null", " N/A ", "#n/a", "", "  ", "None",
       "nan", "?", "-", "<NA>", "客户12", "Ｋ1", "١٢٣.0", "12\x003", "\u200b1005", "10\t06", "\x00\x01", "\u2028",
       "ǅ", "STRASSE", "straße", "1e5", "12.5", "C1007"]  # fmt: skip
DATES = ["2024-01-05", "2024-01-05 13:45:00", "2024-01-05T13:45:00", "2024-01-05 13:45", "2024-01-05T13:45",
         "2024-02-29", "2023-02-29", "2024-02-30", "2024-04-31", "2024-13-01", "2024-00-10", "2024-01-00",
         "2024-01-05 24:00:00", "2024-01-05 23:60:00", "2024-01-05 23:59:60", "2024-01-05 13:45:00.250",
         "2024-01-05T13:45:00Z", "2024-01-05 13:45:00+01:00", "2024-1-5", " 2024-01-06 ", "2024/01/05",
         "05/01/2024", "31/12/2024", "1500-01-01", "9999-12-31", "0000-01-01", "not a date", "NULL", "(blank)", "",
         "2024-01-0５", "２０２４-01-05", "2024-01-07\x00", "2024-01-05 13:45:00 "]  # fmt: skip
AMOUNTS = ["12.50", "1,234.50", "$12", " 12 ", "10,50", "1e309", "-3", "0", "abc", "12\xa0000", "€ 7", "١٢",
           "+4.25", "1,234,567.89", "", "NULL", "-0", "inf", "7\x00"]  # fmt: skip
REGIONS = ["North", "south", " East ", "N/A", "n/a", "", "华东", "Wést", "\x00", "none"]


def messy_log(rows: int = ROWS, seed: int = 3) -> pd.DataFrame:
    """A raw log as text with every awkward value above, plus plain ones, cancellations and exact copies."""
    rng = np.random.default_rng(seed)

    def pick(odd: list[str], plain: np.ndarray, share: float) -> np.ndarray:
        out = plain.astype(object)
        odd_rows = rng.random(rows) < share
        out[odd_rows] = np.asarray(odd, dtype=object)[rng.integers(0, len(odd), odd_rows.sum())]
        return out

    days = np.datetime64("2023-01-01") + rng.integers(0, 700, rows).astype("timedelta64[D]")
    frame = pd.DataFrame(
        {
            "customer_id": pick(IDS, (rng.integers(0, rows // 20, rows) + 10_000).astype(str), 0.2),
            "order_id": pick(["C9", "c10", "C", ""], (rng.integers(0, rows, rows)).astype(str), 0.05),
            "order_date": pick(DATES, np.datetime_as_string(days), 0.2),
            "amount": pick(AMOUNTS, np.round(rng.lognormal(3, 1, rows), 2).astype(str), 0.2),
            "region": pick(REGIONS, np.asarray(["North", "South"])[rng.integers(0, 2, rows)], 0.2),
            "note": pick(["x"], np.full(rows, ""), 0.01),
        }
    )
    copies = rng.integers(0, rows, rows // 50)
    frame.iloc[rng.integers(0, rows, rows // 50)] = frame.iloc[copies].to_numpy()
    return frame


def assert_same(raw: pd.DataFrame, params: CleaningParams | None = None) -> fast.CleanResult:
    new = fast.clean_transactions(raw, params=params, origin="log")
    old = reference.clean_transactions(raw, params=params, origin="log")
    for name in ("clean", "quarantine", "returns", "anonymous"):
        assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True, obj=name)
    assert new.quality == old.quality
    return new


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("messy") / "log.parquet"
    pq.write_table(pa.Table.from_pandas(messy_log(), preserve_index=False), path, row_group_size=ROWS // 3)
    raw = read_transactions(SourceParams(format="parquet", path=str(path)))
    # several chunks sharing buffers, offsets not starting at 0: the shape that broke pyarrow's ascii_lower
    assert pa.array(raw["customer_id"].array).num_chunks > 1
    return raw


def test_messy_parquet_log_cleans_as_before(messy: pd.DataFrame) -> None:
    result = assert_same(messy)
    q = result.quality
    assert q["rows_in"] == ROWS == q["rows_clean"] + q["rows_quarantined"]
    assert all(q["reasons"][r] > 0 for r in ("duplicate", "missing_customer_id", "bad_customer_id", "bad_date"))
    assert q["control_characters_removed"] and q["missing_tokens"]["customer_id"]


def test_messy_csv_log_cleans_as_before(messy: pd.DataFrame, tmp_path) -> None:
    path = tmp_path / "log.csv"
    messy.replace({"\u2028": "x"}, regex=True).to_csv(path, index=False)  # a line separator would split the row
    raw = read_transactions(SourceParams(format="csv", path=str(path)))
    assert_same(raw)
    assert_same(raw, CleaningParams(date_format="%Y-%m-%d", decimal=",", zero_amount="keep", drop_duplicates=False))


def test_typed_columns_clean_as_before(messy: pd.DataFrame) -> None:
    rng = np.random.default_rng(5)
    n = len(messy)
    floats = rng.integers(0, 5_000, n).astype(float)
    floats[rng.random(n) < 0.05] = np.nan
    floats[:6] = [np.inf, -np.inf, 2.0**53, 12.5, -0.0, 1e-7]
    stamps = pd.Series(pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 10**8, n), unit="s"))
    stamps[rng.random(n) < 0.01] = pd.NaT
    typed = messy.assign(
        customer_id=floats,
        order_date=stamps,
        amount=np.where(rng.random(n) < 0.05, np.nan, rng.normal(30, 40, n).round(2)),
    )
    assert_same(typed)
    assert_same(typed.assign(customer_id=pd.array(rng.integers(0, 5_000, n), dtype="Int64")))
    assert_same(typed.assign(customer_id=typed["customer_id"].astype(object)))  # mixed Python objects


def test_duplicated_rows_is_dataframe_duplicated() -> None:
    rng = np.random.default_rng(1)
    n = 5_000
    frame = pd.DataFrame(
        {
            "f": rng.choice([0.0, -0.0, np.nan, 1.5], n),
            "s": pd.array(rng.choice(["a", "b", None], n), dtype="str"),
            "p": pd.array(rng.choice(["a", "b", None], n), dtype=pd.StringDtype("python")),
            "o": pd.Series(rng.choice([1, "1", None, np.nan, 2.0], n), dtype=object),
            "t": pd.to_datetime(rng.choice(["2024-01-01", None], n)),
        }
    )
    assert (fast.duplicated_rows(frame) == frame.duplicated().to_numpy()).all()
    wide = pd.DataFrame(rng.integers(0, 3, (n, 64)))  # 3**64 combinations: the key is re-encoded on the way
    wide.iloc[::2] = wide.iloc[: n // 2 : 1].to_numpy()
    assert (fast.duplicated_rows(wide) == wide.duplicated().to_numpy()).all()
    assert fast.duplicated_rows(frame.iloc[:0]).shape == (0,)


def test_whitespace_class_is_pythons() -> None:
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    arrow = pc.match_substring_regex(pa.array(chars), f"[{fast._WHITESPACE_RE2}]").to_pylist()
    assert arrow == [re.match(r"\s", c) is not None for c in chars]
    controls = pc.match_substring_regex(pa.array(chars), fast._CONTROL_OR_SPACING_RE2).to_pylist()
    assert controls == [re.search(fast._CONTROL_OR_SPACING, c) is not None for c in chars]


PIECES = st.sampled_from(IDS + DATES + AMOUNTS + REGIONS + ["0", "9", "-", ":", " ", "T", ".", ",", "Z", "+", "\n"])
TEXT = st.lists(PIECES, max_size=4).map("".join) | st.text(max_size=12)


@settings(max_examples=examples(120), deadline=None)
@given(values=st.lists(st.none() | TEXT, min_size=1, max_size=40), dayfirst=st.booleans())
def test_readers_agree_with_the_reference(values: list[str | None], dayfirst: bool) -> None:
    for dtype in ("str", object):
        s = pd.Series(values, dtype=dtype)
        assert_series_equal(fast.normalise_ids(s), reference.normalise_ids(s))
        assert_series_equal(fast.parse_dates(s, dayfirst=dayfirst), reference.parse_dates(s, dayfirst=dayfirst))
        for date_format in ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S"):
            assert_series_equal(fast.parse_dates(s, date_format), reference.parse_dates(s, date_format))
        for decimal in (".", ","):
            assert_series_equal(fast.parse_numbers(s, decimal), reference.parse_numbers(s, decimal))
