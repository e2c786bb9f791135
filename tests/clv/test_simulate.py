from __future__ import annotations

import numpy as np
import pytest

from analysis.clv.bgnbd import BGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.simulate import (
    simulate_bgnbd_customers,
    simulate_bgnbd_summary,
    simulate_pareto_nbd_customers,
)
from analysis.errors import InputError

BG = (0.243, 4.414, 0.793, 2.426)
PN = (0.553, 10.578, 0.606, 11.669)


def _model(cls, params):
    return cls.from_dict(
        {
            "model": cls.model_name,
            "time_unit": "W",
            "params": dict(zip(cls.param_names, params, strict=True)),
            "standard_errors": dict.fromkeys(cls.param_names, 1.0),
        }
    )


@pytest.mark.parametrize(
    ("sim", "cls", "params"),
    [(simulate_bgnbd_customers, BGNBD, BG), (simulate_pareto_nbd_customers, ParetoNBD, PN)],
)
def test_mean_repeat_purchases_match_the_model(sim, cls, params) -> None:
    times = sim(40000, *params, T=39.0, seed=11)
    assert (times.groupby("customer_id")["t"].min() == 0).all()
    assert times["t"].between(0, 39.0).all()
    repeats = (times["t"] > 0).sum() / 40000
    expected = _model(cls, params).expected_purchases_new_customer(39.0)
    assert repeats == pytest.approx(expected, rel=0.05)


def test_summary_simulator_is_consistent_and_seeded() -> None:
    a = simulate_bgnbd_summary(1000, *BG, T=39.0, seed=1)
    b = simulate_bgnbd_summary(1000, *BG, T=39.0, seed=1)
    assert a.equals(b)
    assert (a["t_x"] <= a["T"]).all() and ((a["frequency"] == 0) == (a["t_x"] == 0)).all()
    with pytest.raises(InputError, match=r"simulation parameter r must be positive, got -1\.0"):
        simulate_bgnbd_summary(10, -1.0, 1.0, 1.0, 1.0, T=1.0)
    assert np.isclose(a["T"], 39.0).all()
