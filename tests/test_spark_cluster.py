"""The kit on a real Spark cluster: a standalone master and worker started by the suite (``spark_cluster``,
tests/spark_cluster.py), the kit's driver in another Python process pointed at ``spark://127.0.0.1:PORT`` by its
params, executors in the worker's JVM and work folder, the logs passed as folders of Parquet files (as on a
cluster's shared storage).

One driver process (one application, one executor) runs ``rfmkit summary`` (written by the executors),
``rfmkit summary --clv`` (scored by the executors with the kit's rules), ``rfmkit score`` (the per-customer
summaries on the cluster, the scores on the driver) and a one-month batch, ``rfmkit run`` with
``engine: spark``: the raw, messy log cleaned by the executors (:mod:`analysis.engines.spark_clean`), the run's
notebooks scoring on the cluster from their kernel (an application of their own). Each gives the numbers DuckDB
gives on the same files: the summary and the scores, the cleaned data (``quality.json``), the run's
``customers.csv``, ``headline.csv`` and segment counts (DuckDB's from the stage runner, without kernels).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from analysis.cli import main
from analysis.params import RunParams
from analysis.pipeline import open_run
from tests.spark_cluster import DRIVER_CONFIG
from tests.test_spark_batch import messy_log, parquet_folder
from tests.test_spark_score import awkward_log

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = "2024-03-31"
BATCH_MONTH = "2024-02"
#: Runs rfmkit commands (a JSON list of argument lists) in one Python process holding one Spark session made from the
#: params (as a notebook holds one): the commands use it and leave it running, so one application and one executor
#: serve them all.
DRIVER = """
import json, os, sys, time
from analysis.cli import main
from analysis.params import RunParams
from analysis.pipeline import open_run
from analysis.engines.spark_engine import spark_session
from analysis.params import load_params
session = spark_session(load_params(sys.argv[1], overrides={"periods": {"start": "2000-01", "end": "2000-01"}})
                        .engine_options.spark)
for args in json.loads(sys.argv[2]):
    began = time.monotonic()
    main(args, standalone_mode=False)
    print(f"rfmkit {args[0]}: {time.monotonic() - began:.1f} s wall")
jvm = session.sparkContext._gateway.proc.pid  # the driver's JVM: its CPU, before it stops
stat = open(f"/proc/{jvm}/stat").read().rsplit(")", 1)[1].split()
print(f"driver JVM CPU s: {sum(int(x) for x in stat[11:15]) / os.sysconf('SC_CLK_TCK'):.1f}")
session.stop()
"""


def same_table(got: pd.DataFrame, want: pd.DataFrame, rtol: float = 1e-9) -> None:
    """Same customers and columns; counts, dates, codes and names exactly, numbers to ``rtol``."""
    assert list(got.index.astype(str)) == list(want.index.astype(str))
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        if pd.api.types.is_float_dtype(want[col]):
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=rtol, err_msg=col)
        else:
            assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), col


def batch_params(folder: Path, data: Path, engine: str, spark: dict) -> RunParams:
    """One month (2024-02), one region, the scoring and summary notebooks, on ``engine``."""
    return RunParams.model_validate({
        "source": {"path": str(data)}, "periods": {"start": BATCH_MONTH, "end": BATCH_MONTH}, "regions": "all",
        "include_all_regions": False, "notebooks": ["02_scoring", "05_summary"], "engine": engine,
        "output_dir": str(folder / engine), "execution": {"jobs": 1, "timeout_seconds": 600},
        "segmentation": {"cluster": {"enabled": False}}, "privacy": {"show_customer_ids": True},
        "engine_options": {"spark": spark},
    })  # fmt: skip


def test_summary_score_and_batch_on_a_standalone_cluster(spark_cluster, tmp_path: Path) -> None:
    data = parquet_folder(awkward_log(), tmp_path / "shared" / "clean")
    raw = parquet_folder(messy_log(customers=300, region="North"), tmp_path / "shared" / "raw")
    spark = {"master": spark_cluster.url, "config": DRIVER_CONFIG}
    params = tmp_path / "cluster.yaml"
    params.write_text(yaml.safe_dump({"engine_options": {"spark": spark}}))
    batch = tmp_path / "batch.yaml"
    batch.write_text(yaml.safe_dump(batch_params(tmp_path, raw, "spark", spark).model_dump(mode="json")))
    out = tmp_path / "out"
    commands = [
        ["summary", str(data), "--as-of", AS_OF, "--engine", "spark", "--params", str(params), "--out", f"{out}/s/"],
        ["summary", str(data), "--as-of", AS_OF, "--engine", "spark", "--params", str(params), "--clv",
         "--out", f"{out}/scored/"],
        ["score", str(data), "--as-of", AS_OF, "--engine", "spark", "--params", str(params), "--out",
         f"{out}/score.parquet"],
        ["run", str(batch), "--no-progress"],
    ]  # fmt: skip
    began, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(params), json.dumps(commands)],
        env=spark_cluster.env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    driver_seconds = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{spark_cluster.log_tail()}"
    assert "1 runs: 1 ok" in run.stdout, run.stdout
    print("; ".join(line for line in run.stdout.splitlines() if line.startswith("rfmkit ")))
    print(
        f"cluster up in {spark_cluster.start_seconds:.1f} s wall; summaries and the batch in {driver_seconds:.1f} s "
        f"wall, {after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime:.1f} CPU s in the driver's Python "
        f"and the batch's kernel, {run.stdout.split('driver JVM CPU s: ')[-1].split()[0]} in the driver's JVM, "
        f"{spark_cluster.cpu_seconds():.1f} CPU s in the master, worker and executors"
    )
    # the executors ran in the worker's work folder (the driver's one session: the summaries and the batch's
    # cleaning; the kernel's sessions: the run's scoring), not the driver's
    apps = sorted((spark_cluster.folder / "work").glob("app-*"))
    assert len(apps) >= 2 and all((app / "0" / "stderr").is_file() for app in apps)

    duck = tmp_path / "duck"
    for args in (
        ["summary", str(data), "--as-of", AS_OF, "--engine", "duckdb", "--out", f"{duck}-summary.parquet"],
        ["score", str(data), "--as-of", AS_OF, "--engine", "duckdb", "--out", f"{duck}-score.parquet"],
    ):
        res = CliRunner().invoke(main, args, catch_exceptions=False)
        assert res.exit_code == 0, res.output
    summary = pd.read_parquet(f"{duck}-summary.parquet")
    same_table(pd.read_parquet(out / "s" / "customers").set_index("customer_id"), summary)
    scored = pd.read_parquet(f"{duck}-score.parquet")
    assert len(scored) == len(summary) > 100
    on_cluster = pd.read_parquet(out / "scored" / "customers").set_index("customer_id")
    same_table(on_cluster, scored[list(on_cluster.columns)], rtol=1e-6)  # CLV fits converge to 1e-6
    assert json.loads((out / "scored" / "models.json").read_text())["clv_method"] == "bgnbd"
    same_table(pd.read_parquet(out / "score.parquet"), scored, rtol=1e-6)  # rfmkit score: every column

    # the batch: the cleaned data, the run's customers, headline and segment counts equal DuckDB's
    want = batch_params(tmp_path, raw, "duckdb", spark)
    stage_run = open_run(want, BATCH_MONTH, "North", run_dir=duck / "run")
    for name in ("score", "summary"):
        stage_run.get(name)
    # the executors' cleaning wrote what the pandas cleaning writes, byte for byte
    cleaned = [next((tmp_path / engine / "_data").glob("clean-*")) for engine in ("spark", "duckdb")]
    for name in ("clean.parquet", "quarantine.csv", "returns.parquet", "allocations.parquet", "anonymous.parquet"):
        assert (cleaned[0] / name).read_bytes() == (cleaned[1] / name).read_bytes(), name
    q = json.loads((cleaned[0] / "quality.json").read_text())
    assert q == json.loads((cleaned[1] / "quality.json").read_text())
    assert q["rows_in"] == len(messy_log(customers=300)) == q["rows_clean"] + q["rows_quarantined"]
    assert q["reasons"]["missing_customer_id"] and q["reasons"]["duplicate"] and q["reasons"]["return"]
    got_dir = tmp_path / "spark" / BATCH_MONTH / "North"
    got = pd.read_csv(got_dir / "customers.csv", index_col=0, encoding="utf-8-sig")
    want_customers = pd.read_csv(duck / "run" / "customers.csv", index_col=0, encoding="utf-8-sig")
    assert len(got) > 200
    same_table(got, want_customers, rtol=1e-6)
    headline = [pd.read_csv(d / "headline.csv", encoding="utf-8-sig") for d in (got_dir, duck / "run")]
    pd.testing.assert_frame_equal(*headline)
    assert got["segment"].value_counts().to_dict() == want_customers["segment"].value_counts().to_dict()
