"""Readers: CSV, Parquet, Excel and SQL (SQLite and DuckDB database files) give the same clean data."""

from __future__ import annotations

import sqlite3

import duckdb
import pandas as pd
import pytest

from analysis.data.clean import clean_transactions
from analysis.data.io import read_transactions
from analysis.errors import InputError
from analysis.params import SourceParams

ROWS = pd.DataFrame(
    {
        "order_id": ["1", "2", "3"],
        "customer_id": ["a", "b", "a"],
        "order_date": ["2024-01-01", "2024-01-02", "2024-02-01"],
        "amount": [10.0, 20.5, 3.25],
    }
)


def clean_of(source: SourceParams) -> pd.DataFrame:
    return clean_transactions(read_transactions(source)).clean[["customer_id", "order_id", "order_date", "amount"]]


def expected() -> pd.DataFrame:
    return clean_transactions(ROWS.astype(str)).clean[["customer_id", "order_id", "order_date", "amount"]]


def test_csv_parquet_excel(tmp_path) -> None:
    ROWS.to_csv(tmp_path / "t.csv", index=False)
    ROWS.to_parquet(tmp_path / "t.parquet")
    ROWS.to_excel(tmp_path / "t.xlsx", index=False)
    for name in ("t.csv", "t.parquet", "t.xlsx"):
        got = clean_of(SourceParams(path=str(tmp_path / name)))
        pd.testing.assert_frame_equal(got, expected(), check_dtype=False)


def test_sqlite_database_file(tmp_path) -> None:
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as con:
        ROWS.to_sql("sales", con, index=False)
    got = clean_of(SourceParams(format="sql", url=f"sqlite:///{db}", query="SELECT * FROM sales ORDER BY order_id"))
    pd.testing.assert_frame_equal(got, expected(), check_dtype=False)


def test_duckdb_database_file(tmp_path) -> None:
    db = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE sales AS SELECT * FROM ROWS")
    con.close()
    got = clean_of(SourceParams(format="sql", url=f"duckdb:///{db}", query="SELECT * FROM sales ORDER BY order_id"))
    pd.testing.assert_frame_equal(got, expected(), check_dtype=False)


def test_missing_file_and_unknown_extension(tmp_path) -> None:
    with pytest.raises(InputError, match="input file not found"):
        read_transactions(SourceParams(path=str(tmp_path / "nope.csv")))
    (tmp_path / "x.foo").write_text("a")
    with pytest.raises(InputError, match="cannot tell the file type"):
        read_transactions(SourceParams(path=str(tmp_path / "x.foo")))


def test_bad_sql_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(InputError, match="query failed"):
        read_transactions(SourceParams(format="sql", url=f"sqlite:///{tmp_path / 'e.db'}", query="SELECT * FROM nope"))


def test_header_row_is_read_verbatim(tmp_path) -> None:
    """The first row (after source.skiprows) is the header; blank names get pandas' 'Unnamed: i'."""
    (tmp_path / "t.csv").write_text("note\n\ncustomer_id,order_date,amount,\na,2024-01-01,5,x\n")
    raw = read_transactions(SourceParams(path=str(tmp_path / "t.csv"), skiprows=1))  # blank lines are skipped
    assert list(raw.columns) == ["customer_id", "order_date", "amount", "Unnamed: 3"]
    assert raw.to_dict("records") == [
        {"customer_id": "a", "order_date": "2024-01-01", "amount": "5", "Unnamed: 3": "x"}
    ]
    no_header = read_transactions(
        SourceParams(path=str(tmp_path / "t.csv"), skiprows=3, header=False, names=["c", "d", "a", "x"])
    )
    assert no_header.to_dict("records") == [{"c": "a", "d": "2024-01-01", "a": "5", "x": "x"}]


def test_source_path_checked_before_reading(tmp_path) -> None:
    from analysis.data.io import check_source

    with pytest.raises(InputError, match=r"is a folder, not a file; check source\.path"):
        check_source(SourceParams(path=str(tmp_path)))
    (tmp_path / "t.csv").write_text("a,b\n")
    assert check_source(SourceParams(path=str(tmp_path / "t.csv"))) == tmp_path / "t.csv"
