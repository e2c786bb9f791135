"""Fixtures of the CLV tests: the CDNOW sample (Fader & Hardie) and models fitted on it once."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.summary import summary_from_transactions
from analysis.datasets import load_cdnow_transactions

CALIBRATION_END = "1997-09-30"
HOLDOUT_END = "1998-06-30"


@pytest.fixture(scope="session")
def cdnow_transactions() -> pd.DataFrame:
    """CDNOW sample (bundled) as a clean log: customer_id = sample id (0001..2357), one row per record."""
    return load_cdnow_transactions()


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
