"""Pseudonymous ids and spreadsheet-safe CSV files."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from analysis.data.spreadsheet import neutralise_formulas, write_spreadsheet_csv
from analysis.errors import ParamsError
from analysis.privacy import KEY_ENV, PseudonymKey, display_ids, load_key, pseudonym, pseudonyms

KEY = PseudonymKey(b"0123456789abcdef0123456789abcdef", "test")


def test_pseudonym_is_short_stable_keyed_and_distinct():
    p = pseudonym("12345", KEY)
    assert p.startswith("c-") and len(p) == 14
    assert pseudonym("12345", KEY) == p  # stable
    assert pseudonym("12345", PseudonymKey(b"another key of 16+ bytes", "t")) != p  # keyed
    ids = pd.Series([str(i) for i in range(20_000)])
    assert pseudonyms(ids, KEY).nunique() == 20_000  # no collisions on 20k ids
    assert "12345" not in p and "secret" not in repr(KEY) and "0123" not in repr(KEY)


def test_display_ids_replaces_index_and_column_unless_raw_allowed():
    frame = pd.DataFrame({"monetary": [1.0, 2.0]}, index=pd.Index(["A1", "B2"], name="customer_id"))
    shown = display_ids(frame, KEY)
    assert shown.index.name == "customer" and not set(shown.index) & {"A1", "B2"}
    assert list(shown.index) == [pseudonym("A1", KEY), pseudonym("B2", KEY)]
    col = display_ids(frame.reset_index(), KEY)
    assert list(col["customer"]) == list(shown.index) and "customer_id" not in col
    assert display_ids(frame, None, show_raw=True) is frame


def test_key_from_env_file_or_made_outside_reports(tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "an environment key, long enough")
    assert load_key().source == f"env:{KEY_ENV}"
    monkeypatch.delenv(KEY_ENV)
    f = tmp_path / "k.key"
    f.write_text("a file key that is long enough\n")
    assert load_key(f).secret == b"a file key that is long enough"
    f.write_text("short")
    with pytest.raises(ParamsError, match="shorter than 16"):
        load_key(f)
    with pytest.raises(ParamsError, match="cannot read"):
        load_key(tmp_path / "missing.key")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    made = load_key()
    path = tmp_path / "cfg" / "rfmkit" / "pseudonym.key"
    assert made.source == f"file:{path}" and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key().secret == made.secret  # kept, not remade


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "+A1", "-2+3", "\t=1", "\r=1"])
def test_formula_cells_are_neutralised(payload, tmp_path):
    frame = pd.DataFrame({"customer_id": [payload, "ok"], "amount": [-5.0, 3.0]})
    safe = neutralise_formulas(frame)
    assert safe.loc[0, "customer_id"] == "'" + payload
    assert safe.loc[1, "customer_id"] == "ok"
    assert safe["amount"].tolist() == [-5.0, 3.0]  # numbers stay numbers
    out = write_spreadsheet_csv(frame.set_index("customer_id"), tmp_path / "x.csv")
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert back.loc[0, "customer_id"] == "'" + payload
    assert not any(str(v).startswith(("=", "+", "@", "\t", "\r")) for v in back["customer_id"])


def test_quarantine_csv_is_formula_safe_and_reads_back_as_it_came_in(tmp_path):
    from analysis.data.clean import clean_transactions
    from analysis.data.store import load_clean

    raw = pd.DataFrame(
        {
            "customer_id": ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "A1", "A2"],
            "order_date": ["not a date", "2024-01-02", "2024-01-03", "2024-01-04"],
            "amount": ["10", "-5", "20", "+7"],
            "region": ["-North", "North", "North", "South"],
        }
    )
    result = clean_transactions(raw)
    assert len(result.quarantine) == 2  # a bad date and a return
    result.write(tmp_path)
    text = (tmp_path / "quarantine.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'@SUM" in text and "'-North" in text
    assert not any(cell.startswith(("=", "@", "+")) for line in text.splitlines() for cell in line.split(","))
    back = load_clean(tmp_path).quarantine
    assert back["customer_id"].tolist() == raw["customer_id"][:2].tolist()
    assert back["region"].tolist() == ["-North", "North"]


def test_key_id_tells_keys_apart_without_revealing_them():
    from analysis.privacy import key_id

    other = PseudonymKey(b"another key of 16+ bytes", "t")
    assert key_id(KEY) == key_id(PseudonymKey(KEY.secret, "elsewhere")) != key_id(other)
    assert KEY.secret.decode() not in key_id(KEY) and len(key_id(KEY)) == 12


def test_numbers_written_as_text_stay_as_they_are():
    frame = pd.DataFrame({"quantity": ["-1", "+2.5", "-3e2", "-0,5", "-", "-x", "1-2"]})
    assert neutralise_formulas(frame)["quantity"].tolist() == ["-1", "+2.5", "-3e2", "-0,5", "'-", "'-x", "1-2"]
