from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.value import (
    customer_lifetime_value,
    discount_rate_per_unit,
    predict_customers,
    totals_by_segment,
)
from analysis.errors import InputError, ModelError


def test_undiscounted_clv_is_purchases_times_spend(
    cdnow_bgnbd: BGNBD, cdnow_gamma_gamma: GammaGamma, cdnow_summary: pd.DataFrame
) -> None:
    pred = predict_customers(cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary, horizon=52, discount_rate=0.0)
    np.testing.assert_allclose(pred["clv"], pred["expected_purchases"] * pred["spend_per_purchase"], rtol=1e-9)
    # named by what it holds: spend over the horizon is expected purchases x spend per purchase
    np.testing.assert_allclose(pred["expected_spend_horizon"], pred["expected_purchases"] * pred["spend_per_purchase"])
    assert list(pred.columns) == [
        "p_alive",
        "expected_purchases",
        "spend_per_purchase",
        "expected_spend_horizon",
        "clv",
    ]
    assert pred.index.equals(cdnow_summary.index) and pred.index.name == "customer_id"


def test_discounting_and_horizon(
    cdnow_bgnbd: BGNBD, cdnow_gamma_gamma: GammaGamma, cdnow_summary: pd.DataFrame
) -> None:
    args = (cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary)
    plain = customer_lifetime_value(*args, horizon=52, discount_rate=0.0)
    disc = customer_lifetime_value(*args, horizon=52, discount_rate=0.01)
    longer = customer_lifetime_value(*args, horizon=104, discount_rate=0.01)
    assert (disc < plain).all() and (longer > disc).all() and (disc >= 0).all()
    # one period: discounting is a plain factor
    one = customer_lifetime_value(*args, horizon=1, discount_rate=0.05)
    one_plain = customer_lifetime_value(*args, horizon=1, discount_rate=0.0)
    np.testing.assert_allclose(one, one_plain / 1.05)
    # a fractional horizon ends at the horizon
    frac = cdnow_bgnbd.discounted_expected_purchases(cdnow_summary, 2.5, 0.0)
    np.testing.assert_allclose(frac, cdnow_bgnbd.conditional_expected_purchases(2.5, cdnow_summary), rtol=1e-9)


def test_discount_rate_conversion() -> None:
    assert discount_rate_per_unit(0.10, "D") == pytest.approx(1.1 ** (1 / 365.25) - 1)
    assert (1 + discount_rate_per_unit(0.10, "W")) ** (365.25 / 7) == pytest.approx(1.10)
    assert (1 + discount_rate_per_unit(0.10, "M")) ** 12 == pytest.approx(1.10)


def test_time_unit_mismatch_is_refused(
    cdnow_bgnbd: BGNBD, cdnow_gamma_gamma: GammaGamma, cdnow_summary: pd.DataFrame
) -> None:
    days = cdnow_summary.copy()
    days.attrs["time_unit"] = "D"
    with pytest.raises(ModelError, match="time unit"):
        customer_lifetime_value(cdnow_bgnbd, cdnow_gamma_gamma, days, horizon=52)
    with pytest.raises(InputError, match="horizon"):
        customer_lifetime_value(cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary, horizon=0)


def test_totals_by_segment(cdnow_bgnbd: BGNBD, cdnow_gamma_gamma: GammaGamma, cdnow_summary: pd.DataFrame) -> None:
    pred = predict_customers(cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary, horizon=52)
    segments = pd.Series(np.where(cdnow_summary["frequency"] > 0, "repeat", "one-off"), index=cdnow_summary.index)
    segments = segments.iloc[:-10]  # ten customers without a segment
    table = totals_by_segment(pred, segments)
    assert table["customers"].sum() == len(pred)
    assert table.loc["(unsegmented)", "customers"] == 10
    assert table["clv_total"].sum() == pytest.approx(pred["clv"].sum())
    assert table["expected_purchases_share"].sum() == pytest.approx(1.0)
    assert table.loc["repeat", "clv_mean"] > table.loc["one-off", "clv_mean"]
