"""One definition of every score, segment and class rule, and one CLV fallback chain, on every engine.

The same small log is scored by pandas, by DuckDB (``stages.score``, what ``rfmkit score`` runs) and by Spark's
folder scoring (``rfmkit summary --engine spark --clv``, :func:`analysis.engines.spark_score.score_to_parquet`, whose
executors call the shared rule functions on batches of customers): scores, RFM codes, segments and value classes
are identical, with segment rules and one measure's thresholds taken from the params (so a rule changed in the
params, or in :mod:`analysis.customers.segments`, reaches every engine), and the CLV columns agree. A log too
short for any purchase model takes the run-rate fallback on Spark as on pandas, with the same numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import stages
from analysis.engines.spark_score import CLV_COLUMNS, SCORE_COLUMNS, score_batch, score_to_parquet
from analysis.params import RunParams
from tests.conftest import tx
from tests.test_spark_score import awkward_log

AS_OF = "2024-03-31"
#: Two segments split on R alone and one split on F and M (every (R, F, M) combination in exactly one rule), so the
#: segments differ from the default map and a wrong rule table shows.
RULES = {
    "Recent": {"r": [4, 5]},
    "Valuable": {"r": [1, 3], "fm": [3, 5]},
    "Other": {"r": [1, 3], "fm": [1, 2.5]},
}


def params(**update: object) -> RunParams:
    return RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}, **update})


def on_pandas_and_duckdb(log: pd.DataFrame, run: RunParams) -> dict[str, pd.DataFrame]:
    day = pd.Timestamp(AS_OF)
    return {
        name: stages.score(stages.scope(log, day), run, day, clv_check=False, engine=name).customers
        for name in ("pandas", "duckdb")
    }


def test_batches_score_as_the_whole_table() -> None:
    """What Spark's executors run on each batch of customers (:func:`score_batch`, with the population's cut points
    and means) gives, on any split of the customers, the columns :func:`score_summary` gives on all of them."""
    from analysis.customers.rfm import rfm_summary, score_summary
    from analysis.customers.segments import validate_rules

    run = params(rfm={"lookback_days": 60, "segment_rules": RULES})
    summary = rfm_summary(awkward_log(), AS_OF, 60)
    want = score_summary(summary, AS_OF, run.rfm)
    cuts = {m: [float(x) for x in want.cut_points.loc[m, ["q20", "q40", "q60", "q80"]]] for m in want.cut_points.index}
    means = summary[["recency_days", "frequency", "monetary"]].mean().to_dict()
    rules = validate_rules(run.rfm.segment_rules)
    for parts in (1, 3, 7):
        batches = [summary.iloc[i::parts].reset_index() for i in range(parts)]
        got = pd.concat([score_batch(b, cuts, means, rules) for b in batches]).set_index("customer_id")
        got = got.loc[want.customers.index]
        for col in SCORE_COLUMNS:
            assert got[col].tolist() == want.customers[col].tolist(), (parts, col)


@pytest.mark.spark
def test_every_engine_gives_the_same_scores_segments_and_classes(spark_session, tmp_path: Path) -> None:
    run = params(rfm={"lookback_days": 60, "segment_rules": RULES, "thresholds": {"frequency": [1, 1, 2, 3]}})
    log = awkward_log()
    engines = on_pandas_and_duckdb(log, run)
    res = score_to_parquet(log, AS_OF, tmp_path, run, session=spark_session)
    engines["spark"] = pd.read_parquet(res.customers_path).set_index("customer_id")
    want = engines["pandas"]
    assert len(want) > 40 and set(want["segment"]) == set(RULES)  # every rule used
    assert want["value_class"].nunique() >= 4 and want["r_score"].nunique() == 5
    for name, got in engines.items():
        assert list(got.index.astype(str)) == list(want.index.astype(str)), name
        for col in ("recency_days", "frequency", *SCORE_COLUMNS):
            assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), (name, col)
        for col in ("monetary", *CLV_COLUMNS):
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-6, err_msg=col)
    assert res.clv_method == "bgnbd" and res.cut_points.loc["frequency", "source"] == "params"
    # the given thresholds by hand: F = 1 + cut points strictly below the order count (1, 1, 2, 3)
    f = want["frequency"].to_numpy()
    assert (want["f_score"].to_numpy() == 1 + (f > 1) * 2 + (f > 2) + (f > 3)).all()


@pytest.mark.spark
def test_run_rate_fallback_on_spark(spark_session, tmp_path: Path) -> None:
    """One repeat customer cannot identify a purchase model: Spark's folder scoring takes the run-rate estimate as
    ``rfmkit score`` does (p_alive empty, the same expected purchases, spend and CLV, the same retention), and says
    so."""
    rows = [("i", None, "2024-01-01", 5.0), ("a", None, "2024-03-01", 10.0), ("a", None, "2024-09-01", 30.0)]
    rows += [(c, None, "2024-02-01", 20.0) for c in "bcdefgh"] + [("z", None, "2025-02-01", 1.0)]
    log = tx(rows).assign(is_outlier=False, row_id=np.arange(len(rows)))  # with the clean log's bookkeeping
    day = pd.Timestamp("2024-12-31")
    scored = stages.score(stages.scope(log, day), params(), day, clv_check=False)
    want = scored.customers
    assert scored.clv_value is not None and scored.clv_value.method == "run_rate"
    res = score_to_parquet(log, day, tmp_path, params(), session=spark_session)
    got = pd.read_parquet(res.customers_path).set_index("customer_id")
    assert res.clv_method == "run_rate" and res.spend_method == "observed_mean" and res.transaction_model is None
    assert res.clv_reason == scored.clv_value.reason_text("en") and res.clv_reason.startswith("Run-rate estimate used")
    assert list(got.index) == list(want.index) == list("abcdefghi") and got["p_alive"].isna().all()
    for col in CLV_COLUMNS[1:]:
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, err_msg=col)
    # a's two purchase days: total spend 40 over 2 days
    assert got.loc["a", "spend_per_purchase"] == 20.0
    models = json.loads((tmp_path / "models.json").read_text())
    rr = scored.clv_value.run_rate
    assert models["clv_method"] == "run_rate" and models["run_rate"]["retention_per_unit"] == rr.retention_per_unit
    assert models["run_rate"]["retention_customers"] == 8  # bought in [2024-01-02, 2024-07-02]
