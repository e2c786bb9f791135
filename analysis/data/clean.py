"""Cleaning: raw transaction rows → clean purchases + quarantine, with nothing lost.

Every input row ends in exactly one of two places:

* the **clean** frame (canonical columns, one row per purchase line), or
* the **quarantine** frame: the row exactly as it came in, plus its ``row_id`` (0-based position of
  the data row in the input) and a ``reason``.

Reasons, checked in this order (a row gets the first that applies):

``duplicate``
    an exact copy (every raw column equal) of an earlier row; the first copy is kept.
``missing_customer_id``
    empty customer id (blank, ``nan``, ``None``, ``NULL``).
``bad_date``
    the order date cannot be parsed.
``return``
    a return or cancellation: negative amount, or an order id starting with the cancellation prefix
    (Online Retail's ``C…`` invoices). Returns are not purchases for RFM; see :func:`net_returns`.
``bad_amount``
    the amount (or quantity × unit price) is not a number, or is zero (zero-value purchases, such as
    free promotional items, are kept instead with ``zero_amount: keep``).

Extreme amounts are *flagged* in ``is_outlier``, never dropped: a purchase whose log-amount lies more
than ``outlier_mad`` robust standard deviations (1.4826 × MAD) from the median log-amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.contract import validate_clean
from analysis.data.io import write_csv, write_json, write_parquet
from analysis.errors import InputError, MissingColumnError
from analysis.params import CANONICAL_COLUMNS, CleaningParams

REASONS: tuple[str, ...] = ("duplicate", "missing_customer_id", "bad_date", "return", "bad_amount")
_MISSING_TOKENS = {"", "nan", "none", "null", "na", "n/a", "<na>", "nat"}
_TEXT_COLUMNS = ("order_id", "region", "channel", "product_line", "sales_rep")


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
        The ``return`` rows parsed into canonical columns (``amount`` as a positive value returned).
    quality : dict
        Counts that reconcile: ``rows_in == rows_clean + rows_quarantined``.
    """

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    returns: pd.DataFrame
    quality: dict[str, Any] = field(default_factory=dict)

    def write(self, out_dir: str | Path) -> dict[str, Path]:
        """Write ``clean.parquet``, ``quarantine.csv``, ``returns.parquet`` and ``quality.json``."""
        out = Path(out_dir)
        return {
            "clean": write_parquet(self.clean, out / "clean.parquet"),
            "quarantine": write_csv(self.quarantine, out / "quarantine.csv", index=False),
            "returns": write_parquet(self.returns, out / "returns.parquet"),
            "quality": write_json(self.quality, out / "quality.json"),
        }


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
    MissingColumnError
        Before any work, naming the missing column, the columns that are there and how to map one.
    """
    mapping = dict(mapping or {})
    columns = [str(c) for c in raw.columns]
    for canonical, theirs in mapping.items():
        if canonical not in CANONICAL_COLUMNS:
            raise InputError(f"{origin}: '{canonical}' is not a canonical column; use one of {CANONICAL_COLUMNS}")
        if theirs not in columns:
            raise MissingColumnError(
                f"{origin}: column '{theirs}' (mapped to {canonical}) is not in the data; "
                f"its columns are {columns}. Fix the mapping 'columns: {{{canonical}: <one of those>}}'."
            )
    rename = {theirs: canonical for canonical, theirs in mapping.items()}
    # a column already named like a mapped canonical column is replaced by the mapped one
    shadowed = [c for c in columns if c in mapping and c not in rename]
    renamed = raw.drop(columns=shadowed).rename(columns=rename)
    present = [c for c in CANONICAL_COLUMNS if c in renamed.columns]
    needed = ["customer_id", "order_date"]
    if "amount" not in present:
        needed += ["quantity", "unit_price"] if ("quantity" in present or "unit_price" in present) else ["amount"]
    missing = [c for c in needed if c not in present]
    if missing:
        col = missing[0]
        hint = "" if col != "amount" else " (or map both quantity and unit_price, and amount is their product)"
        raise MissingColumnError(
            f"{origin}: required column '{col}' is missing{hint}. The data has columns {columns}. "
            f"Map yours in the params file under 'columns:' (e.g. 'columns: {{{col}: YourColumn}}') "
            f"or on the command line with '--map {col}=YourColumn'."
        )
    return renamed.loc[:, present]


def normalise_ids(values: pd.Series, strip_float_suffix: bool = True) -> pd.Series:
    """Customer or order ids as trimmed strings; missing tokens become NA.

    Numeric ids read as floats (``12346.0``, as pandas reads Online Retail's CustomerID) become
    ``"12346"`` so the same customer is one id whatever the file type.
    """
    if pd.api.types.is_float_dtype(values):
        whole = values.notna() & (values == np.floor(values))
        text = values.astype(object).where(~whole, values.where(whole).astype("Int64").astype(object))
        out = text.astype("string")
    else:
        out = values.astype("string")
    out = out.str.strip()
    if strip_float_suffix:
        out = out.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    out = out.mask(out.str.lower().isin(_MISSING_TOKENS))
    return out


def parse_dates(values: pd.Series, date_format: str | None = None, dayfirst: bool = False) -> pd.Series:
    """Order dates as naive ``datetime64[ns]``; unparseable values become NaT (time zones → UTC)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        text = values.astype("string").str.strip()
        text = text.mask(text.str.lower().isin(_MISSING_TOKENS))
        has_tz = bool(text.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True, na=False).any())
        if date_format is None and text.notna().any():
            import warnings

            # ISO dates (2024-01-05) are never day-first; other numeric dates follow the column's evidence
            iso = text.str.match(r"^\d{4}-\d{1,2}-\d{1,2}", na=False)
            dayfirst = dayfirst or _looks_dayfirst(text[~iso])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                parsed = pd.to_datetime(text.where(iso), errors="coerce", format="ISO8601", utc=has_tz)
                if (~iso & text.notna()).any():
                    other = pd.to_datetime(text.where(~iso), errors="coerce", dayfirst=dayfirst, format="mixed",
                                           utc=has_tz)
                    parsed = parsed.where(iso, other)
        else:
            parsed = pd.to_datetime(text, errors="coerce", format=date_format, dayfirst=dayfirst, utc=has_tz)
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")


_NUMERIC_DATE = r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})"


def _looks_dayfirst(text: pd.Series) -> bool:
    """True when numeric dates such as 31/12/2024 show the day first (a first field above 12, no second one)."""
    parts = text.str.extract(_NUMERIC_DATE).dropna().astype(int)
    if parts.empty:
        return False
    return bool((parts[0] > 12).any() and not (parts[1] > 12).any())


def parse_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """Numbers from text such as ``"1,234.50"`` or ``"$12"`` (``decimal=","``: ``"1.234,50"``).

    The thousands separator is accepted only in groups of three digits, so an ambiguous value such
    as ``"10,50"`` with ``decimal="."`` is not read as 1050 but becomes NaN (and is quarantined).
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    thousands = "," if decimal == "." else "."
    text = values.astype("string").str.strip().str.replace(r"[\s$€£¥]", "", regex=True)
    t, d = re.escape(thousands), re.escape(decimal)
    grouped = text.str.fullmatch(rf"[-+]?\d{{1,3}}({t}\d{{3}})+({d}\d*)?", na=False)
    text = text.where(~grouped, text.str.replace(thousands, "", regex=False))
    if decimal != ".":
        text = text.str.replace(decimal, ".", regex=False)
    return pd.to_numeric(text, errors="coerce").astype("float64")


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
        Date format, cancellation prefix, outlier threshold.
    origin : str
        Name of the source, used in messages and ``quality.json``.

    Returns
    -------
    CleanResult
        Clean purchases (``amount`` in the source's currency, > 0), quarantine, returns, quality.
    """
    params = params or CleaningParams()
    mapped = map_columns(raw, mapping, origin)
    n = len(raw)
    row_id = pd.RangeIndex(n)
    mapped = mapped.set_axis(row_id)

    customer = normalise_ids(mapped["customer_id"], params.id_strip_float_suffix)
    order_date = parse_dates(mapped["order_date"], params.date_format, params.dayfirst)
    if "amount" in mapped:
        amount = parse_numbers(mapped["amount"], params.decimal)
    else:
        amount = parse_numbers(mapped["quantity"], params.decimal) * parse_numbers(mapped["unit_price"], params.decimal)
    order_id = normalise_ids(mapped["order_id"], False) if "order_id" in mapped else None

    reason = pd.Series(pd.NA, index=row_id, dtype="string")

    def assign(mask: pd.Series | np.ndarray, name: str) -> None:
        mask = pd.Series(np.asarray(mask, dtype=bool), index=row_id)
        reason[mask & reason.isna()] = name

    if params.drop_duplicates:
        assign(raw.set_axis(row_id).duplicated(keep="first"), "duplicate")
    assign(customer.isna(), "missing_customer_id")
    assign(order_date.isna(), "bad_date")
    cancelled = pd.Series(False, index=row_id)
    if order_id is not None and params.cancelled_prefix:
        cancelled = order_id.str.upper().str.startswith(params.cancelled_prefix.upper()).fillna(False)
    assign(cancelled | (amount < 0).fillna(False), "return")
    zero = (amount == 0).fillna(False) if params.zero_amount == "quarantine" else False
    assign(amount.isna() | zero, "bad_amount")

    canonical = pd.DataFrame(index=row_id)
    canonical["customer_id"] = customer
    if order_id is not None:
        canonical["order_id"] = order_id
    canonical["order_date"] = order_date
    canonical["amount"] = amount
    for col in ("quantity", "unit_price", "cost"):
        if col in mapped:
            canonical[col] = parse_numbers(mapped[col], params.decimal)
    for col in _TEXT_COLUMNS[1:]:
        if col in mapped:
            canonical[col] = normalise_ids(mapped[col], False).fillna("(unknown)")

    keep = reason.isna().to_numpy()
    clean = canonical.loc[keep].copy()
    clean["is_outlier"] = flag_outliers(clean["amount"], params.outlier_mad)
    clean.index.name = "row_id"
    clean = clean.reset_index()
    clean = clean[[c for c in (*CANONICAL_COLUMNS, "is_outlier", "row_id") if c in clean.columns]]
    clean = validate_clean(clean, origin)

    is_return = (reason == "return").fillna(False).to_numpy(dtype=bool)
    returns = canonical.loc[is_return].copy()
    returns["amount"] = returns["amount"].abs()
    returns.index.name = "row_id"
    returns = returns.reset_index()

    quarantine = raw.set_axis(row_id).loc[~keep].copy()
    quarantine.insert(0, "row_id", quarantine.index.to_numpy())
    quarantine["reason"] = reason[~keep].to_numpy()
    quarantine = quarantine.reset_index(drop=True)

    counts = reason.value_counts()
    quality: dict[str, Any] = {
        "source": origin,
        "rows_in": int(n),
        "rows_clean": len(clean),
        "rows_quarantined": len(quarantine),
        "reasons": {r: int(counts.get(r, 0)) for r in REASONS},
        "outliers_flagged": int(clean["is_outlier"].sum()),
        "customers": int(clean["customer_id"].nunique()),
        "revenue": round(float(clean["amount"].sum()), 2),
        "returns_value": round(float(returns["amount"].sum()), 2),
        "first_date": None if clean.empty else str(clean["order_date"].min().date()),
        "last_date": None if clean.empty else str(clean["order_date"].max().date()),
        "columns": {c: mapping.get(c, c) if mapping else c for c in mapped.columns},
    }
    if quality["rows_in"] != quality["rows_clean"] + quality["rows_quarantined"]:  # pragma: no cover
        raise AssertionError("row accounting does not reconcile; this is a bug")
    return CleanResult(clean=clean, quarantine=quarantine, returns=returns, quality=quality)


def net_returns(clean: pd.DataFrame, returns: pd.DataFrame) -> pd.DataFrame:
    """A transaction log in which returns reduce spend, for analysts who want net monetary values.

    Return rows are appended with a negative ``amount`` and ``is_return=True``. RFM's ``monetary``
    then sums to net spend, while ``frequency`` still counts only purchases (rows with amount > 0).
    Returns of customers without any clean purchase are dropped (they have no purchase to net).
    """
    ret = returns[returns["customer_id"].isin(clean["customer_id"])].copy()
    ret["amount"] = -ret["amount"].abs()
    ret["is_return"] = True
    ret["is_outlier"] = False
    out = pd.concat(
        [clean.assign(is_return=False), ret[[c for c in ret.columns if c in clean.columns or c == "is_return"]]]
    )
    return out.sort_values(["order_date", "row_id"], kind="stable").reset_index(drop=True)
