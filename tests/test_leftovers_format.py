"""A figure that rounds to zero is shown without a sign: "0.0%", never "-0.0%" (tables, charts and sentences share
:mod:`analysis.text.format`)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.report import tables
from analysis.report.experiment import PERCENT_COLUMNS, response_table
from analysis.text import format as fmt


@pytest.mark.parametrize("value", [-0.0001, -0.0, 0.0004, -0.00049])
def test_percent_change_points_rounding_to_zero_carry_no_sign(value: float) -> None:
    # -0.0001 = -0.01 %, which rounds to 0.0 % at one decimal
    assert fmt.percent(value) == "0.0%"
    assert fmt.change(value) == "0.0%"
    assert fmt.points(value) == "0.0 pt" and fmt.points(value, "zh") == "0.0 个百分点"


def test_figures_that_do_not_round_to_zero_keep_their_sign() -> None:
    assert fmt.percent(-0.0006) == "-0.1%" and fmt.percent(0.123) == "12.3%"
    assert fmt.change(-0.0006) == "-0.1%" and fmt.change(0.2) == "+20.0%"
    assert fmt.points(-0.0006) == "-0.1 pt"


def test_experiment_table_shows_an_uplift_that_rounds_to_zero_as_0_0_percent() -> None:
    # treated respond 2,000 of 10,000 = 20.00 %, control 2,001 of 10,000 = 20.01 %: uplift -0.01 % -> "0.0%"
    results = pd.DataFrame(
        {
            "action": ["win_back"],
            "treated_customers": [10_000],
            "control_customers": [10_000],
            "share_contacted": [1.0],
            "treated_response_rate": [2_000 / 10_000],
            "control_response_rate": [2_001 / 10_000],
            "uplift": [2_000 / 10_000 - 2_001 / 10_000],
            "uplift_ci_low": [-0.011],
            "uplift_ci_high": [0.011],
            "uplift_reached": [2_000 / 10_000 - 2_001 / 10_000],
            "assumed_uplift": [0.05],
            "power": [0.9],
            "reliable": [True],
        }
    )
    html = tables.styled(response_table(results), pct=PERCENT_COLUMNS, language="en").to_html()
    assert "-0.0%" not in html
    assert html.count(">0.0%<") == 2  # uplift and uplift on those reached
    assert "20.0%" in html and "-1.1%" in html and "+" not in html.split("<tbody>")[1]


def test_chart_ticks_at_a_float_zero_carry_no_sign() -> None:
    from analysis.report.plots.style import TickFormatter

    # np.arange(-0.3, 0.3, 0.1) gives 5.55e-17 where the axis crosses zero
    assert TickFormatter("percent").format_ticks([-0.002, -5.55e-17, 0.002]) == ["-0.2%", "0.0%", "0.2%"]
    assert TickFormatter("number").format_ticks([-1.0, -1e-16, 1.0]) == ["-1", "0", "1"]


def test_the_model_checks_error_keeps_its_sign_however_large_and_never_reads_minus_zero() -> None:
    from analysis.text import format as fmt
    from analysis.text import t

    # notebook 02: a model predicted 1,000 repeat purchases where 1,000.2 happened (-0.02 %), or 31 where 2 did
    assert fmt.signed_percent(-0.0002) == "0.0%"
    assert fmt.signed_percent(14.5) == "+1450.0%"  # not "new": an error is not a growth
    assert fmt.signed_percent(-0.032, "zh") == "-3.2%"
    assert fmt.signed_percent(float("nan")) == fmt.MISSING
    line = t(
        "notebook.scoring.check_run_rate", "en", cal="2024-09-30", p=1000, pct=fmt.signed_percent(-0.0002), mae=0.5
    )
    assert "(0.0%;" in line and "-0.0" not in line


def test_holdout_errors_carry_the_total_error_as_a_fraction_for_the_reports() -> None:
    from analysis.clv.validation import errors_of

    # predicted 3 + 1 = 4 repeat purchases where 2 + 3 = 5 happened: error -1, -20 % of what happened
    e = errors_of(pd.DataFrame({"expected": [3.0, 1.0], "actual": [2.0, 3.0]}))
    assert e["total_error"] == -1.0 and e["total_error_share"] == -0.2 and e["total_error_pct"] == -20.0
    assert math.isnan(errors_of(pd.DataFrame({"expected": [1.0], "actual": [0.0]}))["total_error_share"])
