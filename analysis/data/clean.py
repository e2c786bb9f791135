"""Cleaning: raw transaction rows → clean purchases + quarantine, with nothing lost.

Every input row ends in exactly one of two places:

* the **clean** frame (canonical columns, one row per purchase line), or
* the **quarantine** frame: the row exactly as it came in, plus its ``row_id`` (0-based position of
  the data row in the input) and a ``reason``.

Reasons (:data:`analysis.contract.REASONS`), checked in this order (a row gets the first that applies):

``duplicate``
    an exact copy (every raw column equal) of an earlier row; the first copy is kept.
``missing_customer_id``
    no customer id: an empty cell or a missing-value token (``cleaning.missing_tokens``: ``(blank)``,
    ``NULL``, ``N/A``, ``#N/A``, ``nan``, ``None``, ``-``, ``?`` …, matched after trimming and case-folding).
``bad_customer_id``
    an id that cannot be a customer: a numeric id that is not finite (``inf``) or a float id of 2**53 or
    more in magnitude (no longer an exact integer), a number with a fraction (``123.5``; ``12346.0`` is read as
    ``12346``) or in exponent notation (``1.2345678901234568e+16``, what a spreadsheet shows for a long number it
    rounded), or an id made only of control characters. Such ids are never rounded, so two customers are never
    merged into one.
``bad_date``
    the order date cannot be parsed, or lies outside ``cleaning.min_date``..``cleaning.max_date``
    (default 1970-01-01 to one year after today; never outside pandas' range, 1677–2262).
``return``
    a return or cancellation: negative amount, or an order id starting with the cancellation prefix
    (Online Retail's ``C…`` invoices). Returns are not purchases: each is matched to the order it undoes
    (:mod:`analysis.data.cancellations`), and every money figure is read from the net log (:meth:`CleanResult.net`).
``bad_amount``
    the amount (or quantity × unit price) is not a number, is not finite (``inf``, ``1e309``), or any
    money value (amount, quantity, unit price, cost) exceeds ``cleaning.max_amount`` in absolute value;
    or the amount is zero (zero-value purchases, such as free promotional items, are kept instead with
    ``zero_amount: keep``).
``text_too_long``
    an order id, region, channel, product line or sales rep longer than ``cleaning.max_text_length`` characters
    (default 200; a customer id that long is ``bad_customer_id``): a report names regions and labels many times, so
    one enormous value would make every report enormous.

Control characters (NUL, tabs, line breaks, zero-width and bidi controls) are removed from ids and text
fields (tabs and line breaks become a space); optional text fields that end up empty become ``(unknown)``.

Extreme amounts are *flagged* in ``is_outlier``, never dropped: a purchase whose log-amount lies more
than ``outlier_mad`` robust standard deviations (1.4826 × MAD) from the median log-amount.
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.arrow_text import arrow_text as _arrow_text
from analysis.arrow_text import byte_scan as _byte_scan
from analysis.contract import CONTROL_CHARACTERS, REASONS, validate_clean, validate_quarantine
from analysis.data.io import check_unique_columns, json_safe, write_json, write_parquet
from analysis.data.spreadsheet import write_spreadsheet_csv
from analysis.errors import InputError, MissingColumnError
from analysis.params import CANONICAL_COLUMNS, DEFAULT_MISSING_TOKENS, CleaningParams, mapped_twice

__all__ = ["REASONS", "CleanResult", "clean_transactions", "map_columns", "net_returns", "normalise_ids"]

_TEXT_COLUMNS = ("order_id", "region", "channel", "product_line", "sales_rep")
#: The text columns in the order the cleaning reads them (the order of ``quality.json``'s ``missing_tokens`` and
#: ``control_characters_removed``).
TEXT_READ_ORDER = ("customer_id", *_TEXT_COLUMNS)
_MONEY_COLUMNS = ("quantity", "unit_price", "cost")
#: Float ids at or beyond this magnitude are no longer exact integers.
_MAX_FLOAT_ID = 2.0**53
_SPACING = r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+"
_CONTROL_OR_SPACING = CONTROL_CHARACTERS + r"|[\u2028\u2029]"


def _re2(pattern: str) -> str:
    """A Python regex over the same characters in pyarrow's RE2 syntax (``\\x{200b}`` for ``\\u200b``)."""
    return re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", pattern)


#: The same character classes for RE2, so text columns are checked and cleaned in Arrow, not value by value.
_SPACING_RE2 = _re2(_SPACING)
_CONTROL_RE2 = _re2(CONTROL_CHARACTERS)
_CONTROL_OR_SPACING_RE2 = _re2(_CONTROL_OR_SPACING)
#: Python's ``\s`` (the characters for which ``str.isspace()`` is true), spelled out for RE2.
_WHITESPACE_RE2 = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
#: pandas' nanosecond timestamps cover 1677-09-21 .. 2262-04-11.
_PANDAS_FIRST_DAY = pd.Timestamp.min.ceil("D")
_PANDAS_LAST_DAY = pd.Timestamp.max.floor("D")


@dataclass
class CleanResult:
    """The outcome of :func:`clean_transactions`.

    Attributes
    ----------
    clean : DataFrame
        Purchases in canonical columns plus ``is_outlier`` and ``row_id``.
    quarantine : DataFrame
        Rows set aside, exactly as they came in, plus ``row_id`` and ``reason``.
    returns : DataFrame
        The ``return`` rows parsed into canonical columns (``amount`` as a positive value returned), with how each
        was matched to the order it undoes (``match``, ``matched_row_id``, ``amount_matched``,
        ``amount_unmatched``: :func:`analysis.data.cancellations.match_returns`).
    quality : dict
        Counts that reconcile: ``rows_in == rows_clean + rows_quarantined``; see :func:`clean_transactions`.
        Plain JSON values only (no NaN or infinity).
    anonymous : DataFrame
        Sales and returns without a customer id: the ``missing_customer_id`` rows that are otherwise valid (no later
        reason applies: a date, an amount), parsed into canonical columns without ``customer_id``; a return or
        cancellation has a negative ``amount``. They stay in the quarantine (no customer measure can use them) and
        count in revenue, the returns netted (``quality["anonymous_sales"]``, ``quality["anonymous_returns"]``).
    """

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    returns: pd.DataFrame
    quality: dict[str, Any] = field(default_factory=dict)
    anonymous: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: which purchase line each return undoes and by how much (``return_row_id``, ``purchase_row_id``, ``amount``);
    #: None: not matched yet (a result built by hand, or read from a folder written before matching): matched on use
    allocations: pd.DataFrame | None = None
    #: which rows of :attr:`anonymous` are returns (the cleaning's own rule: cancelled or negative; a ``-0`` sale is
    #: a sale); None: not known (a result read back from disk), the sign of ``amount`` tells
    anonymous_is_return: np.ndarray | None = None

    def matched(self) -> CleanResult:
        """This result with its returns matched to their orders (:func:`analysis.data.cancellations.match_returns`),
        matching them now when that was not done."""
        if self.allocations is not None and (self.returns.empty or "match" in self.returns.columns):
            return self
        from analysis.data.cancellations import match_returns

        returns = self.returns
        if returns.empty or "customer_id" not in returns.columns:
            self.allocations = match_returns(self.clean.iloc[:0], returns.iloc[:0]).allocations
            return self
        m = match_returns(self.clean, returns)
        self.returns, self.allocations = m.returns, m.allocations
        return self

    def net(self, as_of: pd.Timestamp | None = None, purchases: pd.DataFrame | None = None) -> pd.DataFrame:
        """The net log: ``purchases`` (default: every clean purchase; any subset of :attr:`clean`, e.g. a region's)
        with each line lowered by the returns matched to it up to ``as_of`` (inclusive day; None: all), lines
        returned in full left out (:func:`analysis.data.cancellations.net_log`)."""
        from analysis.data.cancellations import net_log

        self.matched()
        return net_log(self.clean if purchases is None else purchases, self.returns, self.allocations, as_of)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``clean.parquet``, ``quarantine.csv``, ``returns.parquet`` (with their matches),
        ``allocations.parquet``, ``anonymous.parquet`` and ``quality.json``."""
        out = Path(out_dir)
        self.matched()
        return {
            "clean": write_parquet(self.clean, out / "clean.parquet"),
            "quarantine": write_spreadsheet_csv(self.quarantine, out / "quarantine.csv", index=False),  # raw text
            "returns": write_parquet(self.returns, out / "returns.parquet"),
            "allocations": write_parquet(self.allocations, out / "allocations.parquet"),
            "anonymous": write_parquet(self.anonymous, out / "anonymous.parquet"),
            "quality": write_json(json_safe(self.quality), out / "quality.json"),
        }


def require_rows(quality: dict[str, Any]) -> None:
    """Raise a clear :class:`InputError` when cleaning left no purchase to analyse.

    ``quality`` is :attr:`CleanResult.quality` (or the ``quality.json`` written from it).
    """
    if quality.get("rows_clean", 0) > 0:
        return
    source, rows_in = quality.get("source", "input"), int(quality.get("rows_in", 0))
    if rows_in == 0:
        raise InputError(
            f"{source}: no data rows (the file has a header only, or the query returned nothing); "
            "check the file, source.skiprows (--skiprows) or the query"
        )
    reasons = ", ".join(f"{r} {n:,}" for r, n in quality.get("reasons", {}).items() if n)
    raise InputError(
        f"{source}: none of its {rows_in:,} rows is a usable purchase ({reasons}); see quarantine.csv "
        "('rfmkit clean') and fix the column mapping ('columns:', --map) or the cleaning settings"
    )


def map_columns(raw: pd.DataFrame, mapping: dict[str, str] | None, origin: str = "input") -> pd.DataFrame:
    """Rename the user's columns to canonical names and check the required ones are there.

    Parameters
    ----------
    raw : DataFrame
        Rows as read.
    mapping : dict, optional
        ``{canonical name: your column name}``, e.g. ``{"customer_id": "CustomerID"}``.
    origin : str
        The file (or query) the rows came from, named in error messages.

    Returns
    -------
    DataFrame
        Only canonical columns, in canonical order.

    Raises
    ------
    InputError
        A column name occurs twice in the data, or one of your columns is mapped twice.
    MissingColumnError
        Before any work, naming the missing column, the columns that are there and how to map one.
    """
    mapping = dict(mapping or {})
    columns = [str(c) for c in raw.columns]
    check_unique_columns(columns, origin)
    twice = mapped_twice(mapping)
    if twice:
        raise InputError(f"{origin}: {twice}")
    for canonical, theirs in mapping.items():
        if canonical not in CANONICAL_COLUMNS:
            raise InputError(f"{origin}: '{canonical}' is not a canonical column; use one of {CANONICAL_COLUMNS}")
        if theirs not in columns:
            raise MissingColumnError(
                f"{origin}: column '{theirs}' (mapped to {canonical}) is not in the data; "
                f"its columns are {columns}.{_header_hint(raw, [theirs])} "
                f"Fix the mapping 'columns: {{{canonical}: <one of those>}}'."
            )
    sources = {theirs for theirs in mapping.values()}
    # a canonical column comes from the column mapped to it, else from a column of its name that is not
    # mapped elsewhere (a column already named like a mapped canonical column is replaced by the mapped one)
    position = {name: i for i, name in enumerate(columns)}
    source_of = {
        c: position[mapping[c]] if c in mapping else position[c]
        for c in CANONICAL_COLUMNS
        if c in mapping or (c in position and c not in sources)
    }
    present = list(source_of)
    needed = ["customer_id", "order_date"]
    if "amount" not in present:
        needed += ["quantity", "unit_price"] if ("quantity" in present or "unit_price" in present) else ["amount"]
    missing = [c for c in needed if c not in present]
    if missing:
        col = missing[0]
        hint = "" if col != "amount" else " (or map both quantity and unit_price, and amount is their product)"
        raise MissingColumnError(
            f"{origin}: required column '{col}' is missing{hint}. The data has columns {columns}."
            f"{_header_hint(raw, [mapping.get(c, c) for c in needed])} "
            f"Map yours in the params file under 'columns:' (e.g. 'columns: {{{col}: YourColumn}}') "
            f"or on the command line with '--map {col}=YourColumn'."
        )
    return pd.DataFrame({c: raw.iloc[:, i] for c, i in source_of.items()}, index=raw.index)


def _header_hint(raw: pd.DataFrame, names: list[str], rows: int = 10) -> str:
    """A hint when the wanted column names appear in one of the first data rows (a title row above the header)."""
    wanted = {n.strip().casefold() for n in names}
    for i, row in enumerate(raw.head(rows).itertuples(index=False)):
        cells = {str(v).strip().casefold() for v in row}
        if wanted & cells:
            return (
                f" The header seems to be on data row {i + 1} (a title above it?): set source.skiprows: {i + 1} "
                f"in the params, or pass --skiprows {i + 1}."
            )
    return ""


@dataclass
class _Text:
    """Ids or text read from a column: ``values`` (NA where missing or bad), ``bad`` flags, the missing-value
    tokens ``met`` (``{token as met, trimmed: rows}``, ``""`` = an empty or null cell) and ``stripped`` (values
    that had control characters removed)."""

    values: pd.Series
    bad: pd.Series
    met: dict[str, int]
    stripped: int


_NULL_TEXT = pa.scalar(None, pa.large_string())


def _flags(arr: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A boolean Arrow array as a numpy bool array, null as False."""
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _as_series(arr: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    """Arrow text as a pandas ``string`` Series (``pd.NA`` for missing), as ``Series.astype("string")`` gives."""
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index, copy=False)


def _number_text(x: Any) -> tuple[str | None, bool]:
    """A numeric cell as id text, and whether it is a bad id (not finite, or not an exact integer float)."""
    if isinstance(x, decimal.Decimal):
        if not x.is_finite():
            return None, not x.is_nan()
        return (str(int(x)) if x == x.to_integral_value() else str(x)), False
    v = float(x)
    if math.isnan(v):
        return None, False
    if not math.isfinite(v) or abs(v) >= _MAX_FLOAT_ID:
        return None, True
    return (str(int(v)) if v.is_integer() else repr(v)), False


def _as_text(values: pd.Series) -> tuple[pa.ChunkedArray, np.ndarray]:
    """Cells as Arrow text (null for empty cells) and a flag for numeric cells that cannot be ids.

    Typed columns take a vectorised path: text as it is, integers as their digits, floats as ``str(int(v))``
    when whole and ``repr(v)`` otherwise; only object columns of mixed types go value by value.
    """
    n = len(values)
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        null = np.isnan(arr)
        bad = ~null & (~np.isfinite(arr) | (np.abs(arr) >= _MAX_FLOAT_ID))
        ok = ~null & ~bad
        safe = np.where(ok, arr, 0.0)
        whole = ok & (safe == np.floor(safe))
        text = pc.cast(pa.array(safe.astype(np.int64), mask=~whole), pa.large_string())
        fraction = ok & ~whole
        if fraction.any():
            reprs = pa.array([repr(float(v)) for v in safe[fraction]], pa.large_string())
            text = pc.replace_with_mask(text, pa.array(fraction), reprs)
        return pa.chunked_array([text]), bad
    if pd.api.types.is_integer_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pa.chunked_array([pc.cast(pa.array(values.array), pa.large_string())]), np.zeros(n, dtype=bool)
    if isinstance(values.dtype, pd.StringDtype) or (values.dtype == object and _all_text(values)):
        return _arrow_text(values), np.zeros(n, dtype=bool)
    if values.dtype == object:
        bad = np.zeros(n, dtype=bool)
        out: list[str | None] = []
        for i, x in enumerate(values.to_numpy(dtype=object)):
            if x is None or x is pd.NA or x is pd.NaT:
                out.append(None)
            elif isinstance(x, float | np.floating | decimal.Decimal):
                text, bad[i] = _number_text(x)
                out.append(text)
            elif isinstance(x, bytes):
                out.append(x.decode("utf-8", errors="replace"))
            else:
                out.append(str(x))
        return pa.chunked_array([pa.array(out, pa.large_string())]), bad
    return _arrow_text(values.astype("string")), np.zeros(n, dtype=bool)


def _non_ascii(arr: pa.ChunkedArray, ascii_only: bool = False) -> np.ndarray:
    """True for values with a character beyond ASCII (where RE2's ``[0-9]`` and Python's ``\\d`` differ);
    all False at once when the caller knows the text is ``ascii_only``."""
    if ascii_only:
        return np.zeros(len(arr), dtype=bool)
    return _flags(pc.invert(pc.string_is_ascii(arr)))


def _tidy(arr: pa.ChunkedArray, spacing: bool) -> tuple[pa.ChunkedArray, np.ndarray, bool]:
    """``arr`` without control characters (see :func:`_remove_controls`) and trimmed like ``str.strip()``; which
    values had control characters; and whether all of it is printable ASCII (see :func:`_byte_scan`)."""
    printable, padded = _byte_scan(arr)
    if printable:
        return (pc.utf8_trim_whitespace(arr) if padded else arr), np.zeros(len(arr), dtype=bool), True
    cleaned, has = _remove_controls(arr, spacing)
    return pc.utf8_trim_whitespace(cleaned), has, False


def _patch(arr: pa.ChunkedArray, where: np.ndarray, fn: Any) -> pa.ChunkedArray:
    """``arr`` with the values at ``where`` replaced by ``fn(value)`` (done in Python: for the few odd values)."""
    if not where.any():
        return arr
    new = pa.array([fn(v) for v in arr.filter(pa.array(where)).to_pylist()], arr.type)
    return pa.chunked_array([pc.replace_with_mask(arr.combine_chunks(), pa.array(where), new)])


def _remove_controls(arr: pa.ChunkedArray, spacing: bool) -> tuple[pa.ChunkedArray, np.ndarray]:
    """``arr`` without control characters (with ``spacing``: tabs, line breaks and their runs as one space first),
    and which values had any."""
    has = _flags(pc.match_substring_regex(arr, _CONTROL_OR_SPACING_RE2 if spacing else _CONTROL_RE2))
    if has.any():
        if spacing:
            arr = pc.replace_substring_regex(arr, _SPACING_RE2, " ")
        arr = pc.replace_substring_regex(arr, _CONTROL_RE2, "")
    return arr, has


def _casefold_in(arr: pa.ChunkedArray, folded: set[str], ascii_only: bool = False) -> np.ndarray:
    """True where ``value.casefold()`` is one of ``folded`` (ASCII text: its lower case; other text in Python).

    (``utf8_lower``, not ``ascii_lower``: pyarrow 26's ``ascii_lower`` garbles chunks whose offsets do not start
    at 0, as chunks read from Parquet can.)"""
    hit = _flags(pc.is_in(pc.utf8_lower(arr), value_set=pa.array(sorted(folded), pa.large_string())))
    other = _non_ascii(arr, ascii_only)
    if other.any():
        hit[other] = [v.casefold() in folded for v in arr.filter(pa.array(other)).to_pylist()]
    return hit


_FLOAT_SUFFIX = r"^(-?\d+)\.0+$"


def _strip_float_suffix(arr: pa.ChunkedArray, ascii_only: bool = False) -> pa.ChunkedArray:
    """``"12346.0"`` → ``"12346"`` (what ``re.sub(r"^(-?\\d+)\\.0+$", r"\\1", value)`` gives, for every value)."""
    if not _flags(pc.match_substring(arr, ".0")).any():
        return arr
    out = pc.replace_substring_regex(arr, r"^(-?[0-9]+)\.0+$", r"\1")
    return _patch(out, _non_ascii(arr, ascii_only), lambda v: re.sub(_FLOAT_SUFFIX, r"\1", v))


def _read_text(values: pd.Series, tokens: set[str], strip_float_suffix: bool = False) -> _Text:
    """Trimmed text without control characters; missing tokens and unusable values set aside.

    ``met`` counts what stood in the missing cells (trimmed; ``""`` for an empty or null cell), ``bad``
    flags values that were there but cannot be used (see :func:`_number_text`, or control characters only).
    """
    text, bad_number = _as_text(values)
    cleaned, has_control, ascii_only = _tidy(text, spacing=True)
    stripped = int(has_control.sum())
    if strip_float_suffix:
        cleaned = _strip_float_suffix(cleaned, ascii_only)
    empty = _flags(pc.equal(cleaned, "")) | _flags(pc.is_null(cleaned))
    emptied = np.zeros(len(values), dtype=bool)
    if stripped:  # only control characters: there was something, nothing printable is left
        emptied = has_control & empty & _flags(pc.not_equal(pc.utf8_trim_whitespace(text), ""))
    folded = {t.strip().casefold() for t in tokens}
    is_token = _casefold_in(cleaned, folded, ascii_only) & ~emptied
    blank = empty & ~emptied & ~bad_number  # an empty or null cell
    bad = bad_number | emptied
    met: dict[str, int] = {}
    if is_token.any() or blank.any():
        token = pc.if_else(pa.array(blank), pa.scalar("", pa.large_string()), cleaned)
        counts = pc.value_counts(token.filter(pa.array(is_token | blank))).to_pylist()
        met = {c["values"]: int(c["counts"]) for c in sorted(counts, key=lambda c: c["values"])}
    out = pc.if_else(pa.array(is_token | blank | bad), _NULL_TEXT, cleaned)
    return _Text(_as_series(out, values.index), pd.Series(bad, index=values.index), met, stripped)


#: Id text that is a number an exact id cannot be: with a fraction, or in exponent notation (RE2 syntax).
_INEXACT_NUMBER = r"^[-+]?(?:[0-9]*\.[0-9]+|[0-9]+\.?[0-9]*[eE][-+]?[0-9]+)$"


def _inexact_number(values: pd.Series) -> np.ndarray:
    """True for ids (after :func:`_read_text`) written as a number with a fraction or an exponent."""
    arr = _arrow_text(values if isinstance(values.dtype, pd.StringDtype) else values.astype("string"))
    return _flags(pc.match_substring_regex(arr, _INEXACT_NUMBER))


def _longer_than(values: pd.Series, limit: int) -> np.ndarray:
    """True where a text value has more than ``limit`` characters (missing values: False)."""
    arr = _arrow_text(values if isinstance(values.dtype, pd.StringDtype) else values.astype("string"))
    return _flags(pc.greater(pc.utf8_length(arr), limit))


def _all_text(values: pd.Series) -> bool:
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


def normalise_ids(
    values: pd.Series, strip_float_suffix: bool = True, missing_tokens: list[str] | tuple[str, ...] | None = None
) -> pd.Series:
    """Customer or order ids as trimmed strings without control characters; missing tokens and bad ids become NA.

    Numeric ids read as floats (``12346.0``, as pandas reads Online Retail's CustomerID) become
    ``"12346"`` so the same customer is one id whatever the file type; infinite floats and floats of
    2**53 or more (no longer exact integers) become NA (cleaning quarantines them as ``bad_customer_id``).
    """
    tokens = set(DEFAULT_MISSING_TOKENS if missing_tokens is None else missing_tokens)
    return _read_text(values, tokens, strip_float_suffix).values


#: Plain ISO shapes parsed without pandas, per ``date_format``: {text length: separators allowed between date
#: and time}. ``None`` (no format given) takes what ``pd.to_datetime(format="ISO8601")`` reads the same way.
_ISO_SHAPES: dict[str | None, dict[int, bytes]] = {
    None: {10: b"", 16: b" T", 19: b" T"},
    "%Y-%m-%d": {10: b""},
    "%Y-%m-%d %H:%M:%S": {19: b" "},
    "%Y-%m-%dT%H:%M:%S": {19: b"T"},
    "%Y-%m-%d %H:%M": {16: b" "},
}


def _fast_iso(text: pa.ChunkedArray, shapes: dict[int, bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``text`` written as ``YYYY-MM-DD``, ``YYYY-MM-DD HH:MM`` or ``YYYY-MM-DD HH:MM:SS`` (as ``shapes``
    allows) with a real calendar day and time, read from their bytes with numpy, and their ``datetime64[s]``.

    Anything else (other shapes, 31 February, hour 24, fractions, time zones) is left to pandas by the caller.
    """
    n = len(text)
    done = np.zeros(n, dtype=bool)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    lengths = pc.fill_null(pc.binary_length(text), 0).to_numpy()
    for length, separators in shapes.items():
        rows = np.flatnonzero(lengths == length)
        for lo in range(0, len(rows), _BLOCK):  # a block at a time: the byte matrix is rows × length
            where = rows[lo : lo + _BLOCK]
            sub = text.take(pa.array(where)).combine_chunks()
            offsets = np.frombuffer(sub.buffers()[1], dtype=np.int64)[sub.offset : sub.offset + len(sub) + 1]
            raw = np.frombuffer(sub.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(-1, length)
            ok, stamps = _iso_bytes(raw - np.uint8(ord("0")), separators)
            done[where[ok]] = True
            out[where[ok]] = stamps[ok]
    return done, out


_BLOCK = 1 << 20


def _iso_bytes(d: np.ndarray, separators: bytes) -> tuple[np.ndarray, np.ndarray]:
    """For byte rows ``YYYY-MM-DD[?HH:MM[:SS]]`` minus ``ord("0")`` (digits 0..9, everything else above 9 as
    uint8 wraps around): which are a real day and time, and their ``datetime64[s]``."""
    length = d.shape[1]
    sep = {c: np.uint8((ord(c) - ord("0")) % 256) for c in "-:"}
    digits = [0, 1, 2, 3, 5, 6, 8, 9] + ([11, 12, 14, 15] if length >= 16 else []) + ([17, 18] if length == 19 else [])
    ok = (d[:, digits] <= 9).all(axis=1) & (d[:, 4] == sep["-"]) & (d[:, 7] == sep["-"])

    def number(*positions: int) -> np.ndarray:
        value = np.zeros(len(d), dtype=np.int64)
        for p in positions:
            value = value * 10 + d[:, p]
        return value

    year, month, day = number(0, 1, 2, 3), number(5, 6), number(8, 9)
    seconds = np.zeros(len(d), dtype=np.int64)
    if length >= 16:
        allowed = np.array([(c - ord("0")) % 256 for c in separators], dtype=np.uint8)
        hour, minute = number(11, 12), number(14, 15)
        ok &= np.isin(d[:, 10], allowed) & (d[:, 13] == sep[":"]) & (hour <= 23) & (minute <= 59)
        seconds += hour * 3600 + minute * 60
    if length == 19:
        second = number(17, 18)
        ok &= (d[:, 16] == sep[":"]) & (second <= 59)
        seconds += second
    ok &= (month >= 1) & (month <= 12) & (day >= 1)
    months = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    first = months.astype("datetime64[D]")
    ok &= day <= ((months + 1).astype("datetime64[D]") - first).astype(np.int64)
    return ok, (first + (day - 1)).astype("datetime64[s]") + seconds


def parse_dates(
    values: pd.Series,
    date_format: str | None = None,
    dayfirst: bool = False,
    missing_tokens: list[str] | tuple[str, ...] | None = None,
    date_range: tuple[pd.Timestamp, pd.Timestamp] | None = None,
    numeric_layout: bool | None = None,
) -> pd.Series:
    """Order dates as naive ``datetime64[ns]``; unparseable values become NaT (time zones → UTC).

    Dates outside ``date_range`` (first and last plausible day, inclusive; always within pandas' range
    1677-09-22..2262-04-10) become NaT too, instead of failing the whole column. Text in the plain ISO shapes
    (``2024-01-05``, ``2024-01-05 13:45:00``) is read from its bytes; other text goes through ``pd.to_datetime``.
    ``numeric_layout``: the numeric dates' layout decided for a whole column these values are a part of (True:
    day-first, False: month-first; see :func:`numeric_date_layout_of`); None: decided from these values.
    """
    first, last = date_range or (_PANDAS_FIRST_DAY, _PANDAS_LAST_DAY)
    first, last = max(pd.Timestamp(first), _PANDAS_FIRST_DAY), min(pd.Timestamp(last), _PANDAS_LAST_DAY)
    day_first = np.datetime64(first.date(), "D")
    day_after = np.datetime64(last.date(), "D") + np.timedelta64(1, "D")

    def plausible(stamps: np.ndarray) -> np.ndarray:  # in range, so as nanoseconds without overflow
        return np.where((stamps >= day_first) & (stamps < day_after), stamps, np.datetime64("NaT")).astype("M8[ns]")

    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        return pd.Series(plausible(parsed.to_numpy()), index=values.index)
    arr = _date_text(values, missing_tokens)
    done, fast = _fast_iso(arr, _ISO_SHAPES.get(date_format, {}))
    stamps = plausible(fast)
    rest = ~done & _flags(pc.is_valid(arr))
    if rest.any():
        text = _as_series(arr.filter(pa.array(rest)), values.index[rest])
        stamps[rest] = plausible(_pandas_dates(text, date_format, dayfirst, numeric_layout).to_numpy())
    return pd.Series(stamps, index=values.index)


def _date_text(values: pd.Series, missing_tokens: list[str] | tuple[str, ...] | None) -> pa.ChunkedArray:
    """Date text as the cleaning reads it: without control or format characters, trimmed, missing-value tokens
    and empty cells null (the one text pipeline of :func:`parse_dates` and :func:`numeric_date_layout_of`)."""
    tokens = {t.strip().casefold() for t in (DEFAULT_MISSING_TOKENS if missing_tokens is None else missing_tokens)}
    arr = _arrow_text(values if isinstance(values.dtype, pd.StringDtype) else values.astype("string"))
    arr, _, ascii_only = _tidy(arr, spacing=False)
    return pc.if_else(pa.array(_casefold_in(arr, tokens, ascii_only) | _flags(pc.equal(arr, ""))), _NULL_TEXT, arr)


def numeric_date_layout_of(
    values: pd.Series, missing_tokens: list[str] | tuple[str, ...] | None = None
) -> tuple[bool, bool]:
    """Whether some numeric date of the raw date column ``values`` (or of a part of it) can only be day-first,
    and whether some can only be month-first, the text read as :func:`parse_dates` reads it (control and format
    characters removed, trimmed, missing-value tokens out). For a column read in parts, the parts' flags or-ed
    are the column's; pass the layout to each part's cleaning (``numeric_layout``)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return False, False
    arr = _date_text(values, missing_tokens)
    valid = _flags(pc.is_valid(arr))
    if not valid.any():
        return False, False
    return numeric_date_layout(_as_series(arr.filter(pa.array(valid)), values.index[valid]))


def _pandas_dates(
    text: pd.Series, date_format: str | None, dayfirst: bool, numeric_layout: bool | None = None
) -> pd.Series:
    """``pd.to_datetime`` of trimmed, non-missing date text, naive (time zones → UTC).

    Always parsed with ``utc=True``: text that only *looks* time-zoned to dateutil (``T2024-01-05-2024-01-05``
    reads ``-2024`` as an offset) would otherwise leave pandas an object column of mixed offsets; naive text is
    unchanged by the round trip through UTC.
    """
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if date_format is None:
            # ISO dates (2024-01-05) are never day-first; numeric dates (03/01/2024) are read in the one layout of
            # the column (numeric_dates_as_iso), never guessed value by value; the rest (5 Jan 2024) by dateutil
            text = numeric_dates_as_iso(text, dayfirst, numeric_layout)
            iso = text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}", na=False)
            others = ~iso & text.notna()
            parsed = pd.to_datetime(text.where(iso), errors="coerce", format="ISO8601", utc=True)
            if others.any():
                other = pd.to_datetime(text.where(~iso), errors="coerce", dayfirst=dayfirst, format="mixed", utc=True)
                parsed = parsed.where(iso, other)
        else:
            try:
                parsed = pd.to_datetime(text, errors="coerce", format=date_format, dayfirst=dayfirst, utc=True)
            except ValueError as err:
                raise InputError(
                    f"cleaning.date_format '{date_format}' cannot be used: {err}; fix it (--date-format), e.g. %Y-%m-%d"
                ) from None
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed


#: A numeric date with the day and month in either order: ``03/01/2024``, ``3.1.24``, ``31-12-2024 13:45``.
_NUMERIC_DATE = r"^\s*([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{2,4})(.*)$"


class MixedDateLayouts(InputError):
    """A date column holds both day-first (31/12/2024) and month-first (12/31/2024) dates."""


def _layout_flags(first: pd.Series, second: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numeric dates that can only be day-first (first field above 12) and only month-first (second above 12)."""
    return first > 12, second > 12


def numeric_date_layout(text: pd.Series) -> tuple[bool, bool]:
    """Whether some numeric date of ``text`` can only be day-first, and whether some can only be month-first (the
    layout :func:`numeric_dates_as_iso` decides for a whole column; for a column read in parts, the parts' flags
    or-ed decide it for the column)."""
    parts = text.str.extract(_NUMERIC_DATE)
    parts = parts[parts[0].notna().to_numpy()]
    day_first, month_first = _layout_flags(parts[0].astype(int), parts[1].astype(int))
    return bool(day_first.any()), bool(month_first.any())


def numeric_dates_as_iso(text: pd.Series, dayfirst: bool = False, numeric_layout: bool | None = None) -> pd.Series:
    """``text`` with every numeric date (``03/01/2024``, ``3.1.24 13:45``) rewritten as ISO (``2024-01-03``), in
    one layout for the whole column; other values unchanged.

    The layout is day-first when ``dayfirst`` (``cleaning.dayfirst``) or when some first field is above 12
    (``31/12/2024``) and no second one is; otherwise month-first. A value that does not fit the layout becomes an
    impossible ISO date (month 13), so cleaning sets it aside as ``bad_date``: nothing is guessed value by value.
    Two-digit years take the century that puts them within 50 years of today. ``numeric_layout`` (True: day-first,
    False: month-first): the layout already decided for the whole column ``text`` is a part of (a part holding
    only ambiguous dates such as 03/01/2024 reads them as the column does); only numeric dates take it.

    Raises
    ------
    MixedDateLayouts
        Without ``dayfirst``, when the column holds both day-first and month-first dates (a first field above 12
        in some rows, a second field above 12 in others): the message names both with examples and asks for the
        layout (``cleaning.dayfirst: true``, or ``cleaning.date_format: '%m/%d/%Y'``).
    """
    parts = text.str.extract(_NUMERIC_DATE)
    found = parts[0].notna().to_numpy()
    if not found.any():
        return text
    parts = parts[found]
    first, second, year = parts[0].astype(int), parts[1].astype(int), parts[2].astype(int)
    if not dayfirst and numeric_layout is not None:
        dayfirst = numeric_layout
    elif not dayfirst:
        day_first, month_first = _layout_flags(first, second)
        if day_first.any() and month_first.any():
            shown = text[found]
            raise MixedDateLayouts(
                f"the dates mix day-first ({int(day_first.sum()):,} rows such as '{shown[day_first].iloc[0]}') and "
                f"month-first ({int(month_first.sum()):,} rows such as '{shown[month_first].iloc[0]}') layouts, so "
                "a date such as 03/01/2024 could be either; say which: cleaning.dayfirst: true for "
                "31/12/2024, or cleaning.date_format: '%m/%d/%Y' for 12/31/2024; the dates that do not fit it are "
                "set aside as bad_date"
            )
        dayfirst = bool(day_first.any())
    day, month = (first, second) if dayfirst else (second, first)
    this_year = pd.Timestamp.today().year
    short = (parts[2].str.len() <= 2).to_numpy()
    century = year + this_year // 100 * 100
    century = century.where(century < this_year + 50, century - 100)
    century = century.where(century >= this_year - 50, century + 100)
    year = year.where(~short, century)
    iso = year.map("{:04d}".format) + "-" + month.map("{:02d}".format) + "-" + day.map("{:02d}".format) + parts[3]
    out = text.copy()
    out[found] = iso.to_numpy()
    return out


def parse_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers from text such as ``"1,234.50"`` or ``"$12"`` (``decimal=","``: ``"1.234,50"``).

    The thousands separator is accepted only in groups of three digits, so an ambiguous value such
    as ``"10,50"`` with ``decimal="."`` is not read as 1050 but becomes NaN (and is quarantined).
    Values too large for a float (``1e309``) become infinite; cleaning quarantines them.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=values.index)
    thousands = "," if decimal == "." else "."
    arr = _arrow_text(values if isinstance(values.dtype, pd.StringDtype) else values.astype("string"))
    arr, _, ascii_only = _tidy(arr, spacing=False)
    spacing_or_currency = f"[{_WHITESPACE_RE2}$€£¥]"  # Python's [\s$€£¥]
    if _flags(pc.match_substring_regex(arr, spacing_or_currency)).any():
        arr = pc.replace_substring_regex(arr, spacing_or_currency, "")
    if _flags(pc.match_substring(arr, thousands)).any():
        t, d = re.escape(thousands), re.escape(decimal)
        grouped = _flags(pc.match_substring_regex(arr, rf"^[-+]?[0-9]{{1,3}}({t}[0-9]{{3}})+({d}[0-9]*)?$"))
        other = _non_ascii(arr, ascii_only)  # Python's \d also takes other scripts' digits
        if other.any():
            pattern = re.compile(rf"[-+]?\d{{1,3}}({t}\d{{3}})+({d}\d*)?")
            grouped[other] = [pattern.fullmatch(v) is not None for v in arr.filter(pa.array(other)).to_pylist()]
        arr = pc.if_else(pa.array(grouped), pc.replace_substring(arr, thousands, ""), arr)
    if decimal != ".":
        arr = pc.replace_substring(arr, decimal, ".")
    return pd.to_numeric(_as_series(arr, values.index), errors="coerce").astype("float64")


def flag_outliers(amount: pd.Series, threshold: float | None) -> pd.Series:
    """True where log(amount) is more than ``threshold`` robust SDs from the median log-amount.

    Only positive amounts are judged (zero-value purchases are never outliers).
    """
    values = amount.to_numpy(dtype=float)
    positive = values > 0
    if threshold is None or not positive.any():
        return pd.Series(False, index=amount.index)
    logs = np.log(values[positive])
    med = np.median(logs)
    mad = 1.4826 * np.median(np.abs(logs - med))
    flags = np.zeros(len(values), dtype=bool)
    if mad > 0:
        flags[positive] = np.abs(logs - med) / mad > threshold
    return pd.Series(flags, index=amount.index)


def _codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Integer codes of a column's values, equal codes for equal values (missing values share code 0), and how
    many codes there are. Text in Arrow is dictionary-encoded by Arrow; other columns by ``pd.factorize``, the
    encoding ``DataFrame.duplicated`` uses."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        encoded = pa.array(values.array).dictionary_encode()
        encoded = encoded.combine_chunks() if isinstance(encoded, pa.ChunkedArray) else encoded
        codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int64) + 1
        return codes, len(encoded.dictionary) + 1
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes.astype(np.int64) + 1, len(uniques) + 1


def duplicated_rows(raw: pd.DataFrame) -> np.ndarray:
    """True for each row equal in every column to an earlier row: ``raw.duplicated(keep="first")``.

    Computed from one integer key per row (the columns' codes combined, re-encoded whenever the product of
    their counts would overflow 64 bits) instead of comparing values. Numbers and dates are encoded first;
    after each column only the rows whose key so far is shared with another row can still be duplicates, so
    the remaining columns are encoded for those rows only (usually a few per cent after the first text column).
    """
    n = len(raw)
    if raw.shape[1] == 0 or n == 0:
        return np.zeros(n, dtype=bool)
    order = sorted(range(raw.shape[1]), key=lambda i: _encoding_cost(raw.dtypes.iloc[i]))
    rows = np.arange(n)
    numbers = [raw.iloc[:, i] for i in order if _encoding_cost(raw.dtypes.iloc[i]) == 0]
    if numbers:  # rows unlike every other row in their numbers, dates and flags cannot be copies: set aside at once
        rows = np.flatnonzero(_shared(_numbers_hash(numbers)))
    key, size = np.zeros(len(rows), dtype=np.int64), 1
    for i in order:
        if not len(rows):
            break
        column = raw.iloc[:, i]
        codes, count = _codes(column if len(rows) == n else column.take(rows))
        if size * count >= 2**63:
            key, uniques = pd.factorize(key)
            size = len(uniques)
        key, size = key * count + codes, size * count
        shared = _shared(key)
        rows, key = rows[shared], key[shared]
    out = np.zeros(n, dtype=bool)
    out[rows] = pd.Series(key, copy=False).duplicated(keep="first").to_numpy()
    return out


def _shared(keys: np.ndarray) -> np.ndarray:
    """True where a key occurs more than once (``duplicated(keep=False)``), by sorting, not a hash table."""
    ordered = np.sort(keys)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if not len(repeated):
        return np.zeros(len(keys), dtype=bool)
    return repeated[np.minimum(np.searchsorted(repeated, keys), len(repeated) - 1)] == keys


def _encoding_cost(dtype: Any) -> int:
    """Encode cheap columns first: numpy numbers, dates and flags (0), other typed columns (1), Arrow text (2),
    then Python objects (3)."""
    if isinstance(dtype, pd.StringDtype):
        return 2 if dtype.storage == "pyarrow" else 3
    if isinstance(dtype, np.dtype) and dtype.kind in "biufmM":
        return 0
    return 3 if pd.api.types.is_object_dtype(dtype) else 1


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on uint64 values (wrapping arithmetic): a well-spread hash of each value."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _numbers_hash(columns: list[pd.Series]) -> np.ndarray:
    """One uint64 per row from numpy number, date and flag columns, equal for rows whose values are equal as
    ``pd.factorize`` sees them (0.0 and -0.0 alike, every NaN or NaT alike); unequal rows may rarely collide."""
    h = np.zeros(len(columns[0]), dtype=np.uint64)
    for column in columns:
        values = column.to_numpy()
        if values.dtype.kind == "f":
            values = values.astype(np.float64) + 0.0  # -0.0 + 0.0 is 0.0
            values[np.isnan(values)] = np.nan  # one NaN bit pattern
            bits = values.view(np.uint64)
        elif values.dtype.kind == "u":
            bits = values.astype(np.uint64)
        elif values.dtype.kind in "mM":
            bits = values.view(np.int64).view(np.uint64)  # NaT is one value
        else:  # integers and flags
            bits = values.astype(np.int64).view(np.uint64)
        h = _mix(h ^ _mix(bits))
    return h


def clean_transactions(
    raw: pd.DataFrame,
    mapping: dict[str, str] | None = None,
    params: CleaningParams | None = None,
    origin: str = "input",
    numeric_layout: bool | None = None,
) -> CleanResult:
    """Clean a raw transaction log; see the module docstring for the reasons and their order.

    Parameters
    ----------
    raw : DataFrame
        Rows exactly as read from the source (own column names).
    mapping : dict, optional
        ``{canonical: theirs}`` column mapping, see :func:`map_columns`.
    params : CleaningParams, optional
        Date format and plausible dates, missing-value tokens, amount limit, cancellation prefix,
        outlier threshold.
    origin : str
        Name of the source, used in messages and ``quality.json``.
    numeric_layout : bool, optional
        For a part of a log: the layout of the numeric order dates decided for the whole log's column (True:
        day-first, False: month-first; :func:`numeric_date_layout_of`); None: decided from ``raw``.

    Returns
    -------
    CleanResult
        Clean purchases (``amount`` in the source's currency, > 0), quarantine, returns and ``quality``:
        ``rows_in``, ``rows_clean``, ``rows_quarantined``, ``reasons`` (count per reason, every reason
        listed), ``missing_tokens`` (``{column: {token as met: rows}}``, ``""`` = an empty cell),
        ``control_characters_removed`` (``{column: values changed}``), ``limits`` (the plausible dates
        and ``max_amount`` used), outliers, customers, revenue, returns value, first and last date.

    Raises
    ------
    InputError
        Duplicated column names, a column mapped twice, or an unusable date format.
    MissingColumnError
        A required column is missing after mapping.
    """
    params = params or CleaningParams()
    mapped = map_columns(raw, mapping, origin)
    n = len(raw)
    row_id = pd.RangeIndex(n)
    mapped = mapped.set_axis(row_id)
    tokens = set(params.missing_tokens)
    first_day, last_day = params.date_range()
    first_day, last_day = max(first_day, _PANDAS_FIRST_DAY), min(last_day, _PANDAS_LAST_DAY)

    texts: dict[str, _Text] = {}
    for col in TEXT_READ_ORDER:
        if col in mapped:
            strip = params.id_strip_float_suffix if col == "customer_id" else False
            texts[col] = _read_text(mapped[col], tokens, strip)
    customer = texts["customer_id"]
    inexact = _inexact_number(customer.values)  # 123.5, 1.2e+16: not an exact id, never rounded into one
    inexact |= _longer_than(customer.values, params.max_text_length)
    if inexact.any():
        customer.bad = customer.bad | inexact
        customer.values = customer.values.mask(inexact)
    too_long = np.zeros(n, dtype=bool)
    for col in _TEXT_COLUMNS:
        if col in texts:
            too_long |= _longer_than(texts[col].values, params.max_text_length)
    try:
        order_date = parse_dates(mapped["order_date"], params.date_format, params.dayfirst, list(tokens),
                                 (first_day, last_day), numeric_layout)  # fmt: skip
    except MixedDateLayouts as err:
        column = (mapping or {}).get("order_date", "order_date")
        raise MixedDateLayouts(f"{origin}: column '{column}': {err}") from None
    if params.timezone:  # UTC or time-zoned stamps on the business's wall clock before they become days
        from analysis.window import local_time

        order_date = local_time(order_date, params.timezone)
    if "amount" in mapped:
        amount = parse_numbers(mapped["amount"], params.decimal)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            amount = parse_numbers(mapped["quantity"], params.decimal) * parse_numbers(
                mapped["unit_price"], params.decimal
            )
    extra = {c: parse_numbers(mapped[c], params.decimal) for c in _MONEY_COLUMNS if c in mapped}
    order_id = texts["order_id"].values if "order_id" in texts else None

    code = np.zeros(n, dtype=np.int8)  # 0: clean, k: REASONS[k - 1]

    def assign(mask: pd.Series | np.ndarray, name: str) -> None:
        mask = np.asarray(mask, dtype=bool) & (code == 0)
        code[mask] = REASONS.index(name) + 1

    def implausible(values: pd.Series) -> np.ndarray:
        v = values.to_numpy(dtype=float)
        return ~np.isnan(v) & ~(np.abs(v) <= params.max_amount)  # catches ±inf too

    money_bad = amount.isna().to_numpy() | implausible(amount)
    for values in extra.values():
        money_bad |= implausible(values)

    if params.drop_duplicates:
        assign(duplicated_rows(raw), "duplicate")
    assign(customer.values.isna() & ~customer.bad, "missing_customer_id")
    assign(customer.bad, "bad_customer_id")
    assign(order_date.isna(), "bad_date")
    cancelled = pd.Series(False, index=row_id)
    if order_id is not None and params.cancelled_prefix:
        cancelled = order_id.str.upper().str.startswith(params.cancelled_prefix.upper()).fillna(False)
    assign((cancelled | (amount < 0).fillna(False)) & ~money_bad, "return")
    zero = (amount == 0).fillna(False).to_numpy() if params.zero_amount == "quarantine" else False
    assign(money_bad | zero, "bad_amount")
    assign(too_long, "text_too_long")

    # a sale without a customer id: set aside as missing_customer_id, yet a row that would be clean with an id (no
    # later reason applies), so revenue counts it
    # likewise a return without a customer id: kept beside them (negative amount) so revenue nets it
    no_id = (
        (code == REASONS.index("missing_customer_id") + 1)
        & order_date.notna().to_numpy()
        & ~(money_bad | zero)
        & ~np.asarray(too_long, dtype=bool)
    )
    anon_return = no_id & np.asarray(cancelled | (amount < 0).fillna(False), dtype=bool)
    is_anonymous = no_id
    columns: dict[str, Any] = {"customer_id": customer.values}
    if order_id is not None:
        columns["order_id"] = order_id
    columns["order_date"] = order_date
    columns["amount"] = amount
    columns.update(extra)
    for col in _TEXT_COLUMNS[1:]:
        if col in texts:
            columns[col] = texts[col].values.fillna("(unknown)")
    met = {col: t.met for col, t in texts.items()}
    stripped = {col: t.stripped for col, t in texts.items() if t.stripped}
    del texts, customer, order_id, order_date, amount, extra, cancelled  # each column now only in `columns`

    is_return = code == REASONS.index("return") + 1
    returns = pd.DataFrame({c: v[is_return] for c, v in columns.items()})
    returns.insert(0, "row_id", np.flatnonzero(is_return))
    returns = returns.assign(amount=returns["amount"].abs()).reset_index(drop=True)
    anonymous = pd.DataFrame({c: v[is_anonymous] for c, v in columns.items() if c != "customer_id"})
    anonymous.insert(0, "row_id", np.flatnonzero(is_anonymous))
    signed = np.where(anon_return[is_anonymous], -anonymous["amount"].abs(), anonymous["amount"])
    anonymous = anonymous.assign(amount=signed).reset_index(drop=True)

    keep = code == 0
    everything = bool(keep.all())
    kept = {}
    for c in list(columns):  # one column at a time, so a column and its copy are the only two in memory at once
        values = columns.pop(c)
        kept[c] = values if everything else values[keep]
        del values
    clean = pd.DataFrame(kept, index=row_id[keep])
    del kept
    clean.insert(len(clean.columns), "is_outlier", flag_outliers(clean["amount"], params.outlier_mad).to_numpy())
    clean.insert(len(clean.columns), "row_id", np.flatnonzero(keep))
    clean = clean[[c for c in (*CANONICAL_COLUMNS, "is_outlier", "row_id") if c in clean.columns]]
    clean = validate_clean(clean.reset_index(drop=True), origin)

    quarantine = raw.set_axis(row_id).loc[~keep].reset_index(drop=True)
    quarantine.insert(0, "row_id", np.flatnonzero(~keep))
    quarantine["reason"] = np.asarray(REASONS, dtype=object)[code[~keep] - 1]
    quarantine = validate_quarantine(quarantine, origin)
    from analysis.data.cancellations import check_conserved, match_returns, net_log

    matching = match_returns(clean, returns)
    returns = matching.returns
    net = net_log(clean, returns, matching.allocations)
    check_conserved(clean, matching, net)

    counts = np.bincount(code, minlength=len(REASONS) + 1)
    quality: dict[str, Any] = {
        "source": origin,
        "rows_in": int(n),
        "rows_clean": len(clean),
        "rows_quarantined": len(quarantine),
        "reasons": {r: int(counts[k + 1]) for k, r in enumerate(REASONS)},
        "missing_tokens": {col: m for col, m in met.items() if m},
        "control_characters_removed": stripped,
        "limits": {
            "min_date": str(first_day.date()),
            "max_date": str(last_day.date()),
            "max_amount": float(params.max_amount),
        },
        **frame_quality(clean, returns, anonymous, net, ~anon_return[is_anonymous]),
        "columns": {c: mapping.get(c, c) if mapping else c for c in mapped.columns},
    }
    if quality["rows_in"] != quality["rows_clean"] + quality["rows_quarantined"]:  # pragma: no cover
        raise AssertionError("row accounting does not reconcile; this is a bug")
    return CleanResult(
        clean=clean,
        quarantine=quarantine,
        returns=returns,
        quality=json_safe(quality),
        anonymous=anonymous,
        allocations=matching.allocations,
        anonymous_is_return=anon_return[is_anonymous],
    )


def frame_quality(
    clean: pd.DataFrame, returns: pd.DataFrame, anonymous: pd.DataFrame, net: pd.DataFrame, sales: np.ndarray
) -> dict[str, Any]:
    """The ``quality.json`` figures read from the cleaned frames (the rest are row counts): outliers, customers,
    revenue (currency, rounded to cents), returns, the matching of returns, the rows without a customer id (``sales``:
    True for each row of ``anonymous`` that is a sale, False for a return) and the first and last day. One
    definition for a log cleaned at once (:func:`clean_transactions`) and one cleaned in parts
    (:mod:`analysis.engines.spark_clean`)."""
    from analysis.data.cancellations import match_counts

    return {
        "outliers_flagged": int(clean["is_outlier"].sum()),
        "customers": int(pc.count_distinct(pa.array(clean["customer_id"].array)).as_py()),
        "revenue": round(float(clean["amount"].sum()), 2),
        "returns_value": round(float(returns["amount"].sum()), 2),
        # the returns matched to the orders they undo, by rule, and what netting leaves (whole input, all returns)
        "returns_matched": match_counts(returns, clean, net),
        # of the missing_customer_id rows, the valid sales: counted in revenue, in no customer measure
        "anonymous_sales": {"rows": int(sales.sum()), "revenue": round(float(anonymous["amount"][sales].sum()), 2)},
        # the returns without a customer id (negative in anonymous): netted from the sales without one
        "anonymous_returns": {
            "rows": int((~sales).sum()),
            "value": round(-float(anonymous["amount"][~sales].sum()), 2),
        },
        "first_date": None if clean.empty else str(clean["order_date"].min().date()),
        "last_date": None if clean.empty else str(clean["order_date"].max().date()),
    }


def net_returns(clean: pd.DataFrame, returns: pd.DataFrame) -> pd.DataFrame:
    """The net log for analysts (:meth:`CleanResult.net`), with the returns matched to no purchase appended.

    Returns matched to the orders they undo lower those lines (a line returned in full is gone); the rest
    (``amount_unmatched``, e.g. the original predates the data) are appended with a negative ``amount`` and
    ``is_return=True``, for customers with a purchase left. RFM's ``monetary`` then sums to net spend, while
    ``frequency`` counts only purchases (rows with amount >= 0).
    """
    from analysis.data.cancellations import MATCH_COLUMNS, match_returns, net_log, unmatched

    m = match_returns(clean, returns.drop(columns=list(MATCH_COLUMNS), errors="ignore"))
    returns, allocations = m.returns, m.allocations
    net = net_log(clean, returns, allocations)
    ret = unmatched(returns)
    ret = ret[ret["customer_id"].isin(net["customer_id"])].copy()
    ret["amount"] = -ret["amount"].abs()
    ret["is_return"] = True
    ret["is_outlier"] = False
    out = pd.concat(
        [net.assign(is_return=False), ret[[c for c in ret.columns if c in net.columns or c == "is_return"]]]
    )
    return out.sort_values(["order_date", "row_id"], kind="stable").reset_index(drop=True)
