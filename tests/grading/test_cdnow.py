"""Grading on the real CDNOW log: every customer's reasons agree with the grades the kit gave, and one customer's
reason is recomputed by hand from the raw rows of the window the report names."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis import stages
from analysis.grading.table import grading_rules, grading_table
from analysis.params import parse_params

PERIOD = "1997-12"


@pytest.fixture(scope="module")
def graded(cdnow_clean: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    no_clusters = {"cluster": {"enabled": False}}
    params = parse_params({"periods": {"start": PERIOD, "end": PERIOD}, "segmentation": no_clusters})
    window = stages.Window(PERIOD, cdnow_clean["order_date"].min(), cdnow_clean["order_date"].max())
    tx = cdnow_clean[cdnow_clean["order_date"] <= window.as_of].reset_index(drop=True)
    scored = stages.score(tx, params, window.as_of, window.start, clv_check=False, data_start=window.data_start)
    rules = grading_rules(params, scored.cut_points, window.start, window.as_of, window.next[1], scored.left_censored)
    table = grading_table(scored.customers, tx, rules, "en", "$")
    return table, scored.customers, tx


def test_every_cdnow_customer_has_reasons_that_agree_with_the_grades(graded) -> None:
    table, customers, _ = graded
    assert len(table) == len(customers) > 1000
    for col in ("segment", "value_class", "abc_class", "lifecycle_stage"):
        assert (table[col] == customers[col]).all(), col
    for col in ("reason", "move_up", "reason_zh", "move_up_zh", "lifecycle_stage_reason", "abc_class_reason"):
        assert table[col].str.len().gt(0).all(), col
    # the stage named first in each lifecycle reason is the customer's stage
    first = table["lifecycle_stage_reason"].str.split(":").str[0].str.lower()
    assert (first == table["lifecycle_stage"]).all()


def test_one_customers_reason_by_hand_from_the_raw_rows(graded) -> None:
    table, _, tx = graded
    cid = table.sort_values("monetary", ascending=False).index[0]
    rows = tx[tx["customer_id"].astype(str) == str(cid)]
    last = rows["order_date"].max().normalize()
    days = (pd.Timestamp("1997-12-31") - last).days
    # CDNOW has no order id: one order per customer and purchase day
    orders = rows.loc[rows["amount"] >= 0, "order_date"].dt.normalize().nunique()
    spend = rows["amount"].sum()
    reason = table.at[cid, "segment_reason"]
    assert f"(last purchase {days} days ago)" in reason
    assert f"({orders} orders)" in reason
    assert f"(${spend:,.0f} spent)" in reason
