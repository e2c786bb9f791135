"""Rep scorecards and the team roll-up against a hand computation from the rows of tests/sales/conftest.py.

December 2017, data to 12-20 (20 of 31 days). Closed 12-01..12-20: Ann won O1 (1000, 65 days), lost O2; Bob won O5
(2500, 110 days); Cy won O6 (500, 14 days); Dee (teams file only) nothing. November 1..20: Ann won O8 (800), Cy lost O9.
Targets: Ann 2000 for December, Bob 6000 for Q4 (2000 a month), Dee 1000, Cy none.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.sales.inputs import load_sales
from analysis.sales.scorecard import rep_scorecard, team_rollup
from analysis.sales.windows import sales_window
from tests.sales.conftest import crm_frames, crm_params


@pytest.fixture(scope="module")
def card() -> pd.DataFrame:
    data = load_sales(crm_params(), crm_frames())
    return rep_scorecard(data, sales_window("2017-12", data.data_end)).set_index("sales_rep")


def test_closed_deals_win_rate_and_value(card: pd.DataFrame) -> None:
    assert list(card.index) == ["Bob", "Ann", "Cy", "Dee"]
    assert card["won_deals"].tolist() == [1, 1, 1, 0] and card["lost_deals"].tolist() == [0, 1, 0, 0]
    assert card.loc["Ann", "win_rate"] == 0.5 and card.loc["Bob", "win_rate"] == 1.0
    assert math.isnan(card.loc["Dee", "win_rate"])  # a rep with no deal: zeros, no rate
    assert card["won_value"].tolist() == [2500, 1000, 500, 0]
    assert card.loc["Ann", "avg_deal_size"] == 1000 and math.isnan(card.loc["Dee", "avg_deal_size"])
    assert card["median_cycle_days"].iloc[:3].tolist() == [110, 65, 14]


def test_targets_attainment_and_pace_in_a_partial_month(card: pd.DataFrame) -> None:
    assert card.loc["Ann", "target"] == 2000 and card.loc["Bob", "target"] == 2000  # a third of Q4
    assert math.isnan(card.loc["Cy", "target"]) and math.isnan(card.loc["Cy", "attainment"])  # no target row
    assert card.loc["Ann", "attainment"] == 0.5 and card.loc["Bob", "attainment"] == 1.25
    assert card.loc["Dee", "attainment"] == 0
    assert card["expected_attainment"].unique().tolist() == [pytest.approx(20 / 31)]
    assert card.loc["Ann", "pace"] == pytest.approx(0.5 * 31 / 20)
    assert card.loc["Bob", "pace"] == pytest.approx(1.25 * 31 / 20)


def test_rank_and_rank_change(card: pd.DataFrame) -> None:
    assert card["rank"].tolist() == [1, 2, 3, 4]
    # November 1..20: Ann 800 first; Bob, Cy, Dee 0 share rank 2
    assert card["previous_rank"].tolist() == [2, 1, 2, 2]
    assert card["rank_change"].tolist() == [1, -1, -1, -2]


def test_pipeline_new_customers_retention(card: pd.DataFrame) -> None:
    # open on 12-20: Bob's O3 (no date, open now), O4, O14; none has an amount
    assert card["open_deals"].tolist() == [3, 0, 0, 0] and card["open_pipeline_value"].sum() == 0
    # first won deal ever: Dyn (Bob, O5), Acme (Ann, O1; Bob's O15 was lost), Echo (Cy)
    assert card["new_customers_won"].tolist() == [1, 1, 1, 0]
    # Ann's customers won 2016-12-01..2017-11-30: Fox; Fox won nothing in December
    assert card.loc["Ann", "retention"] == 0 and math.isnan(card.loc["Bob", "retention"])


def test_team_rollup_by_manager(card: pd.DataFrame) -> None:
    teams = team_rollup(card.reset_index()).set_index("manager")
    assert teams.loc["Mia", ["reps", "won_deals", "lost_deals", "won_value", "target"]].tolist() == [
        2,
        2,
        1,
        3500,
        4000,
    ]
    assert teams.loc["Mia", "win_rate"] == pytest.approx(2 / 3) and teams.loc["Mia", "attainment"] == 3500 / 4000
    assert teams.loc["Max", "attainment"] == 0 and teams.loc["(none)", "won_value"] == 500  # Cy has no team row
    assert math.isnan(teams.loc["(none)", "attainment"])


def test_a_quarter_sums_monthly_targets() -> None:
    frames = crm_frames()
    frames["targets"] = pd.DataFrame({"rep": ["Ann"] * 3, "period": ["2017-10", "2017-11", "2017-12"],
                                      "target": ["100", "200", "300"]})  # fmt: skip
    data = load_sales(crm_params(), frames)
    card = rep_scorecard(data, sales_window("2017-Q4", data.data_end)).set_index("sales_rep")
    # Q4 up to 12-20: Ann won O8 (800) and O1 (1000)
    assert card.loc["Ann", "target"] == 600 and card.loc["Ann", "won_value"] == 1800
    assert card.loc["Ann", "expected_attainment"] == pytest.approx(81 / 92)


def test_the_export_date_ends_the_data() -> None:
    params = crm_params(funnel={"export_date": "2017-12-31"})
    data = load_sales(params, crm_frames())
    window = sales_window("2017-12", data.data_end)
    assert data.data_end == pd.Timestamp("2017-12-31") and not window.partial
    card = rep_scorecard(data, window).set_index("sales_rep")
    assert card.loc["Ann", "pace"] == card.loc["Ann", "attainment"] == 0.5
