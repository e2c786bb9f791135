"""CSV files that are safe to open in a spreadsheet.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some spreadsheets skip
before reading such a character) is read as a *formula* by Excel, LibreOffice and Google Sheets: a customer id
``=HYPERLINK("http://…")`` in a CRM list would become a live link, ``@SUM(1+1)`` a calculation (CSV/formula injection,
OWASP). Every CSV meant for spreadsheets (the CRM action lists, ``customers.csv``, ``quarantine.csv``) goes through
:func:`neutralise_formulas` first: such text cells get a leading apostrophe (``'=HYPERLINK(…)``), which spreadsheets
show as the literal text. Numbers stay numbers (a negative amount is a number, not text, and is untouched); only
text cells — ids, names, reasons — are changed, and the change is visible rather than silent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _is_text(values: pd.Series | pd.Index) -> bool:
    return pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)


def _neutralise(values: pd.Series) -> pd.Series:
    text = values.astype("string")
    risky = text.str.startswith(FORMULA_START).fillna(False).astype(bool)
    if not risky.any():
        return values
    out = values.astype(object).copy()
    out[risky.to_numpy()] = "'" + text[risky].astype(str)
    return out


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and text index) cannot start a spreadsheet formula."""
    out = frame.copy()
    for col in out.columns:
        if _is_text(out[col]):
            out[col] = _neutralise(out[col])
    if _is_text(out.index):
        out.index = pd.Index(_neutralise(pd.Series(out.index, dtype=object)).to_numpy(), name=out.index.name)
    if _is_text(out.columns):
        out.columns = pd.Index(_neutralise(pd.Series(out.columns, dtype=object)).to_numpy())
    return out


def write_spreadsheet_csv(frame: pd.DataFrame, path: str | Path, index: bool = True) -> Path:
    """Write ``frame`` as UTF-8 CSV (atomically) after :func:`neutralise_formulas`.

    Lines end in CRLF as RFC 4180 says, so a stray carriage return inside a cell is quoted instead of splitting the row.
    """
    from analysis.data.io import atomic_path

    with atomic_path(path) as tmp:
        neutralise_formulas(frame).to_csv(tmp, index=index, encoding="utf-8", lineterminator="\r\n")
    return Path(path)
