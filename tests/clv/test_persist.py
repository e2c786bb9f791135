from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.persist import load_model, model_from_dict, save_model
from analysis.errors import InputError


@pytest.mark.parametrize("fixture", ["cdnow_bgnbd", "cdnow_pareto"])
def test_json_round_trip_keeps_predictions(fixture: str, request, cdnow_summary: pd.DataFrame, tmp_path) -> None:
    model = request.getfixturevalue(fixture)
    path = save_model(model, tmp_path / "model.json")
    state = json.loads(path.read_text())
    assert state["time_unit"] == "W" and set(state["params"]) == set(model.param_names)
    loaded = load_model(path)
    assert type(loaded) is type(model) and loaded.time_unit_ == "W"
    pd.testing.assert_series_equal(loaded.params_, model.params_)
    pd.testing.assert_frame_equal(loaded.confidence_intervals_, model.confidence_intervals_)
    pd.testing.assert_series_equal(
        loaded.conditional_expected_purchases(10, cdnow_summary),
        model.conditional_expected_purchases(10, cdnow_summary),
    )


def test_gamma_gamma_round_trip(cdnow_gamma_gamma: GammaGamma) -> None:
    loaded = GammaGamma.from_json(cdnow_gamma_gamma.to_json())
    assert loaded.independence_corr_ == pytest.approx(cdnow_gamma_gamma.independence_corr_)
    assert loaded.population_mean_spend() == pytest.approx(cdnow_gamma_gamma.population_mean_spend())


def test_wrong_or_broken_files_are_rejected(cdnow_bgnbd: BGNBD, tmp_path) -> None:
    with pytest.raises(InputError, match="not 'pareto_nbd'"):
        ParetoNBD.from_json(cdnow_bgnbd.to_json())
    with pytest.raises(InputError, match="unknown CLV model"):
        model_from_dict({"model": "pickle"})
    broken = cdnow_bgnbd.to_dict()
    del broken["params"]["b"]
    with pytest.raises(InputError, match="incomplete"):
        BGNBD.from_dict(broken)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="cannot read"):
        load_model(bad)
    assert np.isfinite(BGNBD.from_dict(cdnow_bgnbd.to_dict()).log_likelihood_)
