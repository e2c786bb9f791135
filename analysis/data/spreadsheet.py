"""CSV files that are safe to open in a spreadsheet.

A cell whose text starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some spreadsheets skip
before reading such a character) is read as a *formula* by Excel, LibreOffice and Google Sheets: a customer id
``=HYPERLINK("http://…")`` in a CRM list would become a live link, ``@SUM(1+1)`` a calculation (CSV/formula injection,
OWASP). Every CSV meant for spreadsheets (the CRM action lists, ``customers.csv``, ``quarantine.csv``) goes through
:func:`neutralise_formulas` first: such text cells get a leading apostrophe (``'=HYPERLINK(…)``), which spreadsheets
show as the literal text. Numbers stay numbers (a negative amount is a number, not text, and is untouched), and so
does text that is a plain number (``-1`` in a raw row of ``quarantine.csv``: a spreadsheet reads it as the number);
only other text cells — ids, names, reasons — are changed, and the change is visible rather than silent.

:func:`write_spreadsheet_csv` is **the one CSV writer** of the kit: the run files of the batch (``customers.csv``,
``actions.csv``, the CRM lists, ``action_results.csv`` …), ``quarantine.csv`` and every CSV of the command line
(``rfmkit score``/``summary``/``sample --out x.csv``, ``rfmkit clv``'s tables, ``rfmkit evaluate-actions``) go
through it. Besides the formula escaping it writes what a spreadsheet user expects: a UTF-8 byte-order mark (Excel on
Windows reads BOM-less UTF-8 as the local code page and garbles Chinese text), CRLF line ends (RFC 4180), and money
rounded to cents (:func:`money_columns`: ``monetary``, ``clv``, ``spend_per_purchase``, revenue figures …, not shares or
rates), so ``2468.62`` is written instead of ``2468.6200000000003``. Parquet files keep full precision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
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


#: Words that make a column an amount of money (a whole word of its snake_case name: ``monetary``, ``clv_pnbd``,
#: ``treated_revenue_per_customer``, ``spend_per_purchase``, ``value_at_stake``, ``net_return``).
MONEY_WORDS: tuple[str, ...] = (
    "monetary", "revenue", "spend", "clv", "amount", "budget", "stake", "return", "gross", "net", "price", "sales",
)  # fmt: skip
#: Words that make such a column a share, rate or ratio instead (``revenue_share``, ``roi``): not rounded to cents.
NOT_MONEY_WORDS: tuple[str, ...] = ("share", "rate", "ratio", "pct", "percent", "roi", "weight", "days", "count")
#: Digits kept after the point for money: cents.
MONEY_DECIMALS = 2


def money_columns(frame: pd.DataFrame) -> list[str]:
    """The float columns of ``frame`` that hold money, by name (see :data:`MONEY_WORDS`): what
    :func:`write_spreadsheet_csv` rounds to cents unless told otherwise."""
    out = []
    for col in frame.columns:
        words = set(re.split(r"[^a-z0-9]+", str(col).lower()))
        if (
            pd.api.types.is_float_dtype(frame[col].dtype)
            and words & set(MONEY_WORDS)
            and not words & set(NOT_MONEY_WORDS)
        ):
            out.append(col)
    return out


#: Amounts at or beyond this size are written as they are: a float has no cents left there (and rounding them
#: would overflow to infinity).
_NO_CENTS = 1e15


def _cents(values: pd.Series) -> pd.Series:
    """``values`` rounded to :data:`MONEY_DECIMALS` where that is meaningful (finite, below :data:`_NO_CENTS`)."""
    v = values.to_numpy(dtype=float, na_value=np.nan, copy=True)
    ok = np.isfinite(v) & (np.abs(v) < _NO_CENTS)
    v[ok] = np.round(v[ok], MONEY_DECIMALS)
    return pd.Series(v, index=values.index, name=values.name)


def write_spreadsheet_csv(
    frame: pd.DataFrame,
    path: str | Path,
    index: bool = True,
    encoding: str = "utf-8-sig",
    *,
    money: Iterable[str] | None = None,
) -> Path:
    """Write ``frame`` as a CSV a person can open in a spreadsheet: the kit's one CSV writer.

    Parameters
    ----------
    frame : DataFrame
        The table; its text cells (and text index) go through :func:`neutralise_formulas`.
    path : str or Path
        The file; written atomically (complete under its name, or not there at all).
    index : bool, default=True
        Write the index as the first column (``customer_id`` of per-customer frames).
    encoding : str, default="utf-8-sig"
        UTF-8 with the byte-order mark Excel needs to read Chinese (or any non-ASCII) text right; pandas,
        DuckDB and LibreOffice read it as plain UTF-8.
    money : iterable of str, optional
        Columns rounded to cents; default :func:`money_columns` (by name). ``()`` rounds nothing.

    Lines end in CRLF as RFC 4180 says, so a stray carriage return inside a cell is quoted instead of splitting the row.
    """
    from analysis.data.io import atomic_path

    cols = money_columns(frame) if money is None else [c for c in money if c in frame.columns]
    out = neutralise_formulas(frame)
    for col in cols:
        if pd.api.types.is_float_dtype(out[col].dtype):
            out[col] = _cents(out[col])
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=index, encoding=encoding, lineterminator="\r\n")
    return Path(path)
