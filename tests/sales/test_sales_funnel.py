"""The funnel and stalled deals, every figure against a hand computation from the rows of tests/sales/conftest.py."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.errors import ParamsError
from analysis.sales.funnel import funnel, loss_sentence
from analysis.sales.inputs import load_sales
from analysis.sales.stalled import stalled_deals
from analysis.sales.windows import sales_window
from tests.sales.conftest import crm_frames, crm_params, history_frames, history_params


def _rows(table: pd.DataFrame, window: str = "period", by: str = "all", group: str = "all") -> pd.DataFrame:
    part = table.loc[(table["window"] == window) & (table["by"] == by) & (table["group"] == group)]
    return part.set_index("stage")


@pytest.fixture(scope="module")
def history():
    data = load_sales(history_params(), history_frames())
    return data, funnel(data, sales_window("2024-03", data.data_end))


def test_stage_history_funnel_by_hand(history) -> None:
    _, result = history
    t = _rows(result.table)
    # Lead: entered H2 03-05, H3 03-02, H5 03-28; left in March: H1 adv (10 d), H2 adv (3 d), H3 adv (10 d),
    # H4 lost (65 d); H5 still in Lead on 03-31
    lead = t.loc["Lead"]
    assert (lead["entered"], lead["advanced"], lead["lost"], lead["open"]) == (3, 3, 1, 1)
    assert lead["conversion_to_next"] == 0.75 and lead["cumulative_conversion"] == 0.75
    assert lead["median_days_in_stage"] == 10 and lead["p90_days_in_stage"] == pytest.approx(10 + 0.7 * 55)
    # Qualified: entered H1 03-01, H2 03-08, H3 03-12; left: H1 adv (9 d), H2 lost (12 d); H3 open on 03-31
    q = t.loc["Qualified"]
    assert (q["entered"], q["advanced"], q["lost"], q["open"]) == (3, 1, 1, 1)
    assert q["conversion_to_next"] == 0.5 and q["cumulative_conversion"] == 0.375
    assert q["median_days_in_stage"] == 10.5 and q["p90_days_in_stage"] == pytest.approx(11.7)
    # Proposal: entered H1 03-10; left: H1 adv (15 d), H6 adv to Won on its close day 03-03 (12 d from 02-20; its
    # second Proposal row on 02-25 is no change)
    p = t.loc["Proposal"]
    assert (p["entered"], p["advanced"], p["lost"], p["open"]) == (1, 2, 0, 0)
    assert p["conversion_to_next"] == 1.0 and p["cumulative_conversion"] == 0.375
    assert p["median_days_in_stage"] == 13.5 and p["p90_days_in_stage"] == pytest.approx(14.7)
    assert t.loc["Won", "entered"] == 2 and pd.isna(t.loc["Won", "advanced"])
    assert list(t.index) == ["Lead", "Qualified", "Proposal", "Won"]
    assert result.has_history and result.without_history == 1  # H7


def test_stage_history_windows_and_headline(history) -> None:
    _data, result = history
    c = result.closed
    assert (c.loc["period", "first"], c.loc["period", "last"]) == (pd.Timestamp("2024-03-01").date(),
                                                                    pd.Timestamp("2024-03-31").date())  # fmt: skip
    # closed in March: won H1 (03-25, 34 days from 02-20), H6 (03-03, 31 days); lost H2, H4
    assert (c.loc["period", "won"], c.loc["period", "lost"], c.loc["period", "win_rate"]) == (2, 2, 0.5)
    assert c.loc["period", "median_cycle_days"] == 32.5 and c.loc["period", "won_value"] == 400
    # February: only H6 left Qualified (forward); the year before is before the data: not reported
    feb = _rows(result.table, "previous")
    assert (feb.loc["Qualified", "advanced"], feb.loc["Qualified", "lost"]) == (1, 0)
    assert not c.loc["year_ago", "covered"] and math.isnan(c.loc["year_ago", "win_rate"])
    assert (result.table["window"] == "year_ago").sum() == 0
    b = result.biggest_loss
    assert (b["stage"], b["next_stage"], b["lost_share"], b["lost_share_previous"]) == ("Qualified", "Proposal", 0.5, 0)
    en = loss_sentence(result, "en")
    assert en.startswith("Most deals are lost between Qualified and Proposal: 50.0% lost, 0.0% the period before")
    assert "Qualified" in loss_sentence(result, "zh") and "50.0%" in loss_sentence(result, "zh")


def test_funnel_per_rep(history) -> None:
    _, result = history
    a = _rows(result.table, by="sales_rep", group="A")  # H1, H2, H6
    assert (a.loc["Lead", "advanced"], a.loc["Lead", "lost"], a.loc["Qualified", "lost"]) == (2, 0, 1)
    b = _rows(result.table, by="sales_rep", group="B")  # H3, H4, H5 (H7 has no history)
    assert (b.loc["Lead", "entered"], b.loc["Lead", "advanced"], b.loc["Lead", "lost"]) == (2, 1, 1)


def test_current_stage_only_funnel_measures_only_won_vs_lost() -> None:
    data = load_sales(crm_params(), crm_frames())
    window = sales_window("2017-12", data.data_end)
    assert window.partial and window.current.text() == "2017-12-01..2017-12-20"
    assert window.previous.text() == "2017-11-01..2017-11-20" and window.year_ago.text() == "2016-12-01..2016-12-20"
    result = funnel(data, window)
    t = _rows(result.table)
    row = t.loc["Prospecting → Won"]
    # created 12-01..12-20: O6; closed: won O1, O5, O6, lost O2; open on 12-20: O3 (no date, open now), O4, O14
    assert (row["entered"], row["advanced"], row["lost"], row["open"]) == (1, 3, 1, 3)
    assert row["conversion_to_next"] == 0.75 == row["cumulative_conversion"]
    # created-to-close of the won deals: 65, 110, 14 days
    assert row["median_days_in_stage"] == 65 and row["p90_days_in_stage"] == pytest.approx(65 + 0.8 * 45)
    assert (t.loc["Prospecting", "open"], t.loc["Engaging", "open"]) == (1, 2)
    assert t.loc[["Prospecting", "Engaging"], ["entered", "advanced", "lost"]].isna().all().all()
    assert not result.has_history and result.biggest_loss is None
    sentence = loss_sentence(result, "en")
    assert sentence.startswith("Only won versus lost and created-to-close can be measured")
    assert "25.0% of the deals closed in the period were lost (50.0% the period before); median 65 days" in sentence
    assert "只能衡量赢单与丢单" in loss_sentence(result, "zh")
    # the period before (11-01..11-20): O8 won, O9 lost; the year before: O15 lost on 2016-12-05
    ago = _rows(result.table, "year_ago").loc["Prospecting → Won"]
    assert (ago["advanced"], ago["lost"]) == (0, 1)
    # products: GTXPro counted as GTX Pro
    assert set(result.table.loc[result.table["by"] == "product", "group"]) == {"GTX Pro", "MG Special"}


def test_a_month_without_closes() -> None:
    data = load_sales(crm_params(), crm_frames())
    result = funnel(data, sales_window("2017-10", data.data_end))
    row = _rows(result.table).loc["Prospecting → Won"]
    assert (row["advanced"], row["lost"]) == (0, 0) and math.isnan(row["conversion_to_next"])
    assert row["entered"] == 2  # O1, O9 engaged in October
    assert "Prospecting" not in _rows(result.table).index  # the current stage is not known at October's end


def test_a_period_after_the_data_is_an_error() -> None:
    data = load_sales(crm_params(), crm_frames())
    with pytest.raises(ParamsError, match="starts after the data end"):
        sales_window("2018-01", data.data_end)
    with pytest.raises(ParamsError, match="YYYY-MM"):
        sales_window("Dec 2017", data.data_end)


def test_stalled_deals_with_history() -> None:
    data = load_sales(history_params(min_exits=3), history_frames())
    s = stalled_deals(data, pd.Timestamp("2024-03-31"), min_exits=3)
    # Qualified exits by 03-31: 9, 12, 10 days -> p90 11.6; H3 in Qualified since 03-12 (19 days) is stalled.
    # Lead exits: 10, 3, 10, 65, 9 -> p90 43; H5 in Lead since 03-28 (3 days) is not. H7 has no history.
    assert s.thresholds["Qualified"] == pytest.approx(11.6) and s.thresholds["Lead"] == pytest.approx(43)
    assert s.deals["opportunity_id"].tolist() == ["H3"]
    assert s.deals.iloc[0][["stage", "age_days"]].tolist() == ["Qualified", 19]
    fixed = stalled_deals(data, pd.Timestamp("2024-03-31"), stalled_days=2)
    assert fixed.deals["opportunity_id"].tolist() == ["H3", "H5"]  # 19 - 2 before 3 - 2


def test_stalled_deals_without_history() -> None:
    data = load_sales(crm_params(), crm_frames())
    s = stalled_deals(data, data.data_end, stalled_days=30)
    # open on 12-20: O4 (engaged 11-20: 30 days, not over 30), O14 (06-01: 202 days); O3 has no date
    assert s.deals["opportunity_id"].tolist() == ["O14"] and s.deals["age_days"].tolist() == [202]
    assert s.not_aged == 1
    # p90 of the won deals' created-to-close days (80, 65, 110, 14 by 12-20): too few under min_exits=10
    assert stalled_deals(data, data.data_end).deals.empty
