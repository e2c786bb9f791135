"""Data that cannot identify a model fails with a clear ModelError, never with NaN results."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.clv._base import SummaryDataError
from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.pipeline import customer_value
from analysis.errors import InputError, ModelError, NotFittedError

MODELS = [BGNBD, ParetoNBD, ModifiedBGNBD]


def _frame(x, tx, T) -> pd.DataFrame:
    return pd.DataFrame({"frequency": x, "t_x": tx, "T": T})


CASES = {
    "no repeat customers": (_frame([0, 0, 0], [0.0, 0, 0], [10.0, 20, 30]), "no customer has bought more than once"),
    "single customer": (_frame([3], [5.0], [10.0]), "at least two are needed"),
    "all T zero": (_frame([0, 0], [0.0, 0.0], [0.0, 0.0]), "no customer has bought more than once|T = 0"),
    "t_x > T": (_frame([1, 2], [12.0, 3.0], [10.0, 10.0]), "t_x > T"),
    "negative frequency": (_frame([-1, 2], [0.0, 3.0], [10.0, 10.0]), "non-negative"),
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_unidentifiable_summaries(model, case: str) -> None:
    frame, message = CASES[case]
    with pytest.raises(ModelError, match=message) as info:
        model().fit(frame, time_unit="W")
    assert isinstance(info.value, InputError)
    assert isinstance(info.value, SummaryDataError)


@pytest.mark.parametrize("model", MODELS)
def test_all_t_zero_with_repeats_flagged(model) -> None:
    frame = _frame([0, 0, 0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
    with pytest.raises(ModelError, match=r"no customer has bought more than once yet.*use a longer history"):
        model().fit(frame, time_unit="W")


def test_two_customers_cannot_identify_four_parameters() -> None:
    with pytest.raises(ModelError, match=r"too few repeat customers \(n=1\)"):
        BGNBD().fit(_frame([1, 0], [2.0, 0.0], [10.0, 10.0]), time_unit="W")


def test_gamma_gamma_needs_two_repeat_customers() -> None:
    with pytest.raises(ModelError, match="fewer than two"):
        GammaGamma().fit(pd.DataFrame({"frequency": [0, 3], "monetary_value": [float("nan"), 10.0]}))


def test_constant_spend_is_not_identified() -> None:
    frame = pd.DataFrame({"frequency": [1, 2, 3, 4] * 5, "monetary_value": [10.0] * 20})
    with pytest.raises(ModelError, match=r"cannot pin down how much customers spend per order.*penalizer"):
        GammaGamma().fit(frame)


@pytest.mark.parametrize("model", [*MODELS, GammaGamma])
def test_unfitted_models_raise_not_fitted(model) -> None:
    with pytest.raises(NotFittedError, match=r"is not fitted yet: call fit\(summary\)"):
        model().summary()
    with pytest.raises(AttributeError, match=r"is not fitted yet: call fit\(summary\)"):
        model().to_json()


def test_time_unit_is_required() -> None:
    with pytest.raises(InputError, match="time unit"):
        BGNBD().fit(_frame([1, 0, 2], [2.0, 0.0, 5.0], [10.0, 10.0, 10.0]))


def test_customer_value_degrades_to_a_run_rate_for_tiny_logs() -> None:
    tx = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "order_date": pd.to_datetime(["2020-01-01", "2020-01-05"]),
            "amount": [5.0, 6.0],
        }
    )
    value = customer_value(tx, "2020-03-01")
    assert value.attrs["clv_method"] == "run_rate" and "repeat" in value.attrs["clv_reason"]
    assert value["clv"].tolist() == [0.0, 0.0] and value["spend_per_purchase"].tolist() == [5.0, 6.0]
