"""RFM: hand-computed summaries and scores, ties, edge cases, and a plain pandas cross-check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.customers.rfm import cut_points, rfm_summary, score, score_customers, score_rfm
from analysis.customers.segments import VALUE_CLASSES
from analysis.params import RFMParams, ScoreThresholds
from tests.conftest import examples, tx

LOG = tx(
    [
        ("a", "o1", "2024-01-01", 10.0),
        ("a", "o1", "2024-01-01", 5.0),  # second line of the same order
        ("a", "o2", "2024-03-01", 20.0),
        ("b", "o3", "2024-02-15", 100.0),
        ("c", "o4", "2024-03-31", 7.5),
        ("c", "o5", "2024-04-02", 99.0),  # after as_of: ignored
    ]
)


def test_summary_hand_computed() -> None:
    s = rfm_summary(LOG, "2024-03-31")
    assert list(s.index) == ["a", "b", "c"]
    assert s.loc["a"].to_dict() == {
        "first_purchase": pd.Timestamp("2024-01-01"),
        "last_purchase": pd.Timestamp("2024-03-01"),
        "recency_days": 30,
        "frequency": 2,
        "monetary": 35.0,
    }
    assert s.loc["b", "recency_days"] == 45 and s.loc["b", "frequency"] == 1
    assert s.loc["c", "recency_days"] == 0 and s.loc["c", "monetary"] == 7.5


def test_frequency_counts_purchase_days_without_order_id() -> None:
    log = tx(
        [("a", None, "2024-01-01 09:00", 1), ("a", None, "2024-01-01 17:00", 1), ("a", None, "2024-01-02", 1)],
        with_order=False,
    )
    assert rfm_summary(log, "2024-01-31").loc["a", "frequency"] == 2


def test_lookback_window_is_the_last_n_days_inclusive() -> None:
    s = rfm_summary(LOG, "2024-03-31", lookback_days=31)  # 2024-03-01 .. 2024-03-31
    assert list(s.index) == ["a", "c"]
    assert s.loc["a", "monetary"] == 20.0 and s.loc["a", "frequency"] == 1
    assert s.loc["a", "first_purchase"] == pd.Timestamp("2024-03-01")


def test_as_of_before_any_purchase_gives_no_customers() -> None:
    res = score_customers(LOG, "2023-12-31")
    assert res.customers.empty
    assert list(res.customers.columns)[:5] == [
        "first_purchase",
        "last_purchase",
        "recency_days",
        "frequency",
        "monetary",
    ]


def test_empty_input() -> None:
    empty = LOG.iloc[0:0]
    assert score_customers(empty, "2024-01-01").customers.empty


def test_one_customer() -> None:
    res = score_customers(LOG[LOG.customer_id == "b"], "2024-03-31")
    row = res.customers.loc["b"]
    assert (row.r_score, row.f_score, row.m_score) == (1, 1, 1)  # equal to every cut point
    assert row.value_class == "一般挽留客户"  # nothing is strictly better than the mean of itself


def test_all_equal_values_get_equal_scores() -> None:
    log = tx([(f"c{i}", f"o{i}", "2024-01-10", 5.0) for i in range(7)])
    c = score_customers(log, "2024-01-31").customers
    assert c[["r_score", "f_score", "m_score"]].nunique().eq(1).all()


def test_scores_hand_computed_with_heavy_ties() -> None:
    # frequency: six customers buy once, then 2, 3, 5, 8 → quantiles over 10 values
    freq = pd.Series([1, 1, 1, 1, 1, 1, 2, 3, 5, 8], index=[f"c{i}" for i in range(10)])
    cuts = cut_points(freq)
    np.testing.assert_allclose(cuts, [1, 1, 1.4, 3.4])
    assert score(freq, cuts).tolist() == [1] * 6 + [4, 4, 5, 5]
    # recency: lower is better, a value equal to a cut point takes the lower score
    rec = pd.Series([0, 10, 20, 30, 40])
    rc = cut_points(rec)  # 8, 16, 24, 32
    assert score(rec, rc, higher_is_better=False).tolist() == [5, 4, 3, 2, 1]
    assert score(pd.Series([16.0]), rc, higher_is_better=False).tolist() == [3]


def test_user_thresholds_replace_quantiles() -> None:
    s = rfm_summary(LOG, "2024-03-31")
    scored, cuts = score_rfm(s, ScoreThresholds(frequency=[1, 2, 3, 4], recency_days=[7, 30, 60, 90]))
    assert cuts.loc["frequency", "source"] == "params" and cuts.loc["monetary", "source"] == "quantile"
    assert scored["f_score"].to_dict() == {"a": 2, "b": 1, "c": 1}
    assert scored["r_score"].to_dict() == {"a": 3, "b": 3, "c": 5}  # 30 equals a cut point: lower score


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=60))
def test_equal_values_equal_scores_and_monotone(values: list[int]) -> None:
    s = pd.Series(values, dtype=float)
    for better in (True, False):
        sc = score(s, cut_points(s), higher_is_better=better)
        assert sc.between(1, 5).all()
        assert (sc.groupby(s).nunique() == 1).all()
        order = s.sort_values(kind="stable").index
        diffs = np.diff(sc[order].to_numpy())
        assert (diffs >= 0).all() if better else (diffs <= 0).all()


def test_value_class_exactly_by_the_mean_rules(cdnow_clean: pd.DataFrame) -> None:
    c = score_customers(cdnow_clean, "1998-06-30").customers
    r = c.recency_days < c.recency_days.mean()
    f = c.frequency > c.frequency.mean()
    m = c.monetary > c.monetary.mean()
    expected = [VALUE_CLASSES[(bool(x), bool(y), bool(z))][0] for x, y, z in zip(r, f, m, strict=True)]
    assert c.value_class.tolist() == expected
    assert c.value_class.nunique() == 8


def test_matches_plain_pandas_on_cdnow(cdnow_clean: pd.DataFrame) -> None:
    as_of = pd.Timestamp("1997-09-30")
    c = score_customers(cdnow_clean, as_of).customers
    t = cdnow_clean[cdnow_clean.order_date <= as_of]
    plain = pd.DataFrame(
        {
            "recency_days": (as_of - t.groupby("customer_id").order_date.max()).dt.days,
            "frequency": t.groupby("customer_id").order_date.nunique(),
            "monetary": t.groupby("customer_id").amount.sum(),
        }
    )
    assert len(c) == 2357 == len(plain)
    pd.testing.assert_series_equal(
        c.recency_days,
        plain.recency_days.reindex(c.index),
        check_names=False,
        check_dtype=False,
        check_index_type=False,
    )
    pd.testing.assert_series_equal(
        c.frequency, plain.frequency.reindex(c.index), check_names=False, check_dtype=False, check_index_type=False
    )
    np.testing.assert_allclose(c.monetary, plain.monetary.reindex(c.index))


def test_custom_segment_rules_from_params_are_used() -> None:
    rules = {"Everyone": {"r": [1, 5]}}
    c = score_customers(LOG, "2024-03-31", RFMParams.model_validate({"segment_rules": rules})).customers
    assert set(c.segment) == {"Everyone"}


def test_bad_segment_rules_fail_before_scoring() -> None:
    from analysis.errors import SegmentRuleError

    with pytest.raises(SegmentRuleError, match="in no segment"):
        score_customers(LOG, "2024-03-31", RFMParams.model_validate({"segment_rules": {"Recent": {"r": [3, 5]}}}))
