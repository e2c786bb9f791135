"""Hostile and unlucky input (issue 19, issue 17 item 7): every value ends in clean data or quarantine, never an
exception; ids stay exact; one date layout per column; input limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from analysis.data.clean import clean_transactions, parse_dates
from tests.conftest import examples

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


@settings(max_examples=examples(60), deadline=None, derandomize=True)
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


# ---------------------------------------------------------------------------------------------- ids kept exact


def _excel_log(path, ids: list) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["customer_id", "order_date", "amount"])
    for i, cid in enumerate(ids):
        sheet.append([cid, f"2024-01-{i + 1:02d}", 10.0 + i])
    book.save(path)


def test_long_numeric_ids_from_excel_are_set_aside_never_merged(tmp_path) -> None:
    """Issue 19 failure 13: Excel ids of 2**53 or more were silently changed, two customers merged into one."""
    from click.testing import CliRunner

    from analysis.cli import main

    big = [12345678901234567.0, 12345678901234568.0]  # one double in a spreadsheet: rounding would merge them
    _excel_log(tmp_path / "log.xlsx", [*big, 12346.0, 123.5, "007", "C-1"])
    res = CliRunner().invoke(main, ["clean", str(tmp_path / "log.xlsx"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    clean = pd.read_parquet(tmp_path / "out" / "clean.parquet")
    assert sorted(clean["customer_id"]) == ["007", "12346", "C-1"]
    quarantine = pd.read_csv(tmp_path / "out" / "quarantine.csv", dtype=str)
    assert (quarantine["reason"] == "bad_customer_id").sum() == 3  # the two long ids and 123.5


@pytest.mark.parametrize("text", ["123.5", "1.2345678901234568e+16", "1E5", "-0.25"])
def test_ids_written_as_inexact_numbers_are_bad_customer_ids(text: str) -> None:
    raw = pd.DataFrame({"customer_id": [text, "A1"], "order_date": "2024-01-05", "amount": "1"})
    result = clean_transactions(raw)
    assert result.quarantine["reason"].tolist() == ["bad_customer_id"]
    assert result.clean["customer_id"].tolist() == ["A1"]


# ---------------------------------------------------------------------------------------------- input limits


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_reading(tmp_path) -> None:
    """Issue 19 failure 12: a 5.7 MB .xlsx that unpacks to 1.96 GB ran for 10 minutes with no message."""
    import zipfile

    from click.testing import CliRunner

    from analysis.cli import main
    from analysis.data.io import read_transactions
    from analysis.errors import InputError
    from analysis.params import SourceParams

    _excel_log(tmp_path / "log.xlsx", [f"C{i}" for i in range(20)])
    with pytest.raises(InputError, match=r"21 rows × 3 columns = 63 cells, more than the limit of 30 \(source.max_c"):
        read_transactions(SourceParams(path=str(tmp_path / "log.xlsx"), max_cells=30))
    bomb = tmp_path / "bomb.xlsx"  # 520 MB of one repeated byte: under a megabyte on disk
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z,
        z.open("xl/worksheets/a.xml", "w") as f,
    ):
        chunk = b" " * 2**20
        for _ in range(520):
            f.write(chunk)
    assert bomb.stat().st_size < 5 * 2**20
    res = CliRunner().invoke(main, ["clean", str(bomb), "--out", str(tmp_path / "out")])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "unpacks to 520 MB, more than the limit of 512 MB (source.max_unpacked_mb)" in res.output


# ---------------------------------------------------------------------------------------------- date layouts


def test_a_column_mixing_day_first_and_month_first_dates_is_refused_with_the_fix(tmp_path) -> None:
    """Issue 19 failure 14: in a column mixing layouts each value was guessed on its own (03/01/2024 became 1 March
    in one row and 3 January in another)."""
    from click.testing import CliRunner

    from analysis.cli import main

    log = tmp_path / "log.csv"
    log.write_text("customer_id,order_date,amount\na,03/01/2024,1\nb,31/12/2024,2\nc,12/31/2024,3\n", encoding="utf-8")
    res = CliRunner().invoke(main, ["clean", str(log), "--out", str(tmp_path / "out")])
    assert res.exit_code != 0 and "Traceback" not in res.output
    assert "column 'order_date'" in res.output and "cleaning.dayfirst: true" in res.output, res.output
    assert "'31/12/2024'" in res.output and "'12/31/2024'" in res.output


@pytest.mark.parametrize(
    ("dates", "dayfirst", "expected"),
    [
        (["03/01/2024", "31/12/2024"], False, ["2024-01-03", "2024-12-31"]),  # the column says day-first
        (["03/01/2024", "12/31/2024"], False, ["2024-03-01", "2024-12-31"]),  # the column says month-first
        (["03/01/2024", "12/31/2024"], True, ["2024-01-03", None]),  # the params say day-first: 12/31 does not fit
        (["3.1.24", "03/01/2024 13:45"], False, ["2024-03-01", "2024-03-01 13:45:00"]),
    ],
)
def test_one_date_layout_per_column(dates: list[str], dayfirst: bool, expected: list[str | None]) -> None:
    parsed = parse_dates(pd.Series(dates), dayfirst=dayfirst)
    assert [None if pd.isna(v) else str(v).removesuffix(" 00:00:00") for v in parsed] == expected


# ---------------------------------------------------------------------------------------------- size budget


def test_an_enormous_label_sets_its_row_aside_and_a_long_params_name_is_refused(tmp_path) -> None:
    """Issue 19 failure 15: one 1 MB region name made its report 9.1 MB and the index 6.3 MB."""
    from analysis.errors import ParamsError
    from analysis.params import load_params

    huge = "R" * 1_000_000
    raw = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c" * 201, "d"],
            "order_date": "2024-01-05",
            "amount": "1",
            "region": ["North", huge, "North", "North"],
            "product_line": ["x", "y", "z", "p" * 201],
        }
    )
    result = clean_transactions(raw)
    assert result.quarantine["reason"].tolist() == ["text_too_long", "bad_customer_id", "text_too_long"]
    assert result.clean["region"].tolist() == ["North"] and result.quality["reasons"]["text_too_long"] == 2
    for key, value in (("regions", f"[North, {'R' * 201}]"), ("title", "T" * 201), ("currency", "'{}'" + "$" * 20)):
        path = tmp_path / f"{key}.yaml"
        path.write_text(f"{key}: {value}\n", encoding="utf-8")
        with pytest.raises(ParamsError, match=key):
            load_params(path)


def test_a_compressed_csv_that_unpacks_past_the_limit_is_refused_before_reading(tmp_path) -> None:
    import gzip
    import zipfile

    from analysis.data.io import read_transactions
    from analysis.errors import InputError
    from analysis.params import SourceParams

    with gzip.open(tmp_path / "log.csv.gz", "wb", compresslevel=1) as f:
        f.write(b"customer_id,order_date,amount\n" + b" " * 3 * 2**20)
    with zipfile.ZipFile(tmp_path / "log.csv.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("log.csv", b"customer_id,order_date,amount\n" + b" " * 3 * 2**20)
    for name in ("log.csv.gz", "log.csv.zip"):
        with pytest.raises(InputError, match=r"^\S+: unpacks to 3 MB, more than the limit of 2 MB \(source.max_unp"):
            read_transactions(SourceParams(path=str(tmp_path / name), max_unpacked_mb=2))
    assert read_transactions(SourceParams(path=str(tmp_path / "log.csv.gz"), max_unpacked_mb=4)).shape[1] == 3
