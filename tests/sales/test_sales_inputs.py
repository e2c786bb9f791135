"""CRM inputs: mapping, quarantine with reasons, nothing lost, names matched across files, clear errors."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.errors import InputError, MissingColumnError, ParamsError
from analysis.params import parse_params
from analysis.sales.inputs import load_sales, parse_period
from tests.conftest import examples
from tests.sales.conftest import PIPELINE_MAP, crm_frames, crm_params, history_frames, history_params


def test_current_stage_export_quarantines_with_reasons_and_reconciles() -> None:
    data = load_sales(crm_params(), crm_frames())
    q = data.quality["opportunities"]
    assert (q["rows_in"], q["rows_clean"], q["rows_quarantined"]) == (16, 10, 6)
    assert q["reasons"] == {
        "duplicate_row": 1, "duplicate_id": 1, "missing_sales_rep": 1, "unknown_stage": 1,
        "missing_close_date": 1, "bad_amount": 1,
    }  # fmt: skip
    quarantine = data.quarantine["opportunities"]
    # the raw row, verbatim, with its position and reason
    assert dict(zip(quarantine["opportunity_id"], quarantine["reason"], strict=True)) == {
        "O7": "unknown_stage", "O10": "missing_sales_rep", "O11": "missing_close_date", "O12": "bad_amount",
        "O1": "duplicate_row", "O5": "duplicate_id",
    }  # fmt: skip
    assert quarantine.loc[quarantine["opportunity_id"] == "O12", "close_value"].item() == "abc"
    assert sorted(quarantine["row_id"]) == [6, 9, 10, 11, 12, 13]
    opps = data.opportunities
    assert sorted(opps.index) == sorted(["O1", "O2", "O3", "O4", "O5", "O6", "O8", "O9", "O14", "O15"])
    # the first O5 row is kept; 'won' is the Won stage; GTXPro and GTX Pro are one product
    assert opps.loc["O5", "amount"] == 2500 and opps.loc["O6", "stage"] == "Won"
    assert opps.loc["O2", "product"] == "GTX Pro"
    # an open deal without account or engage date is kept
    assert pd.isna(opps.loc["O3", "customer_id"]) and pd.isna(opps.loc["O3", "created_date"])
    assert pd.isna(opps.loc["O4", "customer_id"])  # '(blank)' is no account
    assert (q["without_created_date"], q["without_account"], q["open"]) == (1, 2, 3)
    assert data.data_end == pd.Timestamp("2017-12-20") and data.data_start == pd.Timestamp("2016-11-01")
    assert not data.has_history


def test_an_alias_fixes_a_stage_typo() -> None:
    params = crm_params(opportunities={"aliases": {"stage": {"Engagng": "Engaging"}}})
    data = load_sales(params, crm_frames())
    assert data.opportunities.loc["O7", "stage"] == "Engaging"
    assert data.quality["opportunities"]["rows_quarantined"] == 5


def test_suspected_typos_are_listed() -> None:
    frames = crm_frames()
    frames["sales_teams"].loc[len(frames["sales_teams"])] = ["Eve", "Max", "Wets"]
    frames["sales_teams"].loc[len(frames["sales_teams"])] = ["Fay", "Max", "West"]
    data = load_sales(crm_params(), frames)
    assert data.quality["sales_teams"]["suspected_typos"] == {"team": [["Wets", "West"]]}


def test_stage_history_is_cleaned() -> None:
    data = load_sales(history_params(), history_frames())
    q = data.quality["stage_history"]
    assert (q["rows_in"], q["rows_clean"], q["rows_quarantined"]) == (20, 18, 2)
    assert q["reasons"] == {"unknown_opportunity": 1, "bad_date": 1}
    assert q["repeated_stage_entries"] == 1  # H6 re-entered Proposal: no change
    h = data.stage_history
    assert h.loc[h["opportunity_id"] == "H5", "stage"].tolist() == ["Lead", "Qualified"]  # alias Qualifed
    assert h.loc[h["opportunity_id"] == "H2", "stage"].tolist() == ["Lead", "Qualified", "Lost"]
    assert h["entered_at"].min() == pd.Timestamp("2024-01-10")
    assert data.data_end == pd.Timestamp("2024-04-05") and data.has_history


def test_targets_periods_months_and_quarters() -> None:
    data = load_sales(crm_params(), crm_frames())
    assert data.targets["period"].tolist() == ["2017-12", "2017-Q4", "2017-12"]
    assert [parse_period(v) for v in ("2017-12", "2017-12-01", "2017Q4", "2017-q4", "2017-13", "Dec", None)] == [
        "2017-12", "2017-12", "2017-Q4", "2017-Q4", None, None, None,
    ]  # fmt: skip


def test_a_missing_column_names_the_input_and_the_fix() -> None:
    frames = crm_frames()
    frames["opportunities"] = frames["opportunities"].drop(columns="deal_stage")
    with pytest.raises(MissingColumnError, match=r"opportunities .*'deal_stage' \(mapped to stage\).*opportunities"):
        load_sales(crm_params(), frames)


def test_params_errors_name_the_key() -> None:
    base = {"periods": {"start": "2017-12", "end": "2017-12"}}
    opps = {"source": {"format": "csv", "path": "x.csv"}, "columns": PIPELINE_MAP}
    with pytest.raises(ParamsError, match="needs a 'funnel' block"):
        parse_params({**base, "opportunities": opps})
    with pytest.raises(ParamsError, match="must be the last"):
        parse_params({**base, "opportunities": opps, "funnel": {"stages": ["Won", "Engaging"], "won": "Won"}})
    with pytest.raises(ParamsError, match="also a stage"):
        parse_params({**base, "opportunities": opps, "funnel": {"stages": ["A", "Won"], "won": "Won", "lost": ["A"]}})
    with pytest.raises(ParamsError, match=r"unknown canonical column\(s\) \['deal_size'\]"):
        parse_params(
            {**base, "opportunities": {**opps, "columns": {"deal_size": "x"}}, "funnel": {"stages": ["A"], "won": "W"}}
        )
    with pytest.raises(ParamsError, match="without 'opportunities'"):
        parse_params({**base, "sales_teams": {"source": {"format": "csv", "path": "t.csv"}}})
    with pytest.raises(ParamsError, match="unknown key"):
        parse_params({**base, "opportunities": opps, "funnel": {"stages": ["A"], "won": "W", "stalled": 3}})


def test_no_usable_deal_is_an_error_naming_the_reasons() -> None:
    frames = crm_frames()
    frames["opportunities"]["deal_stage"] = "Closed"
    with pytest.raises(InputError, match=r"none of its 16 rows is a usable deal.*unknown_stage"):
        load_sales(crm_params(), frames)


@given(
    st.lists(
        st.tuples(
            *[
                st.one_of(st.text(max_size=6), st.sampled_from(["Won", "Lost", "Engaging", "2017-12-01", "", "-1"]))
                for _ in range(8)
            ]
        ),
        min_size=1,
        max_size=12,
    )
)
def test_any_rows_end_clean_or_quarantined(rows: list[tuple[str, ...]]) -> None:
    frames = crm_frames()
    frames["opportunities"] = pd.concat(
        [frames["opportunities"], pd.DataFrame(rows, columns=frames["opportunities"].columns)], ignore_index=True
    )
    data = load_sales(crm_params(), frames)
    q = data.quality["opportunities"]
    assert q["rows_in"] == len(frames["opportunities"]) == q["rows_clean"] + q["rows_quarantined"]
    assert len(data.opportunities) == q["rows_clean"] and data.opportunities.index.is_unique
    assert sum(q["reasons"].values()) == q["rows_quarantined"] == len(data.quarantine["opportunities"])


test_any_rows_end_clean_or_quarantined = __import__("hypothesis").settings(max_examples=examples(30))(
    test_any_rows_end_clean_or_quarantined
)
