"""Fixtures of the CLV tests: the CDNOW sample (Fader & Hardie) and models fitted on it once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.summary import summary_from_transactions

CDNOW = Path(__file__).resolve().parents[3] / "shared" / "data" / "cdnow" / "CDNOW_sample.txt"
CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """CDNOW sample as a clean log: customer_id = sample id (1..2357), one row per record."""
    if not CDNOW.exists():
        pytest.skip(f"CDNOW sample not found at {CDNOW}")
    raw = pd.read_csv(
        CDNOW,
        sep=r"\s+",
        header=None,
        names=["cohort_id", "customer_id", "date", "cds", "amount"],
        dtype={"cohort_id": str, "customer_id": str, "date": str},
    )
    raw["order_date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    return raw[["customer_id", "order_date", "amount", "cds"]]


@pytest.fixture(scope="session")
def cdnow_summary(cdnow_transactions: pd.DataFrame) -> pd.DataFrame:
    return summary_from_transactions(cdnow_transactions, CALIBRATION_END, HOLDOUT_END, "W")


@pytest.fixture(scope="session")
def cdnow_bgnbd(cdnow_summary: pd.DataFrame) -> BGNBD:
    return BGNBD().fit(cdnow_summary)


@pytest.fixture(scope="session")
def cdnow_pareto(cdnow_summary: pd.DataFrame) -> ParetoNBD:
    return ParetoNBD().fit(cdnow_summary)


@pytest.fixture(scope="session")
def cdnow_gamma_gamma(cdnow_summary: pd.DataFrame) -> GammaGamma:
    return GammaGamma().fit(cdnow_summary)
