"""CSV files that are safe to open in a spreadsheet.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some spreadsheets skip
before reading such a character) is read as a *formula* by Excel, LibreOffice and Google Sheets: a customer id
``=HYPERLINK("http://…")`` in a CRM list would become a live link, ``@SUM(1+1)`` a calculation (CSV/formula injection,
OWASP). Every CSV meant for spreadsheets (the CRM action lists, ``customers.csv``, ``quarantine.csv``) goes through
:func:`neutralise_formulas` first: such text cells get a leading apostrophe (``'=HYPERLINK(…)``), which spreadsheets
show as the literal text. Numbers stay numbers (a negative amount is a number, not text, and is untouched), and so
does text that is a plain number (``-1`` in a raw row of ``quarantine.csv``: a spreadsheet reads it as the number);
only other text cells — ids, names, reasons — are changed, and the change is visible rather than silent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
#: A plain number written as text (``-1``, ``+2.5``, ``-3e2``): a spreadsheet reads it as that number, so it is kept.
PLAIN_NUMBER = r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?"


def _is_text(values: pd.Series | pd.Index) -> bool:
    return pd.api.types.is_object_dtype(values.dtype) or pd.api.types.is_string_dtype(values.dtype)


def _neutralise(values: pd.Series) -> pd.Series:
    text = values.astype("string")
    risky = (text.str.startswith(FORMULA_START) & ~text.str.fullmatch(PLAIN_NUMBER)).fillna(False).astype(bool)
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


def restore_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The inverse of :func:`neutralise_formulas` for text the kit reads back from its own CSV (``quarantine.csv``):
    a leading apostrophe before a formula character is removed. (Text that really began with an apostrophe followed
    by such a character reads back without the apostrophe: the one ambiguity of the convention.)"""
    out = frame.copy()
    pattern = "^'(?=[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_START) + "])"
    for col in out.columns:
        if _is_text(out[col]):
            out[col] = out[col].astype("string").str.replace(pattern, "", regex=True).astype(out[col].dtype)
    return out


def write_spreadsheet_csv(frame: pd.DataFrame, path: str | Path, index: bool = True, encoding: str = "utf-8") -> Path:
    """Write ``frame`` as CSV (atomically, UTF-8 unless ``encoding`` says otherwise, e.g. ``utf-8-sig`` with the
    BOM Excel wants for Chinese text) after :func:`neutralise_formulas`.

    Lines end in CRLF as RFC 4180 says, so a stray carriage return inside a cell is quoted instead of splitting the row.
    """
    from analysis.data.io import atomic_path

    with atomic_path(path) as tmp:
        neutralise_formulas(frame).to_csv(tmp, index=index, encoding=encoding, lineterminator="\r\n")
    return Path(path)
