"""The CRM sample generator: the funnel recovers its known conversion rates, durations and rep effects within their
sampling error, with and without stage history."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.params import parse_params
from analysis.sales.funnel import funnel
from analysis.sales.generate import generate_crm, sample_crm
from analysis.sales.inputs import load_sales
from analysis.sales.scorecard import rep_scorecard
from analysis.sales.windows import sales_window

COLUMNS = {
    "opportunity_id": "opportunity_id", "sales_rep": "sales_agent", "customer_id": "account", "stage": "deal_stage",
    "created_date": "engage_date", "close_date": "close_date", "amount": "close_value", "product": "product",
}  # fmt: skip


def _params(history: bool):
    data = {
        "periods": {"start": "2023-07", "end": "2023-07"},
        "opportunities": {"source": {"format": "csv", "path": "p.csv"}, "columns": COLUMNS},
        "sales_teams": {
            "source": {"format": "csv", "path": "t.csv"},
            "columns": {"sales_rep": "sales_agent", "manager": "manager", "region": "regional_office"},
        },
        "targets": {
            "source": {"format": "csv", "path": "g.csv"},
            "columns": {"sales_rep": "sales_agent", "period": "month"},
        },
        "funnel": {"stages": ["Prospecting", "Engaging", "Won"], "won": "Won", "lost": ["Lost"]},
    }
    if history:
        data["stage_history"] = {"source": {"format": "csv", "path": "h.csv"}}
    return parse_params(data)


@pytest.fixture(scope="module")
def sample():
    return generate_crm(start="2023-01-01", end="2023-12-31", deals_per_month=600, seed=3)


def test_stage_history_recovers_conversions_and_durations(sample) -> None:
    data = load_sales(_params(True), sample.frames())
    table = funnel(data, sales_window("2023-Q3", data.data_end), by=("all",)).table
    rows = table.loc[table["window"] == "period"].set_index("stage")
    truth = sample.truth
    for stage in ("Prospecting", "Engaging"):
        row = rows.loc[stage]
        exits = int(row["advanced"] + row["lost"])
        p = truth["conversion"][stage]
        se = math.sqrt(p * (1 - p) / exits)
        assert abs(row["conversion_to_next"] - p) < 4 * se, (stage, row["conversion_to_next"], p, se)
        # the median of log-normal whole days: standard error m σ √(2π) / (2 √n), plus rounding to whole days
        m = truth["median_days"][stage]
        se_m = m * 0.6 * math.sqrt(2 * math.pi) / (2 * math.sqrt(exits))
        assert abs(row["median_days_in_stage"] - m) <= 4 * se_m + 1, (stage, row["median_days_in_stage"], m)
        assert abs(row["p90_days_in_stage"] - truth["p90_days"][stage]) <= 8 * se_m + 2
    cumulative = truth["conversion"]["Prospecting"] * truth["conversion"]["Engaging"]
    assert abs(rows.loc["Engaging", "cumulative_conversion"] - cumulative) < 0.05


def test_current_stage_export_recovers_rep_win_probability(sample) -> None:
    data = load_sales(_params(False), sample.frames())
    assert not data.has_history
    card = rep_scorecard(data, sales_window("2023-Q3", data.data_end)).set_index("sales_rep")
    for rep, p in sample.truth["rep_win_probability"].items():
        n = card.loc[rep, "won_deals"] + card.loc[rep, "lost_deals"]
        se = math.sqrt(p * (1 - p) / n)
        assert abs(card.loc[rep, "win_rate"] - p) < 4 * se, (rep, card.loc[rep, "win_rate"], p, n)
    # better reps win more: the ranking of win rates follows the effects
    order = np.corrcoef(
        card.loc[list(sample.truth["rep_effects"]), "win_rate"], list(sample.truth["rep_effects"].values())
    )
    assert order[0, 1] > 0.8
    # targets as generated; the last rep has none; the rep with no deal is listed with zeros
    first = next(iter(sample.truth["monthly_target"]))
    assert card.loc[first, "target"] == 3 * sample.truth["monthly_target"][first]
    assert math.isnan(card.loc[list(sample.truth["rep_effects"])[-1], "target"])
    assert card.loc["Wilburn Farren", "won_deals"] == 0
    assert data.quality["sales_teams"]["suspected_typos"] == {"region": [["Centrl", "Central"]]}


def test_the_generator_is_reproducible_and_shaped_like_an_export(sample) -> None:
    again = generate_crm(start="2023-01-01", end="2023-12-31", deals_per_month=600, seed=3)
    assert again.opportunities.equals(sample.opportunities) and again.stage_history.equals(sample.stage_history)
    o = sample.opportunities
    is_open = o["deal_stage"].isin(["Prospecting", "Engaging"])
    assert (o.loc[o["deal_stage"] == "Prospecting", "engage_date"] == "").all()
    assert (o.loc[is_open, "close_value"] == "").all() and (
        o.loc[o["deal_stage"] == "Lost", "close_value"] == "0"
    ).all()
    assert (o.loc[is_open, "account"] == "").mean() > 0.2
    assert {"GTX Pro", "GTXPro", "won"} <= set(o["product"]) | set(o["deal_stage"])


def test_the_bundled_crm_sample_matches_the_transaction_sample() -> None:
    from analysis.data.sample import generate_transactions

    crm = sample_crm(customers=300, start="2024-01-01", end="2024-06-30", seed=5)
    tx = generate_transactions(customers=300, start="2024-01-01", end="2024-06-30", seed=5, dirty=False)
    owner = tx.drop_duplicates("customer_id").set_index("customer_id")["sales_rep"]
    won = crm["opportunities"].loc[crm["opportunities"]["customer_id"].isin(owner.index)]
    assert len(won) > 0 and (won["sales_rep"] == owner.reindex(won["customer_id"]).to_numpy()).all()
    assert set(crm["sales_teams"]["sales_rep"]) >= set(tx["sales_rep"])
