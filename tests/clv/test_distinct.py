"""One grouping shared by fit and prediction (:class:`analysis.clv.distinct.DistinctSummary`).

The fits on the grouped summary are the fits on the summary (the same distinct rows in the same order, so the same
parameters to the last bit), every prediction equals the per-customer one, messages about bad rows still name
customers, and the value pipeline (fallback chain, zero-spend repeaters) gives what it gave before.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.clv import (
    BGNBD,
    DistinctSummary,
    GammaGamma,
    ModifiedBGNBD,
    ParetoNBD,
    SummaryDataError,
    customer_lifetime_value,
    estimate_customer_value,
    predict_customers,
)
from analysis.clv.distinct import HISTORY_COLUMNS
from tests.conftest import examples


def test_grouping_counts_the_customers(cdnow_summary: pd.DataFrame) -> None:
    rows = DistinctSummary.from_summary(cdnow_summary)
    assert len(rows) == len(cdnow_summary) == 2357 and rows.index is cdnow_summary.index
    hist = cdnow_summary[list(HISTORY_COLUMNS)].astype(float).value_counts()
    assert rows.n_unique == len(hist) and rows.histories.weights.sum() == 2357
    got = pd.Series(rows.histories.weights, index=pd.MultiIndex.from_arrays(
        [rows.histories.values[c] for c in HISTORY_COLUMNS], names=list(HISTORY_COLUMNS)))  # fmt: skip
    pd.testing.assert_series_equal(got.sort_index(), hist.sort_index().astype(float), check_names=False)
    # the repeat customers' spends are kept one row per customer (Gamma-Gamma reduces them to its distinct totals)
    repeat = cdnow_summary[cdnow_summary["frequency"] > 0]
    assert rows.spends.n_unique == len(repeat) == len(rows.repeat) == 946 and rows.spends.weights.sum() == 946
    assert np.array_equal(rows.repeat, np.flatnonzero(cdnow_summary["frequency"].to_numpy() > 0))
    # every customer's rows hold that customer's values
    for c in HISTORY_COLUMNS:
        assert np.array_equal(rows.histories.values[c][rows.histories.inverse], cdnow_summary[c].to_numpy(float))
    m = rows.spends.values["monetary_value"][rows.spends.inverse]
    assert np.array_equal(m, repeat["monetary_value"].to_numpy(float))


@pytest.mark.parametrize("model", [BGNBD, ParetoNBD, ModifiedBGNBD, GammaGamma])
def test_fits_on_the_grouping_are_the_fits_on_the_summary(cdnow_summary: pd.DataFrame, model) -> None:
    rows = DistinctSummary.from_summary(cdnow_summary)
    a, b = model().fit(cdnow_summary), model().fit(rows)
    pd.testing.assert_series_equal(a.params_, b.params_, check_exact=True)
    pd.testing.assert_series_equal(a.standard_errors_, b.standard_errors_, check_exact=True)
    assert a.log_likelihood_ == b.log_likelihood_ and a.n_customers_ == b.n_customers_ == 2357 - (
        (cdnow_summary["frequency"] == 0).sum() if model is GammaGamma else 0
    )


def test_predictions_from_the_grouping_equal_the_per_customer_ones(
    cdnow_summary: pd.DataFrame, cdnow_bgnbd: BGNBD, cdnow_gamma_gamma: GammaGamma
) -> None:
    rows = DistinctSummary.from_summary(cdnow_summary)
    want = predict_customers(cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary, 52, 0.002)
    got = predict_customers(cdnow_bgnbd, cdnow_gamma_gamma, rows, 52, 0.002)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    clv = customer_lifetime_value(cdnow_bgnbd, cdnow_gamma_gamma, rows, 52, 0.002, margin=0.3)
    pd.testing.assert_series_equal(clv, customer_lifetime_value(
        cdnow_bgnbd, cdnow_gamma_gamma, cdnow_summary, 52, 0.002, margin=0.3), check_exact=True)  # fmt: skip
    assert got["spend_per_purchase"].loc[cdnow_summary["frequency"] == 0].eq(
        cdnow_gamma_gamma.population_mean_spend()).all()  # fmt: skip


def test_weights_and_their_misuse(cdnow_summary: pd.DataFrame) -> None:
    w = np.where(cdnow_summary["frequency"].to_numpy() > 2, 3.0, 1.0)
    a = BGNBD().fit(cdnow_summary, weights=w)
    b = BGNBD().fit(DistinctSummary.from_summary(cdnow_summary, weights=w))
    pd.testing.assert_series_equal(a.params_, b.params_, check_exact=True)
    assert b.n_customers_ == w.sum()
    with pytest.raises(Exception, match="carries its weights"):
        BGNBD().fit(DistinctSummary.from_summary(cdnow_summary), weights=w)
    with pytest.raises(Exception, match="one finite non-negative number per summary row"):
        DistinctSummary.from_summary(cdnow_summary, weights=w[:-1])
    with pytest.raises(Exception, match="time unit of the summary is None"):
        DistinctSummary.from_summary(_no_attrs(cdnow_summary))


def _no_attrs(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out.attrs = {}
    return out


def test_bad_rows_are_named_by_customer(cdnow_summary: pd.DataFrame) -> None:
    bad = cdnow_summary.copy()
    ids = list(bad.index[:3])
    bad.loc[ids, "t_x"] = bad.loc[ids, "T"] + 1.0  # last purchase after the calibration end
    with pytest.raises(SummaryDataError, match=r"t_x > T for 3 customer\(s\) \(e.g. \[") as err:
        BGNBD().fit(DistinctSummary.from_summary(bad))
    assert any(str(i) in str(err.value) for i in ids)
    spend = cdnow_summary.copy()
    who = spend.index[spend["frequency"] > 0][:2]
    spend.loc[who, "monetary_value"] = -5.0
    with pytest.raises(SummaryDataError, match="2 have zero, negative or missing spend") as err:
        GammaGamma().fit(DistinctSummary.from_summary(spend))
    assert str(who[0]) in str(err.value) and str(who[1]) in str(err.value)


def test_value_pipeline_with_zero_spend_repeaters(cdnow_transactions: pd.DataFrame) -> None:
    """Zero-spend repeaters are left out of Gamma-Gamma with a warning that counts and names them, as before the
    grouping was shared; the values equal those of the models fitted by hand on the summary."""
    log = cdnow_transactions.copy()
    free = log["customer_id"].isin(log["customer_id"].drop_duplicates().iloc[:4])
    log.loc[free, "amount"] = 0.0
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = estimate_customer_value(log, "1997-09-30")
    said = [str(w.message) for w in caught if "zero repeat spend" in str(w.message)]
    assert value.method == "bgnbd" and value.spend_method == "gamma_gamma"
    from analysis.clv import summary_from_transactions

    summary = summary_from_transactions(log, "1997-09-30")
    zero = (summary["frequency"] > 0) & ~(summary["monetary_value"] > 0)
    assert said and f"{int(zero.sum())} repeat customer(s) with zero repeat spend" in said[0]
    assert str(summary.index[zero][0]) in said[0]
    bg = BGNBD().fit(summary)
    gg = GammaGamma().fit(summary.loc[~zero])
    want = predict_customers(bg, gg, summary, value.horizon, value.discount_rate)
    # Gamma-Gamma sees the same distinct spends in another order here (summed in another order, its optimiser
    # stops within its tolerance: about 1e-8 relative); everything else is exact
    pd.testing.assert_frame_equal(value.customers, want, check_exact=False, rtol=1e-6)
    pd.testing.assert_series_equal(value.customers["p_alive"], want["p_alive"], check_exact=True)


@settings(max_examples=examples(25), deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 20), st.integers(0, 20), st.integers(1, 9)), min_size=3, max_size=40
    )
)
def test_any_summary_predicts_per_customer(rows: list[tuple[int, int, int, int]]) -> None:
    """On any small summary (day-count times, ties, one-time buyers) the grouped predictions equal the
    per-customer ones computed row by row."""
    x = np.array([r[0] for r in rows], dtype=float)
    T_days = np.array([r[1] + r[2] for r in rows], dtype=float)
    tx_days = np.where(x > 0, np.minimum(np.maximum(np.array([r[1] for r in rows], dtype=float), 1), T_days), 0)
    summary = pd.DataFrame(
        {"frequency": x, "t_x": tx_days / 7, "T": np.maximum(T_days, tx_days) / 7,
         "monetary_value": np.where(x > 0, [r[3] * 1.5 for r in rows], np.nan)},
        index=pd.Index([f"c{i}" for i in range(len(rows))], name="customer_id"),
    )  # fmt: skip
    summary.attrs["time_unit"] = "W"
    bg = BGNBD.from_dict({"model": "bgnbd", "time_unit": "W", "params": {"r": 0.3, "alpha": 4.0, "a": 0.8, "b": 2.4},
                          "standard_errors": {"r": 0.1, "alpha": 0.1, "a": 0.1, "b": 0.1}})  # fmt: skip
    gg = GammaGamma.from_dict({"model": "gamma_gamma", "time_unit": "W", "params": {"p": 6.0, "q": 3.7, "v": 15.0},
                               "standard_errors": {"p": 0.1, "q": 0.1, "v": 0.1}})  # fmt: skip
    got = predict_customers(bg, gg, DistinctSummary.from_summary(summary), 10, 0.01)
    one_by_one = pd.concat([predict_customers(bg, gg, summary.iloc[[i]], 10, 0.01) for i in range(len(summary))])
    pd.testing.assert_frame_equal(got, one_by_one, check_exact=False, rtol=1e-12)


@settings(max_examples=examples(40), deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.integers(0, 30), st.integers(0, 30)), min_size=1, max_size=60),
    st.sampled_from([1.0, 7.0, 30.4375]),
    st.booleans(),
)
def test_one_counting_pass_groups_as_group_rows(rows: list[tuple[int, int, int]], days: float, weighted: bool) -> None:
    """The one-pass lattice grouping of the histories gives group_rows' rows, order, levels, codes, weights and
    each row's distinct row; off the lattice (a time that is not whole days) it declines."""
    from analysis.clv._compress import group_rows, lattice_group

    cols = {
        "frequency": np.array([r[0] for r in rows], dtype=float),
        "t_x": np.array([r[1] for r in rows], dtype=float) / days,
        "T": np.array([r[1] + r[2] for r in rows], dtype=float) / days,
    }
    steps = {"frequency": 1.0, "t_x": days, "T": days}
    w = np.arange(1.0, len(rows) + 1) if weighted else None
    want, got = group_rows(cols, steps, w), lattice_group(cols, steps, w)
    assert got is not None
    for part in ("values", "levels", "codes"):
        for c in cols:
            assert np.array_equal(getattr(got, part)[c], getattr(want, part)[c]), (part, c)
    assert np.array_equal(got.weights, want.weights) and np.array_equal(got.inverse, want.inverse)
    off = {**cols, "T": cols["T"] + 0.001}
    assert lattice_group(off, steps, w) is None


def test_refits_on_one_grouping_reuse_its_reduction(cdnow_summary: pd.DataFrame) -> None:
    """Refitting a model on one DistinctSummary (one fit per penalizer, as a penalizer search does) validates and
    reduces the rows once, and each refit equals a fresh fit on the summary to the last bit."""
    rows = DistinctSummary.from_summary(cdnow_summary)
    for penalizer in (0.0, 0.01, 0.1):
        got = BGNBD(penalizer=penalizer).fit(rows)
        want = BGNBD(penalizer=penalizer).fit(cdnow_summary)
        pd.testing.assert_series_equal(got.params_, want.params_, check_exact=True)
        assert got.log_likelihood_ == want.log_likelihood_
    spend = GammaGamma(penalizer=0.01).fit(rows)
    pd.testing.assert_series_equal(
        spend.params_, GammaGamma(penalizer=0.01).fit(cdnow_summary).params_, check_exact=True
    )
    assert len(rows.fit_inputs) == 1  # BG/NBD's three fits shared theirs; Gamma-Gamma keeps none
