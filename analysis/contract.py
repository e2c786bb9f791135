"""Data contracts (pandera), one per pipeline stage, validated lazily at each boundary.

``CLEAN_TRANSACTIONS``
    one row per purchase line after cleaning: ``customer_id`` (text, never empty),
    ``order_date`` (timestamp), ``amount`` (currency, > 0; = 0 only with ``zero_amount: keep``),
    ``is_outlier`` (flag), ``row_id`` (position in the input).
``CUSTOMERS``
    one row per scored customer, indexed by ``customer_id``: recency in whole days, frequency in
    distinct orders, monetary in currency, scores 1–5.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator

import pandas as pd

from analysis.errors import InputError


@contextlib.contextmanager
def _quiet_pyspark() -> Iterator[None]:
    """pandera imports pyspark.pandas when PySpark is installed (the 'spark' extra), on import and on its
    first validation, and PySpark warns that it does not yet fully support pandas 3: only that warning
    is silenced (see analysis.engines.spark_engine)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        yield


with _quiet_pyspark():
    import pandera.pandas as pa

_text = pa.Column("string", nullable=True, required=False, coerce=True)

CLEAN_TRANSACTIONS = pa.DataFrameSchema(
    {
        "customer_id": pa.Column("string", nullable=False, coerce=True, checks=pa.Check.str_length(min_value=1)),
        "order_id": _text,
        "order_date": pa.Column("datetime64[ns]", nullable=False),
        "amount": pa.Column(float, checks=pa.Check.ge(0), nullable=False),
        "quantity": pa.Column(float, nullable=True, required=False),
        "unit_price": pa.Column(float, nullable=True, required=False),
        "region": _text,
        "channel": _text,
        "product_line": _text,
        "sales_rep": _text,
        "cost": pa.Column(float, nullable=True, required=False),
        "is_outlier": pa.Column(bool),
        "row_id": pa.Column(int, checks=pa.Check.ge(0), unique=True),
    },
    strict=True,
    name="clean_transactions",
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


def _validate(schema: pa.DataFrameSchema, df: pd.DataFrame, origin: str) -> pd.DataFrame:
    try:
        with _quiet_pyspark():
            return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        lines = [f"{origin}: {schema.name} contract violated:"]
        for (col, check), grp in cases.groupby(["column", "check"], dropna=False, sort=True):
            examples = ", ".join(map(str, grp["failure_case"].head(3).tolist()))
            lines.append(f"  - column {col}: {check} ({len(grp)} rows, e.g. {examples})")
        raise InputError("\n".join(lines)) from None


def validate_clean(df: pd.DataFrame, origin: str = "clean data") -> pd.DataFrame:
    """Validate (and coerce text columns of) a clean transaction frame."""
    return _validate(CLEAN_TRANSACTIONS, df, origin)


def validate_customers(df: pd.DataFrame, origin: str = "customer scores") -> pd.DataFrame:
    """Validate a scored customer frame."""
    return _validate(CUSTOMERS, df, origin)
