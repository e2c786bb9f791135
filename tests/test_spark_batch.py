"""``engine: spark`` in the params: a batch run's transaction → customer step (the score stage's one pass over the
log) runs on Spark, not on a fallback, and gives the customers DuckDB gives.

One month of CDNOW (``params/cdnow.yaml``, March 1997) is run through the batch's stage runner
(:func:`analysis.pipeline.open_run`: clean, then score, the stages a batch's notebooks ask for) twice, with
``engine: spark`` (the suite's one local Spark session) and with ``engine: duckdb``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from analysis.params import load_params
from analysis.pipeline import open_run
from tests.conftest import ROOT
from tests.test_score_engines import same_customers

pytestmark = pytest.mark.spark


def test_params_engine_spark_runs_the_score_stage_on_spark(
    spark_session, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scored = {}
    for engine in ("duckdb", "spark"):
        params = load_params(ROOT / "params" / "cdnow.yaml", overrides={
            "periods": {"start": "1997-03", "end": "1997-03"}, "output_dir": str(tmp_path / "reports"),
            "engine": engine, "segmentation": {"cluster": {"enabled": False}},
        })  # fmt: skip
        run = open_run(params, "1997-03", run_dir=tmp_path / engine)
        with caplog.at_level(logging.DEBUG, logger="analysis.stages"):
            scored[engine] = run.get("score")
        assert f"on the {engine} engine" in caplog.text
        caplog.clear()
    want, got = scored["duckdb"], scored["spark"]
    assert len(want.customers) > 1000 and want.clv is None and want.clv_value.method == "bgnbd"
    same_customers(got.customers, want.customers)
    pd.testing.assert_frame_equal(got.cut_points, want.cut_points)
    pd.testing.assert_frame_equal(got.previous, want.previous, check_exact=False, rtol=1e-9)
    # the run's customers file is written from the Spark-scored customers
    assert (tmp_path / "spark" / "customers.csv").is_file()
