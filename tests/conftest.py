"""Shared fixtures: the CDNOW sample, small synthetic logs and hand-made edge cases."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from analysis.datasets import CDNOW_MAPPING, cdnow_sample_path

ROOT = Path(__file__).resolve().parents[1]
CDNOW = cdnow_sample_path()  # shipped in the package (analysis/data/cdnow), gzip-compressed

os.environ.setdefault("MPLBACKEND", "Agg")
# Reports show customers by pseudonym: the suite's kernels inherit this key instead of making one in ~/.config.
os.environ.setdefault("RFMKIT_PSEUDONYM_KEY", "the rfmkit test suite's pseudonym key")


@pytest.fixture(scope="session")
def cdnow_raw() -> pd.DataFrame:
    from analysis.data.io import read_transactions
    from analysis.params import SourceParams

    return read_transactions(SourceParams(format="dataset", name="cdnow_sample"))


@pytest.fixture(scope="session")
def cdnow_clean(cdnow_raw: pd.DataFrame) -> pd.DataFrame:
    from analysis.data.clean import clean_transactions
    from analysis.params import CleaningParams

    params = CleaningParams(date_format="%Y%m%d", drop_duplicates=False, zero_amount="keep")
    return clean_transactions(cdnow_raw, CDNOW_MAPPING, params, origin="CDNOW").clean


@pytest.fixture(scope="session")
def small_sample() -> pd.DataFrame:
    """A dirty synthetic log of 800 customers over two years (deterministic)."""
    from analysis.data.sample import generate_transactions

    return generate_transactions(customers=800, seed=7)


def tx(rows: list[tuple], with_order: bool = True) -> pd.DataFrame:
    """A clean transaction frame from (customer_id, order_id, date, amount) tuples."""
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "amount"])
    df["order_date"] = pd.to_datetime(df["order_date"], format="mixed").astype("datetime64[ns]")
    df["amount"] = df["amount"].astype(float)
    if not with_order:
        df = df.drop(columns="order_id")
    return df
