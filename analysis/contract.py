"""Data contracts (pandera), one per pipeline stage, validated lazily at each boundary.

``CLEAN_TRANSACTIONS``
    one row per purchase line after cleaning: ``customer_id`` (text, never empty),
    ``order_date`` (timestamp), ``amount`` (currency, > 0; = 0 only with ``zero_amount: keep``),
    ``is_outlier`` (flag), ``row_id`` (position in the input).
``QUARANTINE``
    the rows set aside by cleaning, as they came in, plus ``row_id`` and a ``reason`` from
    :data:`REASONS`.
``CUSTOMERS``
    one row per scored customer, indexed by ``customer_id``: recency in whole days, frequency in
    distinct orders, monetary in currency, scores 1–5.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from analysis.arrow_text import printable_ascii
from analysis.errors import InputError


@contextlib.contextmanager
def _quiet_pyspark() -> Iterator[None]:
    """pandera imports pyspark.pandas when PySpark is installed (the 'spark' extra), on import and on its
    first validation, and PySpark warns that it does not yet fully support pandas 3: only that warning
    is silenced (see analysis.engines.spark_engine)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


#: Why a row was set aside, in the order cleaning checks them (a row gets the first that applies).
REASONS: tuple[str, ...] = (
    "duplicate", "missing_customer_id", "bad_customer_id", "bad_date", "return", "bad_amount", "text_too_long",
)  # fmt: skip

#: Control characters (C0, DEL, C1) and invisible format characters (zero-width, bidi controls, BOM):
#: removed from ids and text by cleaning, never present in clean data.
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
#: The same class with the characters themselves instead of ``\\u`` escapes, which pandas hands to pyarrow's
#: regex engine for Arrow text (an escape makes it fall back to Python's ``re``, value by value).
_CONTROL_LITERAL = CONTROL_CHARACTERS.encode("ascii").decode("unicode_escape")


def _no_control_characters(s: pd.Series) -> pd.Series:
    if printable_ascii(s):  # plain ASCII text: seen from its bytes at once
        return pd.Series(True, index=s.index)
    return ~s.str.contains(_CONTROL_LITERAL, regex=True, na=False)


#: Optional packages pandera imports when they are installed, for features these contracts do not use: PySpark's
#: pandas API (pandera's PySpark support, half a second) and hypothesis (its data-synthesis strategies, another half
#: second in a development environment).
_UNUSED_BY_PANDERA = ("pyspark.pandas", "hypothesis")


@contextlib.contextmanager
def _hidden(names: tuple[str, ...]) -> Iterator[None]:
    """While the block runs, importing any of ``names`` fails as if it were not installed (pandera then skips what
    needs it); a module the process already imported (a Spark run, the test suite) stays visible."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "not importable" mark
    try:
        yield
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@functools.cache
def _schemas() -> dict[str, Any]:
    """The pandera schemas, built on first use: pandera costs about a second of imports, which commands that
    validate nothing should not pay."""
    with _quiet_pyspark(), _hidden(_UNUSED_BY_PANDERA):
        import pandera.pandas as pa

    _printable = pa.Check(_no_control_characters, name="no_control_characters")
    _finite = pa.Check(lambda s: np.isfinite(s) | s.isna(), name="finite")
    _text = pa.Column("string", nullable=True, required=False, coerce=True, checks=_printable)

    def _money(nullable: bool, required: bool = False, checks: list[pa.Check] | None = None) -> pa.Column:
        return pa.Column(float, nullable=nullable, required=required, checks=[_finite, *(checks or [])])

    CLEAN_TRANSACTIONS = pa.DataFrameSchema(
        {
            "customer_id": pa.Column(
                "string", nullable=False, coerce=True, checks=[pa.Check.str_length(min_value=1), _printable]
            ),
            "order_id": _text,
            "order_date": pa.Column("datetime64[ns]", nullable=False),
            "amount": _money(nullable=False, required=True, checks=[pa.Check.ge(0)]),
            "quantity": _money(nullable=True),
            "unit_price": _money(nullable=True),
            "region": _text,
            "channel": _text,
            "product_line": _text,
            "sales_rep": _text,
            "cost": _money(nullable=True),
            "is_outlier": pa.Column(bool),
            "row_id": pa.Column(int, checks=pa.Check.ge(0), unique=True),
        },
        strict=True,
        name="clean_transactions",
    )

    QUARANTINE = pa.DataFrameSchema(
        {
            "row_id": pa.Column(int, checks=pa.Check.ge(0), unique=True, coerce=True),
            "reason": pa.Column(str, checks=pa.Check.isin(list(REASONS)), coerce=True),
        },
        strict=False,
        name="quarantine",
    )

    _score = pa.Column(int, checks=pa.Check.isin([1, 2, 3, 4, 5]), coerce=True)

    CUSTOMERS = pa.DataFrameSchema(
        {
            "first_purchase": pa.Column("datetime64[ns]", coerce=True),
            "last_purchase": pa.Column("datetime64[ns]", coerce=True),
            "recency_days": pa.Column(int, checks=pa.Check.ge(0), coerce=True),
            "frequency": pa.Column(int, checks=pa.Check.ge(1), coerce=True),
            "monetary": pa.Column(float, coerce=True),
            "r_score": _score,
            "f_score": _score,
            "m_score": _score,
            "rfm_code": pa.Column(str, checks=pa.Check.str_matches(r"^[1-5]{3}$"), coerce=True),
            "segment": pa.Column(str, coerce=True),
            "value_class": pa.Column(str, coerce=True),
            "value_class_en": pa.Column(str, coerce=True),
        },
        index=pa.Index("string", name="customer_id", unique=True, coerce=True),
        strict=False,
        name="customers",
    )
    return {"CLEAN_TRANSACTIONS": CLEAN_TRANSACTIONS, "QUARANTINE": QUARANTINE, "CUSTOMERS": CUSTOMERS}


def __getattr__(name: str) -> Any:
    """``CLEAN_TRANSACTIONS``, ``QUARANTINE`` and ``CUSTOMERS``, built (and pandera imported) on first access."""
    if name in ("CLEAN_TRANSACTIONS", "QUARANTINE", "CUSTOMERS"):
        return _schemas()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _validate(name: str, df: pd.DataFrame, origin: str) -> pd.DataFrame:
    schema = _schemas()[name]
    from pandera.errors import SchemaErrors

    try:
        with _quiet_pyspark(), _hidden(_UNUSED_BY_PANDERA):  # pandera registers its backends on first validation
            return schema.validate(df, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        lines = [f"{origin}: {schema.name} contract violated:"]
        for (col, check), grp in cases.groupby(["column", "check"], dropna=False, sort=True):
            examples = ", ".join(map(str, grp["failure_case"].head(3).tolist()))
            lines.append(f"  - column {col}: {check} ({len(grp)} rows, e.g. {examples})")
        raise InputError("\n".join(lines)) from None


def validate_clean(df: pd.DataFrame, origin: str = "clean data") -> pd.DataFrame:
    """Validate (and coerce text columns of) a clean transaction frame."""
    return _validate("CLEAN_TRANSACTIONS", df, origin)


def validate_quarantine(df: pd.DataFrame, origin: str = "quarantine") -> pd.DataFrame:
    """Validate the quarantine frame: unique ``row_id``, a known ``reason`` on every row."""
    return _validate("QUARANTINE", df, origin)


def validate_customers(df: pd.DataFrame, origin: str = "customer scores") -> pd.DataFrame:
    """Validate a scored customer frame.

    A frame the kit built itself (every column already of the contract's type) is checked by
    :func:`_customers_pass`, vectorised, without pandera; anything else, and any frame that check does not pass,
    goes through the pandera schema, which coerces it or names what is wrong. Both give the same frame."""
    passed = _customers_pass(df)
    return passed if passed is not None else _validate("CUSTOMERS", df, origin)


#: The types :data:`CUSTOMERS` coerces its columns and index to (pandera's pandas types for the schema's
#: ``datetime64[ns]``, ``int``, ``float`` and ``str``/``"string"``: text is pandas' Arrow-backed ``str``);
#: ``tests/test_contract_customers.py`` checks them against the schema.
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
CUSTOMER_TYPES: dict[str, Any] = {
    "first_purchase": np.dtype("datetime64[ns]"),
    "last_purchase": np.dtype("datetime64[ns]"),
    "recency_days": np.dtype("int64"),
    "frequency": np.dtype("int64"),
    "monetary": np.dtype("float64"),
    "r_score": np.dtype("int64"),
    "f_score": np.dtype("int64"),
    "m_score": np.dtype("int64"),
    "rfm_code": _TEXT,
    "segment": _TEXT,
    "value_class": _TEXT,
    "value_class_en": _TEXT,
}
#: The 125 values ``^[1-5]{3}$`` matches.
_RFM_CODES = [f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)]


def _customers_pass(df: pd.DataFrame) -> pd.DataFrame | None:
    """``df`` as :data:`CUSTOMERS` validates it, when every column already has its contract type and every check
    holds (then coercing would change nothing); None when pandera has to decide (other types, or a failure).

    The checks, vectorised: no missing value in any contract column or in the index, ``recency_days >= 0``,
    ``frequency >= 1``, scores in 1–5, ``rfm_code`` one of the 125 codes, ``customer_id`` unique. The index is
    Arrow-backed text already (the engines' and :func:`analysis.customers.rfm.rfm_summary`'s); its ``str`` form
    is the schema's coercion of it (the same Arrow values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    index = df.index
    if (
        not df.columns.is_unique
        or index.name != "customer_id"
        or not isinstance(index.dtype, pd.StringDtype)
        or index.dtype.storage != "pyarrow"
        or any(c not in df.columns or df[c].dtype != t for c, t in CUSTOMER_TYPES.items())
    ):
        return None
    ids = index.array._pa_array  # a ChunkedArray
    if ids.null_count or not _unique(ids):
        return None
    for col, dtype in CUSTOMER_TYPES.items():
        if _has_missing(df[col], dtype):
            return None
    if len(df) and (
        int(df["recency_days"].to_numpy().min()) < 0
        or int(df["frequency"].to_numpy().min()) < 1
        or any(not 1 <= v <= 5 for c in ("r_score", "f_score", "m_score") for v in _bounds(df[c].to_numpy()))
        or not pc.all(pc.is_in(df["rfm_code"].array._pa_array, value_set=pa.array(_RFM_CODES))).as_py()
    ):
        return None
    if index.dtype == _TEXT:
        return df
    return df.set_axis(index.astype(_TEXT), axis=0)


def _unique(ids: Any) -> bool:
    """Whether the Arrow text ``ids`` (no nulls) are unique: at once when they are in strictly increasing byte order,
    as the engines return them, else by hashing."""
    import pyarrow.compute as pc

    if len(ids) < 2 or pc.all(pc.less(ids[:-1], ids[1:])).as_py():
        return True
    return len(pc.unique(ids)) == len(ids)


def _has_missing(values: pd.Series, dtype: Any) -> bool:
    """Whether a column of contract type ``dtype`` has a missing value (integer columns cannot)."""
    if dtype is _TEXT:
        return bool(values.array._pa_array.null_count)
    if dtype.kind == "M":
        return bool(np.isnat(values.to_numpy()).any())
    if dtype.kind == "f":
        return bool(np.isnan(values.to_numpy()).any())
    return False


def _bounds(values: np.ndarray) -> tuple[int, int]:
    return int(values.min()), int(values.max())
