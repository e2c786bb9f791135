"""Cleaning as it was defined before it was vectorised (regexes value by value in Python, ``DataFrame.duplicated``
over every column): the text, date and number readers and ``clean_transactions`` copied unchanged from
``analysis/data/clean.py`` as of commit 125a5c0, kept as the oracle the fast cleaning is tested against
(tests/test_clean_fast.py): both must give the same clean, quarantine and returns frames and the same counts.
Functions that did not change are imported from the kit. Not used by the kit.
"""

from __future__ import annotations

import decimal
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.contract import CONTROL_CHARACTERS, REASONS, validate_clean, validate_quarantine
from analysis.data.clean import (
    _CONTROL_OR_SPACING,
    _MAX_FLOAT_ID,
    _MONEY_COLUMNS,
    _PANDAS_FIRST_DAY,
    _PANDAS_LAST_DAY,
    _SPACING,
    _TEXT_COLUMNS,
    CleanResult,
    flag_outliers,
    json_safe,
    map_columns,
    numeric_dates_as_iso,
)
from analysis.errors import InputError
from analysis.params import CANONICAL_COLUMNS, DEFAULT_MISSING_TOKENS, CleaningParams


@dataclass
class _Text:
    """Ids or text read from a column: ``values`` (NA where missing or bad), the ``token`` met, ``bad`` flags."""

    values: pd.Series
    token: pd.Series
    bad: pd.Series
    stripped: int


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


def _as_text(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Cells as text (NA for empty cells) and a flag for numeric cells that cannot be ids."""
    n = len(values)
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        null = np.isnan(arr)
        bad = ~null & (~np.isfinite(arr) | (np.abs(arr) >= _MAX_FLOAT_ID))
        ok = ~null & ~bad
        safe = np.where(ok, arr, 0.0)
        whole = ok & (safe == np.floor(safe))
        cells = np.full(n, None, dtype=object)
        cells[whole] = safe[whole].astype(np.int64).astype(str)
        cells[ok & ~whole] = [repr(float(v)) for v in safe[ok & ~whole]]
        return pd.Series(cells, index=values.index, dtype="string"), bad
    if values.dtype == object and not _all_text(values):
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
        return pd.Series(out, index=values.index, dtype="string"), bad
    return values.astype("string"), np.zeros(n, dtype=bool)


def _read_text(values: pd.Series, tokens: set[str], strip_float_suffix: bool = False) -> _Text:
    """Trimmed text without control characters; missing tokens and unusable values set aside.

    ``token`` holds what stood in a missing cell (trimmed; ``""`` for an empty or null cell), ``bad``
    flags values that were there but cannot be used (see :func:`_number_text`, or control characters only).
    """
    text, bad_number = _as_text(values)
    index = values.index
    has_control = text.str.contains(_CONTROL_OR_SPACING, regex=True, na=False).to_numpy(dtype=bool)
    stripped = int(has_control.sum())
    cleaned = text
    if stripped:
        cleaned = cleaned.str.replace(_SPACING, " ", regex=True).str.replace(CONTROL_CHARACTERS, "", regex=True)
    cleaned = cleaned.str.strip()
    if strip_float_suffix:
        cleaned = cleaned.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    empty = cleaned.fillna("").eq("").to_numpy(dtype=bool)
    emptied = np.zeros(len(text), dtype=bool)
    if stripped:  # only control characters: there was something, nothing printable is left
        emptied = has_control & empty & text.str.strip().fillna("").ne("").to_numpy(dtype=bool)
    folded = {t.strip().casefold() for t in tokens}
    is_token = cleaned.str.casefold().isin(folded).fillna(False).to_numpy(dtype=bool) & ~emptied
    blank = empty & ~emptied & ~bad_number  # an empty or null cell
    bad = bad_number | emptied
    token = cleaned.where(pd.Series(is_token, index=index)).mask(pd.Series(blank, index=index), "")
    out = cleaned.mask(pd.Series(is_token | blank | bad, index=index))
    return _Text(out, token, pd.Series(bad, index=index), stripped)


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


def parse_dates(
    values: pd.Series,
    date_format: str | None = None,
    dayfirst: bool = False,
    missing_tokens: list[str] | tuple[str, ...] | None = None,
    date_range: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> pd.Series:
    """Order dates as naive ``datetime64[ns]``; unparseable values become NaT (time zones → UTC).

    Dates outside ``date_range`` (first and last plausible day, inclusive; always within pandas' range
    1677-09-22..2262-04-10) become NaT too, instead of failing the whole column.
    """
    first, last = date_range or (_PANDAS_FIRST_DAY, _PANDAS_LAST_DAY)
    first, last = max(pd.Timestamp(first), _PANDAS_FIRST_DAY), min(pd.Timestamp(last), _PANDAS_LAST_DAY)
    tokens = {t.strip().casefold() for t in (DEFAULT_MISSING_TOKENS if missing_tokens is None else missing_tokens)}
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("string").str.replace(CONTROL_CHARACTERS, "", regex=True).str.strip()
        text = text.mask(text.str.casefold().isin(tokens) | (text == ""))
        has_tz = bool(text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False).any())
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if date_format is None and text.notna().any():
                # ISO dates (2024-01-05) are never day-first; other numeric dates follow the column's evidence
                # issue 19 (after 125a5c0): numeric dates in the column's one layout, never guessed value by value
                text = numeric_dates_as_iso(text, dayfirst)
                iso = text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}", na=False)
                others = ~iso & text.notna()
                parsed = pd.to_datetime(text.where(iso), errors="coerce", format="ISO8601", utc=has_tz)
                if others.any():
                    other = pd.to_datetime(
                        text.where(~iso), errors="coerce", dayfirst=dayfirst, format="mixed", utc=has_tz
                    )
                    parsed = parsed.where(iso, other)
            else:
                try:
                    parsed = pd.to_datetime(text, errors="coerce", format=date_format, dayfirst=dayfirst, utc=has_tz)
                except ValueError as err:
                    raise InputError(
                        f"cleaning.date_format '{date_format}' cannot be used: {err}; fix it (--date-format), "
                        "e.g. %Y-%m-%d"
                    ) from None
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    stamps = parsed.to_numpy()
    day_after = np.datetime64(last.date(), "D") + np.timedelta64(1, "D")
    plausible = (stamps >= np.datetime64(first.date(), "D")) & (stamps < day_after)
    return pd.Series(np.where(plausible, stamps, np.datetime64("NaT")), index=values.index).astype("datetime64[ns]")


def parse_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers from text such as ``"1,234.50"`` or ``"$12"`` (``decimal=","``: ``"1.234,50"``).

    The thousands separator is accepted only in groups of three digits, so an ambiguous value such
    as ``"10,50"`` with ``decimal="."`` is not read as 1050 but becomes NaN (and is quarantined).
    Values too large for a float (``1e309``) become infinite; cleaning quarantines them.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=values.index)
    thousands = "," if decimal == "." else "."
    text = values.astype("string").str.replace(CONTROL_CHARACTERS, "", regex=True).str.strip()
    text = text.str.replace(r"[\s$€£¥]", "", regex=True)
    t, d = re.escape(thousands), re.escape(decimal)
    grouped = text.str.fullmatch(rf"[-+]?\d{{1,3}}({t}\d{{3}})+({d}\d*)?", na=False)
    text = text.where(~grouped, text.str.replace(thousands, "", regex=False))
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


def clean_transactions(
    raw: pd.DataFrame,
    mapping: dict[str, str] | None = None,
    params: CleaningParams | None = None,
    origin: str = "input",
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
    for col in ("customer_id", *_TEXT_COLUMNS):
        if col in mapped:
            strip = params.id_strip_float_suffix if col == "customer_id" else False
            texts[col] = _read_text(mapped[col], tokens, strip)
    customer = texts["customer_id"]
    # issue 19 (after 125a5c0): an id written as a number with a fraction or an exponent is a bad id, value by value
    inexact = np.array(
        [isinstance(v, str) and re.fullmatch(r"[-+]?(?:[0-9]*\.[0-9]+|[0-9]+\.?[0-9]*[eE][-+]?[0-9]+)", v) is not None
         for v in customer.values.astype(object)], dtype=bool)  # fmt: skip
    customer.bad = customer.bad | inexact
    customer.values = customer.values.mask(inexact)
    order_date = parse_dates(mapped["order_date"], params.date_format, params.dayfirst, list(tokens),
                             (first_day, last_day))  # fmt: skip
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
        assign(raw.set_axis(row_id).set_axis(range(raw.shape[1]), axis=1).duplicated(keep="first"), "duplicate")
    assign(customer.values.isna() & ~customer.bad, "missing_customer_id")
    assign(customer.bad, "bad_customer_id")
    assign(order_date.isna(), "bad_date")
    cancelled = pd.Series(False, index=row_id)
    if order_id is not None and params.cancelled_prefix:
        cancelled = order_id.str.upper().str.startswith(params.cancelled_prefix.upper()).fillna(False)
    assign((cancelled | (amount < 0).fillna(False)) & ~money_bad, "return")
    zero = (amount == 0).fillna(False).to_numpy() if params.zero_amount == "quarantine" else False
    assign(money_bad | zero, "bad_amount")

    columns: dict[str, Any] = {"customer_id": customer.values}
    if order_id is not None:
        columns["order_id"] = order_id
    columns["order_date"] = order_date
    columns["amount"] = amount
    columns.update(extra)
    for col in _TEXT_COLUMNS[1:]:
        if col in texts:
            columns[col] = texts[col].values.fillna("(unknown)")
    canonical = pd.DataFrame(columns, index=row_id)

    keep = code == 0
    clean = canonical.loc[keep]
    clean.insert(len(clean.columns), "is_outlier", flag_outliers(clean["amount"], params.outlier_mad).to_numpy())
    clean.insert(len(clean.columns), "row_id", np.flatnonzero(keep))
    clean = clean[[c for c in (*CANONICAL_COLUMNS, "is_outlier", "row_id") if c in clean.columns]]
    clean = validate_clean(clean.reset_index(drop=True), origin)

    # sales without a customer id: the missing_customer_id rows to which no later reason applies
    # and the returns without one, kept beside them with a negative amount (revenue nets them)
    is_anonymous = (code == REASONS.index("missing_customer_id") + 1) & order_date.notna().to_numpy()
    is_anonymous &= ~(money_bad | zero)
    anon_return = np.asarray(cancelled | (amount < 0).fillna(False), dtype=bool)
    anonymous = canonical.loc[is_anonymous].drop(columns="customer_id")
    anonymous.insert(0, "row_id", np.flatnonzero(is_anonymous))
    anonymous["amount"] = np.where(anon_return[is_anonymous], -anonymous["amount"].abs(), anonymous["amount"])
    anonymous = anonymous.reset_index(drop=True)
    sales = ~anon_return[is_anonymous]

    is_return = code == REASONS.index("return") + 1
    returns = canonical.loc[is_return]
    returns.insert(0, "row_id", np.flatnonzero(is_return))
    returns = returns.assign(amount=returns["amount"].abs()).reset_index(drop=True)

    quarantine = raw.set_axis(row_id).loc[~keep].reset_index(drop=True)
    quarantine.insert(0, "row_id", np.flatnonzero(~keep))
    quarantine["reason"] = np.asarray(REASONS, dtype=object)[code[~keep] - 1]
    quarantine = validate_quarantine(quarantine, origin)
    # matching returns to their orders is not cleaning: the one implementation runs on the reference's frames
    from analysis.data.cancellations import match_counts, match_returns, net_log

    matching = match_returns(clean, returns)
    returns = matching.returns

    counts = np.bincount(code, minlength=len(REASONS) + 1)
    met = {
        col: {str(k): int(v) for k, v in t.token.value_counts(dropna=True).sort_index().items()}
        for col, t in texts.items()
        if t.token.notna().any()
    }
    quality: dict[str, Any] = {
        "source": origin,
        "rows_in": int(n),
        "rows_clean": len(clean),
        "rows_quarantined": len(quarantine),
        "reasons": {r: int(counts[k + 1]) for k, r in enumerate(REASONS)},
        "missing_tokens": {col: m for col, m in met.items() if m},
        "control_characters_removed": {col: t.stripped for col, t in texts.items() if t.stripped},
        "limits": {
            "min_date": str(first_day.date()),
            "max_date": str(last_day.date()),
            "max_amount": float(params.max_amount),
        },
        "outliers_flagged": int(clean["is_outlier"].sum()),
        "customers": int(clean["customer_id"].nunique()),
        "revenue": round(float(clean["amount"].sum()), 2),
        "returns_value": round(float(returns["amount"].sum()), 2),
        "returns_matched": match_counts(returns, clean, net_log(clean, returns, matching.allocations)),
        "anonymous_sales": {"rows": int(sales.sum()), "revenue": round(float(anonymous["amount"][sales].sum()), 2)},
        "anonymous_returns": {
            "rows": int((~sales).sum()),
            "value": round(-float(anonymous["amount"][~sales].sum()), 2),
        },
        "first_date": None if clean.empty else str(clean["order_date"].min().date()),
        "last_date": None if clean.empty else str(clean["order_date"].max().date()),
        "columns": {c: mapping.get(c, c) if mapping else c for c in mapped.columns},
    }
    if quality["rows_in"] != quality["rows_clean"] + quality["rows_quarantined"]:  # pragma: no cover
        raise AssertionError("row accounting does not reconcile; this is a bug")
    return CleanResult(
        clean=clean, quarantine=quarantine, returns=returns, quality=json_safe(quality), anonymous=anonymous
    )
