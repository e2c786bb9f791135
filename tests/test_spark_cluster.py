"""The kit on a real Spark cluster: a standalone master and worker started by the suite (``spark_cluster``,
tests/spark_cluster.py), the kit's driver in another Python process pointed at ``spark://127.0.0.1:PORT`` by its
params, executors in the worker's JVM and work folder, the log passed as a folder of Parquet files (as on a
cluster's shared storage).

``rfmkit summary`` (written by the executors), ``rfmkit summary --clv`` (scored by the executors with the kit's
rules) and ``rfmkit score`` give the numbers DuckDB gives on the same log.
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
from tests.spark_cluster import DRIVER_CONFIG
from tests.test_spark_score import awkward_log

pytestmark = [pytest.mark.spark, pytest.mark.slow]

AS_OF = "2024-03-31"
#: Runs rfmkit commands (a JSON list of argument lists) in one Python process holding one Spark session made from the
#: params (as a notebook holds one): the commands use it and leave it running, so one application and one executor
#: serve them all.
DRIVER = """
import json, os, sys
from analysis.cli import main
from analysis.engines.spark_engine import spark_session
from analysis.params import load_params
session = spark_session(load_params(sys.argv[1], overrides={"periods": {"start": "2000-01", "end": "2000-01"}})
                        .engine_options.spark)
for args in json.loads(sys.argv[2]):
    main(args, standalone_mode=False)
jvm = session.sparkContext._gateway.proc.pid  # the driver's JVM: its CPU, before it stops
stat = open(f"/proc/{jvm}/stat").read().rsplit(")", 1)[1].split()
print(f"driver JVM CPU s: {sum(int(x) for x in stat[11:15]) / os.sysconf('SC_CLK_TCK'):.1f}")
session.stop()
"""


def parquet_folder(log: pd.DataFrame, folder: Path, parts: int = 3) -> Path:
    """``log`` as a folder of ``parts`` Parquet files (a cluster's shared storage holds such folders)."""
    folder.mkdir(parents=True)
    for i, chunk in enumerate(np.array_split(np.arange(len(log)), parts)):
        log.iloc[chunk].to_parquet(folder / f"part-{i:05d}.parquet", index=False)
    return folder


def same_table(got: pd.DataFrame, want: pd.DataFrame, rtol: float = 1e-9) -> None:
    """Same customers and columns; counts, dates, codes and names exactly, numbers to ``rtol``."""
    assert list(got.index.astype(str)) == list(want.index.astype(str))
    assert list(got.columns) == list(want.columns)
    for col in want.columns:
        if pd.api.types.is_float_dtype(want[col]):
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=rtol, err_msg=col)
        else:
            assert got[col].astype(str).tolist() == want[col].astype(str).tolist(), col


def test_summary_and_score_on_a_standalone_cluster(spark_cluster, tmp_path: Path) -> None:
    log = awkward_log()
    data = parquet_folder(log, tmp_path / "shared" / "clean")
    params = tmp_path / "cluster.yaml"
    params.write_text(
        yaml.safe_dump({"engine_options": {"spark": {"master": spark_cluster.url, "config": DRIVER_CONFIG}}})
    )
    out = tmp_path / "out"
    commands = [
        ["summary", str(data), "--as-of", AS_OF, "--engine", "spark", "--params", str(params), "--out", f"{out}/s/"],
        ["summary", str(data), "--as-of", AS_OF, "--engine", "spark", "--params", str(params), "--clv",
         "--out", f"{out}/scored/"],
        ["score", str(data), "--as-of", AS_OF, "--engine", "spark", "--params", str(params),
         "--out", f"{out}/score.parquet"],
    ]  # fmt: skip
    began, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(
        [sys.executable, "-c", DRIVER, str(params), json.dumps(commands)],
        env=spark_cluster.env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    driver_seconds = time.monotonic() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{spark_cluster.log_tail()}"
    print(
        f"cluster up in {spark_cluster.start_seconds:.1f} s wall; three commands in {driver_seconds:.1f} s wall, "
        f"{after.ru_utime + after.ru_stime - cpu.ru_utime - cpu.ru_stime:.1f} CPU s in the driver's Python, "
        f"{run.stdout.split('driver JVM CPU s: ')[-1].split()[0]} in its JVM, "
        f"{spark_cluster.cpu_seconds():.1f} CPU s in the master, worker and executor"
    )
    # the executors ran in the worker's work folder (one application: the driver's one session), not the driver's
    apps = list((spark_cluster.folder / "work").glob("app-*"))
    assert len(apps) == 1 and (apps[0] / "0" / "stderr").is_file()

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
    same_table(pd.read_parquet(out / "score.parquet"), scored, rtol=1e-6)  # CLV fits converge to 1e-6
    on_cluster = pd.read_parquet(out / "scored" / "customers").set_index("customer_id")
    same_table(on_cluster, scored[list(on_cluster.columns)], rtol=1e-6)
    assert json.loads((out / "scored" / "models.json").read_text())["clv_method"] == "bgnbd"
