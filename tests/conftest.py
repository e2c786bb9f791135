"""Shared fixtures: the CDNOW sample, small synthetic logs and hand-made edge cases."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
CDNOW = SHARED / "data" / "cdnow" / "CDNOW_sample.txt"
CDNOW_MAPPING = {"customer_id": "sample_id", "order_date": "date", "amount": "dollars", "quantity": "cds"}
CDNOW_NAMES = ["cohort_id", "sample_id", "date", "cds", "dollars"]

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def cdnow_path() -> Path:
    if not CDNOW.exists():
        pytest.fail(f"{CDNOW} is missing: the tests read the CDNOW sample from ../shared/data/cdnow")
    return CDNOW


@pytest.fixture(scope="session")
def cdnow_raw(cdnow_path: Path) -> pd.DataFrame:
    from analysis.data.io import read_transactions
    from analysis.params import SourceParams

    return read_transactions(
        SourceParams(format="csv", path=str(cdnow_path), sep=r"\s+", header=False, names=CDNOW_NAMES)
    )


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
