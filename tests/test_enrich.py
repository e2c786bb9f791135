"""The per-customer columns beyond RFM, as rfmkit score and the notebooks add them."""

from __future__ import annotations

import pandas as pd

from analysis.customers.enrich import add_clv, add_segmentation
from analysis.customers.rfm import score_customers
from analysis.data.clean import clean_transactions
from analysis.params import CLVParams, SegmentationParams
from tests.conftest import tx


def test_segmentation_columns_on_the_sample(small_sample: pd.DataFrame) -> None:
    clean = clean_transactions(small_sample).clean
    scored = score_customers(clean, "2024-12-31").customers
    seg = add_segmentation(scored, clean, "2024-12-31", "2024-11-30")
    c = seg.customers
    assert set(c.abc_class) == {"A", "B", "C"}
    assert set(c.lifecycle_stage) <= {"new", "active", "reactivated", "dormant", "lost"}
    new = c.first_purchase > pd.Timestamp("2024-11-30")
    assert (c.loc[new, "lifecycle_stage"] == "new").all()
    assert c.cluster.notna().all() and seg.clusterer is not None and 3 <= seg.clusterer.k_ <= 8
    again = add_segmentation(scored, clean, "2024-12-31", "2024-11-30").customers
    pd.testing.assert_series_equal(c.cluster, again.cluster)  # same seed, same clusters


def test_abc_limits_from_params(small_sample: pd.DataFrame) -> None:
    clean = clean_transactions(small_sample).clean
    scored = score_customers(clean, "2024-12-31").customers
    c = add_segmentation(scored, clean, "2024-12-31", params=SegmentationParams(abc=(0.5, 0.9))).customers
    a = c[c.abc_class == "A"].monetary.sum() / c.monetary.sum()
    assert 0.5 <= a < 0.5 + c.monetary.max() / c.monetary.sum()


def test_clv_columns_and_a_note_when_switched_off(cdnow_clean: pd.DataFrame) -> None:
    scored = score_customers(cdnow_clean, "1997-09-30").customers
    with_clv, note = add_clv(scored, cdnow_clean, "1997-09-30")
    assert note is None
    clv_columns = {"p_alive", "expected_purchases", "spend_per_purchase", "expected_spend_horizon", "clv"}
    assert clv_columns <= set(with_clv.columns)
    assert with_clv.p_alive.between(0, 1).all() and (with_clv.clv >= 0).all()
    one_timers = with_clv[with_clv.frequency == 1]
    assert (one_timers.p_alive == 1).all()  # BG/NBD: no repeat purchase, no chance to drop out
    tiny = tx([("a", "1", "2024-01-01", 5.0), ("b", "2", "2024-01-02", 7.0)])
    same, note = add_clv(score_customers(tiny, "2024-02-01").customers, tiny, "2024-02-01")
    assert (note is None) == ("clv" in same)  # thin data: the pipeline's fallback values, or a note saying why not
    off, note = add_clv(scored, cdnow_clean, "1997-09-30", CLVParams(enabled=False))
    assert "clv" not in off and "disabled" in note
