"""``engine: spark`` in the params: a batch run's transaction → customer step (the score stage's one pass over the
log) runs on Spark, not on a fallback, and gives the customers DuckDB gives.

One month of CDNOW (``params/cdnow.yaml``, March 1997) is run through the batch's stage runner
(:func:`analysis.pipeline.open_run`: clean, then score, the stages a batch's notebooks ask for) twice, with
``engine: spark`` (the suite's one local Spark session) and with ``engine: duckdb``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
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


def messy_log(customers: int = 120, region: str | None = None) -> pd.DataFrame:
    """A raw export as text: the sample's dirty rows (bad dates and amounts, cancellations, copies, outliers) and,
    spread over the log, ids written (blank), NULL, N/A and ' 7.0 ', copies of rows far apart, customer 7's return
    at the end (another file than its order) and numeric dates whose layout only customer 8's row shows
    (31/01/2024: day-first; customers 7 and 8 are hashed to different parts of two)."""
    from analysis.data.sample import generate_transactions

    log = generate_transactions(customers=customers, seed=7, dirty=True, start="2023-09-01", end="2024-03-20")
    extra = pd.DataFrame({
        "order_id": ["X1", "X1", "C9", "X2", "X3", "X4", "X5", "C-X4"],
        "customer_id": ["(blank)", "(blank)", "NULL", "N/A", " 7.0 ", "7", "8", "7"],
        "order_date": ["2024-01-03", "2024-01-03", "2024-01-04", "2024-01-05", "03/01/2024", "2024-01-02",
                       "31/01/2024", "2024-02-01"],
        "amount": ["5", "5", "-5", "7", "9", "20", "4", "-20"],
    })  # fmt: skip
    parts = [extra.iloc[:6], log.iloc[:500], extra.iloc[6:7], log.iloc[500:], log.iloc[:5], extra.iloc[7:]]
    log = pd.concat(parts, ignore_index=True)
    return log if region is None else log.assign(region=region)


def parquet_folder(log: pd.DataFrame, folder: Path, parts: int = 3) -> Path:
    """``log`` as a folder of ``parts`` Parquet files (a cluster's shared storage holds such folders)."""
    folder.mkdir(parents=True)
    for i, chunk in enumerate(np.array_split(np.arange(len(log)), parts)):
        log.iloc[chunk].to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    return folder


def test_a_folder_of_parquet_files_is_one_log(tmp_path: Path) -> None:
    """The source check and the reader take a folder of Parquet files (in the order of their paths; ``_SUCCESS``
    and hidden files left out) and refuse a folder without any, saying so."""
    from analysis.data.io import check_source, parquet_files, read_transactions
    from analysis.errors import InputError
    from analysis.params import SourceParams

    log = messy_log(customers=10)
    folder = parquet_folder(log, tmp_path / "log")
    (folder / "_SUCCESS").write_text("")
    (folder / ".part-00000.parquet.crc").write_text("")
    assert [p.name for p in parquet_files(folder)] == [f"part-{i:05d}.parquet" for i in range(3)]
    assert check_source(SourceParams(path=str(folder))) == folder
    pd.testing.assert_frame_equal(read_transactions(SourceParams(path=str(folder))), log)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"is a folder, not a file; .*holds \.parquet files"):
        check_source(SourceParams(path=str(tmp_path / "empty")))
