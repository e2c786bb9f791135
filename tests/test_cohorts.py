"""Cohort counts and retention, hand-computed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.customers.cohorts import cohort_table
from analysis.errors import InputError


@pytest.fixture
def tx() -> pd.DataFrame:
    rows = [
        ("a", "2024-01-05", 10.0),
        ("a", "2024-01-31", 5.0),  # still month 0
        ("a", "2024-02-01", 20.0),  # month 1
        ("a", "2024-04-10", 7.0),  # month 3
        ("b", "2024-01-20", 30.0),
        ("b", "2024-03-02", 8.0),  # month 2
        ("c", "2024-01-25", 1.0),
        ("d", "2024-02-14", 50.0),
        ("d", "2024-03-01", 5.0),  # month 1 of the Feb cohort
        ("e", "2024-02-28", 4.0),
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    return df


def test_counts_and_retention(tx: pd.DataFrame) -> None:
    ct = cohort_table(tx)
    jan, feb = pd.Period("2024-01", "M"), pd.Period("2024-02", "M")
    assert ct.sizes.to_dict() == {jan: 3, feb: 2}
    assert ct.counts.loc[jan].tolist() == [3, 1, 1, 1]
    assert ct.retention.loc[jan].tolist() == pytest.approx([1, 1 / 3, 1 / 3, 1 / 3])
    feb_ret = ct.retention.loc[feb]
    assert feb_ret.iloc[:3].tolist() == pytest.approx([1.0, 0.5, 0.0])
    assert np.isnan(feb_ret.iloc[3])  # May not observed yet (last purchase is in April)
    assert ct.revenue.loc[jan, 0] == 46.0 and ct.revenue.loc[jan, 1] == 20.0
    assert ct.counts.columns.name == "months_since_first"


def test_as_of_and_max_months(tx: pd.DataFrame) -> None:
    ct = cohort_table(tx, as_of="2024-03-15", max_months=1)
    assert list(ct.counts.columns) == [0, 1]
    jan = pd.Period("2024-01", "M")
    assert ct.counts.loc[jan].tolist() == [3, 1]
    ct = cohort_table(tx, as_of="2024-02-29")
    feb = pd.Period("2024-02", "M")
    assert np.isnan(ct.counts.loc[feb, 1])


def test_errors(tx: pd.DataFrame) -> None:
    with pytest.raises(InputError, match="amount"):
        cohort_table(tx.drop(columns="amount"))
    with pytest.raises(InputError, match="as_of"):
        cohort_table(tx, as_of="2020-01-01")


def test_cohort_heatmap_smoke(tx: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report.plots.segmentation import cohort_heatmap

    ct = cohort_table(tx)
    ax = cohort_heatmap(ct.retention)
    assert ax.get_title() == "Cohort retention"
    assert cohort_heatmap(ct.counts).get_title() == "Active customers by cohort"
    plt.close("all")
