"""Benchmark: the transaction → customer step at scale, every engine against plain DuckDB and plain pandas.

Inputs: synthetic clean logs written as Parquet (as ``rfmkit clean`` writes ``clean.parquet``:
``customer_id`` and ``order_id`` text, ``order_date`` nanosecond timestamps, ``amount``), 1M and 10M
rows by default (``--huge`` adds 50M), customers = 4 % of rows, two years of days, about 1.5 rows per
order; cached under ``~/.cache/rfmkit/bench-scale`` (``--data-dir``).

Contenders, each computing the same per-customer table (RFM: first/last purchase, recency_days,
frequency = distinct orders, monetary; BTYD: x, t_x, T, monetary_value) as of the last day:

* ``plain_duckdb``: one hand-written DuckDB query over the Parquet file, result fetched as a pandas frame;
* ``plain_pandas``: ``pd.read_parquet`` of the four columns and the obvious ``groupby`` code;
* ``engine:pandas``, ``engine:duckdb``, ``engine:spark``: ``analysis.engines.customer_summary`` (what
  ``rfmkit summary`` runs) on the file; Spark is a local session, ``local[2]``;
* ``score:pandas``, ``score:duckdb``: ``rfmkit score FILE --as-of … --engine E`` end to end (read, summaries,
  scores and segments, CLV models with their fallbacks, ABC, lifecycle, k-means, the output file), on the log
  with the two columns ``rfmkit clean`` adds (``is_outlier``, ``row_id``; ``clean-<size>.parquet``, derived
  once from ``log-<size>.parquet``), so that it is recognised as clean data and not cleaned again;
  ``score_raw:auto`` runs it on ``log-<size>.parquet`` itself, which ``rfmkit score`` cleans on the fly first
  (not in the defaults: see ``--only``). They agree with each other (customers, orders, money, segments,
  stages), not with the summary contenders, which compute other columns.
* ``cluster:spark`` (with ``--spark-master URL``, or ``--spark-master start`` for a standalone master and worker on
  127.0.0.1 started as the tests start them, ``tests/spark_cluster.py``): ``engine:spark``'s table against that
  cluster, then the same step written as Parquet by the executors (``rfmkit summary --engine spark --out
  FOLDER``), with the kit's own shuffle sizing; it prints where the time goes (JVM and session start, reading the
  log's footers, planning, the Spark jobs with the executors' task run and CPU time, collection to the driver, the
  driver's frames, the write, the stop), the log's file scans per query and the CPU seconds of each process (driver
  Python, driver JVM, and master + worker + executor when the script started them).

Every run is a fresh child process (imports included, as a user pays them) that reports
``resource.getrusage`` of itself and of its children at the end: CPU = user + system seconds of both
(Spark's JVM included: the child stops the gateway and waits for the JVM, so it counts as a child),
peak RSS = the larger of its own ``VmHWM`` and the children's ``ru_maxrss`` (the largest single
process; for Spark the JVM or the Python driver, not their sum); wall = seconds the parent waited
for the child. Rounds are interleaved (each round runs every contender once, in an order rotated per
round); medians over ``--rounds`` (default 3) and ratios to plain DuckDB are printed with the machine
and its load average before and after each round. All contenders' results are compared (customers,
sums of counts and money) and the output says whether they agree.

Defaults (``python benchmarks/scale.py``): sizes 1M and 10M, 3 rounds, all seven default contenders except
Spark above 1M rows (``--spark-max-rows``; a 2-core local Spark is not what Spark is for, and it
takes minutes per 10M run), the DuckDB engine (``engine:duckdb`` and ``score:duckdb``, the latter through a params
file) with ``memory_limit`` 3GB (``--duckdb-memory-limit``, '' for none); about 20 minutes on 2 idle cores.
``--sizes 10M-skewed`` (or ``1M-skewed``) runs the skewed log of :func:`make_skewed_log` (~2M customers at 10M
rows). The children import from bytecode cached under ``--data-dir`` (see :func:`child_env`).
``--huge`` adds 50M rows (with ``--only plain_duckdb,engine:duckdb``: pandas needs more than
10 GB there).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path.home() / ".cache" / "rfmkit" / "bench-scale"
CONTENDERS = (
    "plain_duckdb", "plain_pandas", "engine:pandas", "engine:duckdb", "engine:spark", "score:pandas", "score:duckdb",
)  # fmt: skip
#: contenders run only when named with --only
OPTIONAL = ("score_raw:auto",)
START = "2023-01-01"
DAYS = 730
AS_OF = "2024-12-30"  # START + DAYS - 1
SIZES = {"100k": 100_000, "1M": 1_000_000, "10M": 10_000_000, "50M": 50_000_000}
#: the skewed logs (:func:`make_skewed_log`): ``--sizes 1M-skewed,10M-skewed``
SIZES |= {f"{k}-skewed": v for k, v in SIZES.items() if k != "50M"}

PLAIN_SQL = """
WITH t AS (
    SELECT customer_id, COALESCE(order_id, CAST(CAST(order_date AS DATE) AS VARCHAR)) AS order_key,
           CAST(order_date AS DATE) AS day, amount
    FROM read_parquet($path)
    WHERE CAST(order_date AS DATE) <= $as_of
),
occ AS (SELECT customer_id, day, SUM(amount) AS amount FROM t GROUP BY customer_id, day),
b AS (
    SELECT customer_id, COUNT(*) - 1 AS x, MIN(day) AS first_day, MAX(day) AS last_day,
           SUM(amount) AS total, arg_min(amount, day) AS first_spend
    FROM occ GROUP BY customer_id
),
r AS (
    SELECT customer_id, COUNT(DISTINCT order_key) AS frequency, ROUND(SUM(amount), 6) AS monetary
    FROM t GROUP BY customer_id
)
SELECT b.customer_id, b.first_day AS first_purchase, b.last_day AS last_purchase,
       $as_of - b.last_day AS recency_days, r.frequency, r.monetary,
       b.x, (b.last_day - b.first_day) / 7.0 AS t_x, ($as_of - b.first_day) / 7.0 AS "T",
       CASE WHEN b.x > 0 THEN (b.total - b.first_spend) / b.x END AS monetary_value
FROM b JOIN r USING (customer_id)
"""


# ----------------------------------------------------------------------------- data
def make_log(path: Path, n: int, seed: int = 0) -> None:
    """Write a synthetic clean log of ``n`` rows to ``path`` (row groups of 1M rows, 5M at a time)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    n_customers = max(1, n * 4 // 100)
    start = np.datetime64(START, "ns")
    tmp = path.with_suffix(".tmp")
    writer = None
    order = 0
    chunk = 5_000_000
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        cust = rng.integers(0, n_customers, size=m)
        day = rng.integers(0, DAYS, size=m)
        new_order = rng.random(m) < 2 / 3  # ~1.5 rows per order
        new_order[0] = True
        order_no = order + np.cumsum(new_order)
        order = int(order_no[-1])
        seconds = rng.integers(0, 86_400, size=m)
        ts = start + (day * 86_400 + seconds).astype("timedelta64[s]").astype("timedelta64[ns]")
        amount = np.round(rng.lognormal(3.0, 0.8, size=m), 2)
        table = pa.table(
            {
                "customer_id": pc.cast(pa.array(cust + 1_000_000), pa.string()),
                "order_id": pc.cast(pa.array(order_no), pa.string()),
                "order_date": pa.array(ts, type=pa.timestamp("ns")),
                "amount": pa.array(amount),
            }
        )
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table, row_group_size=1_000_000)
    writer.close()
    tmp.rename(path)


def make_skewed_log(path: Path, n: int, seed: int = 0) -> None:
    """Write a skewed synthetic clean log of ``n`` rows to ``path``: rows per customer Pareto-distributed (1 +
    a Lomax draw with shape 1.2, at most 5,000; about a fifth as many customers as rows, most of them with one
    or two rows and a few with thousands), each customer's first day uniform over the two years and its rows
    uniform from that day to the end, the log in time order, about 1.5 rows per order (a new order when the
    customer or the day changes, else with probability 2/3). Written 1M rows per row group."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng([seed, 1])
    counts = np.empty(0, dtype=np.int64)
    while counts.sum() < n:
        more = 1 + np.floor(rng.pareto(1.2, size=max(n // 4, 1))).astype(np.int64)
        counts = np.concatenate([counts, np.minimum(more, 5_000)])
    ends = np.cumsum(counts)
    k = int(np.searchsorted(ends, n)) + 1
    counts = counts[:k]
    counts[-1] -= int(ends[k - 1]) - n
    cust = np.repeat(np.arange(k, dtype=np.int64), counts)
    first = rng.integers(0, DAYS, size=k)
    day = first[cust] + np.floor(rng.random(n) * (DAYS - first[cust])).astype(np.int64)
    order = np.lexsort((cust, day))
    cust, day = cust[order], day[order]
    del order
    changed = np.ones(n, dtype=bool)
    changed[1:] = (cust[1:] != cust[:-1]) | (day[1:] != day[:-1])
    order_no = np.cumsum(changed | (rng.random(n) < 2 / 3))
    seconds = rng.integers(0, 86_400, size=n)
    ts = np.datetime64(START, "ns") + (day * 86_400 + seconds).astype("timedelta64[s]").astype("timedelta64[ns]")
    amount = np.round(rng.lognormal(3.0, 0.8, size=n), 2)
    table = pa.table(
        {
            "customer_id": pc.cast(pa.array(cust + 1_000_000), pa.string()),
            "order_id": pc.cast(pa.array(order_no), pa.string()),
            "order_date": pa.array(ts, type=pa.timestamp("ns")),
            "amount": pa.array(amount),
        }
    )
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, row_group_size=1_000_000)
    tmp.rename(path)


def clean_shaped(log: Path) -> Path:
    """``clean-<size>.parquet`` beside ``log``: the log with ``is_outlier`` (False) and ``row_id`` (the row's
    position), the columns ``rfmkit clean`` adds, written once, a row group at a time."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = log.with_name(log.name.replace("log-", "clean-"))
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    source = pq.ParquetFile(log)
    writer = None
    offset = 0
    for i in range(source.num_row_groups):
        table = source.read_row_group(i)
        n = table.num_rows
        table = table.append_column("is_outlier", pa.array(np.zeros(n, dtype=bool)))
        table = table.append_column("row_id", pa.array(np.arange(offset, offset + n, dtype="int64")))
        offset += n
        if writer is None:
            writer = pq.ParquetWriter(tmp, table.schema)
        writer.write_table(table)
    writer.close()
    tmp.rename(path)
    return path


def dataset(data_dir: Path, label: str) -> Path:
    path = data_dir / f"log-{label}.parquet"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        print(f"writing {path} ...", flush=True)
        (make_skewed_log if label.endswith("-skewed") else make_log)(path, SIZES[label])
        print(f"  {SIZES[label]:,} rows in {time.perf_counter() - t:.0f} s", flush=True)
    return path


# ----------------------------------------------------------------------------- contenders (child side)
def run_plain_duckdb(path: str) -> dict:
    import datetime as dt

    import duckdb

    df = duckdb.execute(PLAIN_SQL, {"path": path, "as_of": dt.date.fromisoformat(AS_OF)}).df()
    return checks(df, "x")


def run_plain_pandas(path: str) -> dict:
    import numpy as np
    import pandas as pd

    as_of = pd.Timestamp(AS_OF)
    df = pd.read_parquet(path, columns=["customer_id", "order_id", "order_date", "amount"])
    df["day"] = df["order_date"].dt.normalize()
    df = df[df["day"] <= as_of]
    g = df.groupby("customer_id")
    out = g.agg(
        first_purchase=("day", "min"),
        last_purchase=("day", "max"),
        frequency=("order_id", "nunique"),
        monetary=("amount", "sum"),
    )
    out["monetary"] = out["monetary"].round(6)
    out["recency_days"] = (as_of - out["last_purchase"]).dt.days
    occ = df.groupby(["customer_id", "day"], as_index=False)["amount"].sum()
    og = occ.groupby("customer_id")
    x = og.size() - 1
    first_spend = og["amount"].first()
    out["x"] = x
    out["t_x"] = (out["last_purchase"] - out["first_purchase"]).dt.days / 7.0
    out["T"] = (as_of - out["first_purchase"]).dt.days / 7.0
    with np.errstate(all="ignore"):
        out["monetary_value"] = (og["amount"].sum() - first_spend) / x.where(x > 0)
    return checks(out.reset_index(), "x")


def run_engine(name: str, path: str, memory_limit: str | None) -> dict:
    from analysis.engines import SummaryRequest, customer_summary
    from analysis.params import DuckDBParams, EngineParams, SparkParams

    params = EngineParams(
        duckdb=DuckDBParams(memory_limit=memory_limit, temp_directory=str(Path(path).parent / "duckdb-spill")),
        spark=SparkParams(
            master="local[2]",
            config={
                "spark.sql.shuffle.partitions": "4",
                "spark.ui.enabled": "false",
                "spark.driver.memory": "3g",
            },
        ),
    )
    table = customer_summary(path, SummaryRequest(AS_OF), name, params).combined()
    if name == "spark":
        _reap_spark_jvm()
    return checks(table.reset_index(), "repeat_frequency")


def run_score(engine: str, path: str, memory_limit: str | None = None) -> dict:
    """``rfmkit score PATH --as-of AS_OF --engine ENGINE`` as a user runs it (the click command, in this process);
    with ``memory_limit`` (the DuckDB engine's) through a params file, as the docs advise setting it."""
    import tempfile

    import pandas as pd

    from analysis.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "customers.parquet"
        args = ["score", path, "--as-of", AS_OF, "--out", str(out), "--engine", engine]
        if memory_limit and engine == "duckdb":
            spill = Path(path).parent / "duckdb-spill"
            params = Path(tmp) / "params.yaml"
            params.write_text(f"engine_options:\n  duckdb: {{memory_limit: {memory_limit}, temp_directory: {spill}}}\n")
            args += ["--params", str(params)]
        try:
            main(args, standalone_mode=False)
        except SystemExit as exc:
            if exc.code:
                raise
        df = pd.read_parquet(out)
    return score_checks(df)


def score_checks(df) -> dict:
    """Figures the score contenders must agree on."""
    return {
        "customers": len(df),
        "orders": int(df["frequency"].sum()),
        "monetary": round(float(df["monetary"].sum()), 2),
        "segments": ",".join(f"{k}:{v}" for k, v in sorted(df["segment"].value_counts().items())),
        "stages": ",".join(f"{k}:{v}" for k, v in sorted(df["lifecycle_stage"].value_counts().items())),
        # the fitted models see the same summaries summed in another order: equal to about 1e-7
        "clv": float(f"{df['clv'].sum():.6g}") if "clv" in df.columns else None,
    }


def _reap_spark_jvm() -> None:
    """Stop the Py4J gateway and wait for the JVM, so that its CPU time counts in this process's children."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    if gateway is not None:
        proc = getattr(gateway, "proc", None)
        gateway.shutdown()
        if proc is not None:
            if proc.stdin:
                proc.stdin.close()  # the JVM exits when its stdin closes
            proc.wait(timeout=60)


def checks(df, x_col: str) -> dict:
    """Figures every contender must agree on."""
    return {
        "customers": len(df),
        "orders": int(df["frequency"].sum()),
        "repeat_days": int(df[x_col].sum()),
        "monetary": round(float(df["monetary"].sum()), 2),
        "t_x_days": round(float(df["t_x"].sum() * 7), 3),
        "T_days": round(float(df["T"].sum() * 7), 3),
        "monetary_value": round(float(df["monetary_value"].sum()), 4),
    }


# ----------------------------------------------------------------------------- Spark on a standalone cluster
#: The contender ``--spark-master URL`` adds: the summary of ``engine:spark`` (the same table) on that cluster.
CLUSTER = "cluster:spark"
#: Phases a ``cluster:spark`` child reports (seconds, wall of the driver unless said otherwise), in order.
SPARK_PHASES = {
    "session_s": "JVM + session start (driver JVM, SparkContext, application registered with the master)",
    "executors_s": "until the first executor registered",
    "read_s": "register the log (file listing, Parquet footers, the cached view)",
    "planning_s": "planning (parse, analyse, optimise, physical plan) of the check and the summary queries",
    "jobs_s": "Spark jobs of the queries (wall, from submission to completion: the executors' work)",
    "collect_s": "collection to the driver (the rest of toArrow: result batches to Python)",
    "driver_s": "driver-side Arrow → pandas → customer frames",
    "write_s": "rfmkit summary --out FOLDER (the same step written as Parquet by the executors: read, cache, jobs)",
    "stop_s": "session stop and JVM exit",
}
#: Task metrics summed over every stage (from the driver's status store), milliseconds unless said otherwise.
SPARK_TASK_METRICS = ("executorRunTime", "executorCpuTime", "jvmGcTime", "executorDeserializeTime",
                      "resultSerializationTime")  # fmt: skip


def cluster_config(master: str, executor_memory: str, extra: list[str]) -> dict[str, str]:
    """The session settings of a ``cluster:spark`` child: the kit's own sizing of shuffle partitions (nothing
    set here), the executor's memory, everything bound to 127.0.0.1 when the master is on this machine, then
    ``extra`` (``--spark-config KEY=VALUE``)."""
    config = {"spark.driver.memory": "2g", "spark.executor.memory": executor_memory, "spark.ui.enabled": "false"}
    if "127.0.0.1" in master or "localhost" in master:
        config |= {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
    return config | dict(item.split("=", 1) for item in extra)


def _spark_metrics(spark, first_stage: int, first_job: int) -> dict:
    """Task metrics summed over the stages with id >= ``first_stage`` and the wall seconds during which jobs with id
    >= ``first_job`` ran (the union of their spans), from the driver's status store (what the Spark UI shows; it is
    kept with the UI disabled)."""
    gateway = spark.sparkContext._gateway
    context = spark.sparkContext._jsc.sc()
    context.listenerBus().waitUntilEmpty()  # the status store is fed by the listener bus, asynchronously
    store = context.statusStore()
    totals = dict.fromkeys(SPARK_TASK_METRICS, 0.0) | {"stages": 0, "tasks": 0, "jobs": 0, "jobs_s": 0.0}
    totals |= {"shuffleWriteBytes": 0, "inputBytes": 0, "next_stage": 0, "next_job": 0}
    stages = store.stageList(None, False, False, gateway.new_array(gateway.jvm.double, 0), None).iterator()
    while stages.hasNext():
        s = stages.next()
        totals["next_stage"] = max(totals["next_stage"], s.stageId() + 1)
        if s.stageId() < first_stage:
            continue
        totals["stages"] += 1
        totals["tasks"] += s.numCompleteTasks()
        for key in (*SPARK_TASK_METRICS, "shuffleWriteBytes", "inputBytes"):
            totals[key] += getattr(s, key)()
    spans = []
    jobs = store.jobsList(None).iterator()
    while jobs.hasNext():
        j = jobs.next()
        totals["next_job"] = max(totals["next_job"], j.jobId() + 1)
        if j.jobId() < first_job or j.submissionTime().isEmpty() or j.completionTime().isEmpty():
            continue
        totals["jobs"] += 1
        spans.append((j.submissionTime().get().getTime(), j.completionTime().get().getTime()))
    # adaptive execution runs a query's stages as jobs side by side: the wall time is their union, not their sum
    end = None
    for start, stop in sorted(spans):
        start = start if end is None else max(start, end)
        if stop > start:
            totals["jobs_s"] += (stop - start) / 1000
            end = stop
    totals["executorCpuTime"] /= 1e6  # ns → ms
    return totals


def run_spark_cluster(path: str, master: str, executor_memory: str, extra_config: list[str]) -> dict:
    """The ``engine:spark`` summary (``customer_summary``, collected) against ``master``, then the same step
    written to a folder by the executors (``summary_to_folder``, what ``rfmkit summary --engine spark --out
    FOLDER`` runs), timed by phase (:data:`SPARK_PHASES`) with the executors' task metrics, the log's file scans per
    query (:func:`analysis.engines.spark_engine.file_scans`) and the shuffle partitions used."""
    import resource
    import tempfile

    from analysis.engines import SummaryRequest
    from analysis.engines.spark_engine import SparkEngine, file_scans, quiet_pandas3
    from analysis.engines.spark_score import SparkScoreEngine
    from analysis.params import SparkParams

    phases = dict.fromkeys(SPARK_PHASES, 0.0)
    scans: list[int] = []
    writing = False  # summary_to_folder registers the log again: its time counts in write_s

    class TimedEngine(SparkScoreEngine):
        """The registry's Spark engine, its queries timed: planning, then toArrow (jobs + collection), then pandas."""

        def register(self, source):
            t = time.perf_counter()
            try:
                return super().register(source)
            finally:
                if not writing:
                    phases["read_s"] += time.perf_counter() - t

        def query(self, sql, params):
            t0 = time.perf_counter()
            with quiet_pandas3():
                df = self.spark.sql(sql, args=params or None)
                scans.append(file_scans(df))  # plans the query (the plan is kept for the run)
                t1 = time.perf_counter()
                ids = _spark_metrics(self.spark, 1 << 30, 1 << 30)
                table = df.toArrow()
                t2 = time.perf_counter()
            jobs_s = _spark_metrics(self.spark, ids["next_stage"], ids["next_job"])["jobs_s"]
            phases["planning_s"] += t1 - t0
            phases["jobs_s"] += jobs_s
            phases["collect_s"] += max(0.0, t2 - t1 - jobs_s)
            return table.to_pandas()

    assert issubclass(TimedEngine, SparkEngine)
    t = time.perf_counter()
    engine = TimedEngine(SparkParams(master=master, config=cluster_config(master, executor_memory, extra_config)))
    spark = engine.spark
    phases["session_s"] = time.perf_counter() - t
    t = time.perf_counter()
    while len(spark.sparkContext.statusTracker().getExecutorInfos()) < 2 and time.perf_counter() - t < 300:
        time.sleep(0.2)  # the driver is listed too
    phases["executors_s"] = time.perf_counter() - t
    request = SummaryRequest(AS_OF)
    t = time.perf_counter()
    table = engine.customer_summary(path, request).combined()
    summary_s = time.perf_counter() - t
    metrics = _spark_metrics(spark, 0, 0)
    shuffle_partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    phases["driver_s"] = max(0.0, summary_s - sum(phases[k] for k in ("read_s", "planning_s", "jobs_s", "collect_s")))
    engine._release()
    writing = True
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        engine.summary_to_folder(path, request, Path(tmp) / "summary")
        phases["write_s"] = time.perf_counter() - t
    write = _spark_metrics(spark, metrics["next_stage"], metrics["next_job"])
    t = time.perf_counter()
    engine.close()
    _reap_spark_jvm()
    phases["stop_s"] = time.perf_counter() - t
    me = resource.getrusage(resource.RUSAGE_SELF)
    jvm = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = checks(table.reset_index(), "repeat_frequency")
    res["spark"] = {
        **phases,
        "summary_s": summary_s,
        "scans": scans,
        "shuffle_partitions": shuffle_partitions,
        "summary_tasks": {k: metrics[k] for k in (*SPARK_TASK_METRICS, "stages", "tasks", "jobs", "shuffleWriteBytes")},
        "write_tasks": {k: write[k] for k in (*SPARK_TASK_METRICS, "stages", "tasks", "jobs", "shuffleWriteBytes")},
        "driver_python_cpu_s": me.ru_utime + me.ru_stime,
        "driver_jvm_cpu_s": jvm.ru_utime + jvm.ru_stime,
    }
    return res


def start_local_cluster(folder: Path, cores: int, memory: str):
    """A standalone master and one worker on 127.0.0.1 (``cores`` cores, ``memory`` for executors), started as the
    test suite starts them (``tests/spark_cluster.py``); the caller stops it."""
    sys.path.insert(0, str(REPO))
    from tests.spark_cluster import start_cluster, why_no_cluster

    reason = why_no_cluster()
    if reason:
        raise SystemExit(f"--spark-master start: {reason}")
    folder.mkdir(parents=True, exist_ok=True)
    return start_cluster(folder, cores=cores, memory=memory)


def add_spark_cluster_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Spark on a cluster")
    group.add_argument(
        "--spark-master",
        help=f"also run {CLUSTER}: the engine:spark summary against this master URL (spark://HOST:PORT, yarn, "
        "k8s://...; the log's path must be readable by the executors), or 'start' to start a standalone master and "
        "one worker on 127.0.0.1 as the tests do (tests/spark_cluster.py) and stop them at the end",
    )
    group.add_argument("--spark-worker-cores", type=int, default=2, help="cores of the worker 'start' starts (2)")
    group.add_argument("--spark-worker-memory", default="3g", help="memory of the worker 'start' starts (3g)")
    group.add_argument("--spark-executor-memory", default="2g", help="spark.executor.memory of the session (2g)")
    group.add_argument(
        "--spark-config",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting of the cluster:spark session, as params engine_options.spark.config sets it "
        "(repeatable; e.g. spark.sql.shuffle.partitions=200 to see Spark's default)",
    )


def spark_cluster_env(env: dict[str, str], master: str) -> dict[str, str]:
    """The children's environment for ``cluster:spark``: this Python on the executors (rfmkit importable), and
    127.0.0.1 as the driver's address when the master runs on this machine."""
    env = env | {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    if "127.0.0.1" in master or "localhost" in master:
        env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


def report_spark_phases(results: dict, sizes: list[str]) -> None:
    """Where ``cluster:spark``'s time goes: medians of each phase, the executors' task time, the CPU seconds of
    each process, the log's file scans per query and the shuffle partitions."""
    for size in sizes:
        runs = [x["spark"] for x in results.get((size, CLUSTER), []) if "spark" in x]
        if not runs:
            continue

        def med(get, runs: list[dict] = runs) -> float:
            return statistics.median(get(x) for x in runs)

        print()
        print(f"{size} {CLUSTER}: where the time goes (medians of {len(runs)} run(s); wall seconds of the driver)")
        print("| phase | wall s |")
        print("|---|---:|")
        for key, what in SPARK_PHASES.items():
            print(f"| {what} | {med(lambda x, k=key: x[k]):.1f} |")
        for label, part in (("summary", "summary_tasks"), ("write", "write_tasks")):
            print(
                f"executors, {label}: task run time {med(lambda x, p=part: x[p]['executorRunTime']) / 1000:.1f} s, "
                f"task CPU {med(lambda x, p=part: x[p]['executorCpuTime']) / 1000:.1f} s, "
                f"GC {med(lambda x, p=part: x[p]['jvmGcTime']) / 1000:.1f} s, "
                f"{med(lambda x, p=part: x[p]['jobs']):.0f} jobs, {med(lambda x, p=part: x[p]['stages']):.0f} stages, "
                f"{med(lambda x, p=part: x[p]['tasks']):.0f} tasks, shuffle written "
                f"{med(lambda x, p=part: x[p]['shuffleWriteBytes']) / 1024**2:.0f} MiB"
            )
        cpu = [x for x in results[(size, CLUSTER)] if "spark" in x]
        cluster_cpu = [x["cluster_cpu_s"] for x in cpu if "cluster_cpu_s" in x]
        print(
            f"CPU s by process: driver Python {med(lambda x: x['driver_python_cpu_s']):.1f}, driver JVM "
            f"{med(lambda x: x['driver_jvm_cpu_s']):.1f}, "
            + (
                f"master + worker + executor JVMs {statistics.median(cluster_cpu):.1f}"
                if cluster_cpu
                else "cluster JVMs not measured (a cluster this script did not start: see the task CPU above)"
            )
        )
        print(f"file scans of the log per query (the check, the summary): {runs[0]['scans']}; "
              f"shuffle partitions {runs[0]['shuffle_partitions']}")  # fmt: skip


# ----------------------------------------------------------------------------- parent side
#: Where the children's compiled bytecode is cached (under ``--data-dir``; see :func:`child_env`).
PYCACHE = "pycache"


def child_env(data_dir: Path) -> dict[str, str]:
    """The children's environment: the repository on the path, and compiled bytecode cached under
    ``data_dir/pycache`` even where ``PYTHONDONTWRITEBYTECODE`` is set (as in this project's sandboxes), since a
    user's installation has its ``.pyc`` files (pip compiles them): otherwise every child would compile the
    sources of pandas, SciPy, scikit-learn and rfmkit again (about 3-5 CPU s)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | {"PYTHONPATH": str(REPO), "PYTHONPYCACHEPREFIX": str(data_dir / PYCACHE)}


#: Imported once by :func:`warm_bytecode` before the first round, so that no measured run compiles them.
WARM_IMPORTS = (
    "analysis.cli", "analysis.stages", "analysis.engines.duckdb_engine", "analysis.engines.pandas_engine",
    "analysis.clv.pipeline", "analysis.customers.cluster", "analysis.customers.enrich", "sklearn.cluster",
    "sklearn.metrics", "scipy.optimize", "scipy.special", "pyarrow.parquet", "duckdb",
)  # fmt: skip


def warm_bytecode(data_dir: Path) -> None:
    """Compile and cache the bytecode of what the contenders import (one child, not measured)."""
    code = "import importlib\nfor m in " + repr(WARM_IMPORTS) + ": importlib.import_module(m)"
    subprocess.run([sys.executable, "-c", code], env=child_env(data_dir), check=False, capture_output=True)


def measure(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` as a child; its CPU s, wall s and peak RSS (MiB) from ``os.wait4``, and its JSON output."""
    env = env if env is not None else os.environ | {"PYTHONPATH": str(REPO)}
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"timeout {timeout:.0f} s"}
    # the child reports its own rusage (RUSAGE_SELF + RUSAGE_CHILDREN) as its last line (see child_main)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        lines = err.strip().splitlines() or ["failed"]
        # the error itself, not a hint printed after it (DuckDB's "See also ..." follows its out-of-memory error)
        errors = [line for line in lines if "Error" in line or "error:" in line]
        return {"error": (errors or lines)[-1][:300]}
    res = json.loads(out.strip().splitlines()[-1])
    res["wall_s"] = wall
    return res


def child_main(contender: str, path: str, memory_limit: str | None, spark_args: argparse.Namespace) -> None:
    import resource

    if contender == CLUSTER:
        res = run_spark_cluster(
            path, spark_args.spark_master, spark_args.spark_executor_memory, spark_args.spark_config
        )
    elif contender == "plain_duckdb":
        res = run_plain_duckdb(path)
    elif contender == "plain_pandas":
        res = run_plain_pandas(path)
    elif contender.startswith(("score:", "score_raw:")):
        res = run_score(contender.split(":", 1)[1], path, memory_limit)
    else:
        res = run_engine(contender.split(":", 1)[1], path, memory_limit)
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    res["cpu_s"] = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    # this process's own peak from VmHWM: ru_maxrss of RUSAGE_SELF survives exec, so it would include
    # the parent's size at fork; the children's (Spark's JVM) from ru_maxrss
    with open("/proc/self/status") as fh:
        own_kib = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM"))
    res["peak_mib"] = max(own_kib, kids.ru_maxrss) / 1024
    print(json.dumps(res))


def machine() -> str:
    def first(path: str, prefix: str) -> str:
        try:
            with open(path) as fh:
                return next((line for line in fh if line.startswith(prefix)), "?")
        except OSError:
            return "?"

    cpu = first("/proc/cpuinfo", "model name").split(":", 1)[-1].strip()
    mem = first("/proc/meminfo", "MemTotal").split()
    ram = f"{int(mem[1]) / 1024**2:.1f} GiB" if len(mem) > 1 else "?"
    return f"{platform.platform()}; {os.cpu_count()} cores ({cpu}); RAM {ram}; Python {platform.python_version()}"


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1M,10M", help="comma list of 1M, 10M, 50M (default 1M,10M)")
    parser.add_argument("--huge", action="store_true", help="add 50M rows")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--spark-max-rows", type=int, default=1_000_000, help="run engine:spark only up to this size (default 1M)"
    )
    parser.add_argument(
        "--only", default=",".join(CONTENDERS), help=f"comma list of {', '.join(CONTENDERS + OPTIONAL)}"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--duckdb-memory-limit", default="3GB", help="the DuckDB engine's memory_limit (default 3GB)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    parser.add_argument("--child", nargs=2, metavar=("CONTENDER", "PATH"), help=argparse.SUPPRESS)
    add_spark_cluster_args(parser)
    args = parser.parse_args()
    if args.child:
        child_main(args.child[0], args.child[1], args.duckdb_memory_limit, args)
        return
    bad = [item for item in args.spark_config if "=" not in item]
    if bad:
        parser.error(f"--spark-config takes KEY=VALUE, not {bad[0]!r}")
    cluster = None
    try:
        if args.spark_master == "start":
            cluster = start_local_cluster(args.data_dir / "spark-cluster", args.spark_worker_cores,
                                          args.spark_worker_memory)  # fmt: skip
            args.spark_master = cluster.url
            print(f"started a standalone master and worker ({args.spark_worker_cores} cores, "
                  f"{args.spark_worker_memory}) at {cluster.url} in {cluster.start_seconds:.1f} s wall")  # fmt: skip
        run_rounds(args, parser, cluster)
    finally:
        if cluster is not None:
            cluster.stop()


def run_rounds(args: argparse.Namespace, parser: argparse.ArgumentParser, cluster: object | None) -> None:
    """The interleaved rounds over the sizes and contenders, then the report."""
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()] + (["50M"] if args.huge else [])
    contenders = [c.strip() for c in args.only.split(",") if c.strip()]
    if args.spark_master and CLUSTER not in contenders:
        contenders.append(CLUSTER)
    elif CLUSTER in contenders and not args.spark_master:
        parser.error(f"{CLUSTER} needs --spark-master URL (or 'start')")
    unknown = sorted(set(contenders) - set(CONTENDERS + OPTIONAL + (CLUSTER,))) + sorted(set(sizes) - set(SIZES))
    if unknown:
        parser.error(f"unknown contender or size {unknown}")
    print(f"machine: {machine()}")
    print(f"settings: sizes {sizes}, {args.rounds} rounds, contenders {contenders}, as of {AS_OF}, "
          f"DuckDB engine memory_limit {args.duckdb_memory_limit}, bytecode cached in "
          f"{args.data_dir / PYCACHE}")  # fmt: skip
    paths = {s: dataset(args.data_dir, s) for s in sizes}
    clean_paths = {s: clean_shaped(paths[s]) for s in sizes} if any(c.startswith("score:") for c in contenders) else {}
    warm_bytecode(args.data_dir)
    env = child_env(args.data_dir)
    results: dict[tuple[str, str], list[dict]] = {}
    for r in range(args.rounds):
        for size in sizes:
            order = contenders[r % len(contenders) :] + contenders[: r % len(contenders)]
            before = load()
            for c in order:
                if c == "engine:spark" and SIZES[size] > args.spark_max_rows:
                    continue
                path = clean_paths[size] if c.startswith("score:") else paths[size]
                cmd = [sys.executable, __file__, "--child", c, str(path), "--duckdb-memory-limit",
                       args.duckdb_memory_limit]  # fmt: skip
                res = measure_on_cluster(cmd, args, env, cluster) if c == CLUSTER else measure(cmd, args.timeout, env)
                results.setdefault((size, c), []).append(res)
                shown = (
                    res.get("error")
                    or f"cpu {res['cpu_s']:.1f} s, wall {res['wall_s']:.1f} s, peak {res['peak_mib']:.0f} MiB"
                )
                print(f"round {r + 1} {size:>10} {c:<14} {shown}", flush=True)
            print(f"round {r + 1} {size:>10} load average before/after (1/5/15 min): {before} → {load()}", flush=True)
    report(results, sizes, contenders)
    report_spark_phases(results, sizes)


def measure_on_cluster(cmd: list[str], args: argparse.Namespace, env: dict[str, str], cluster: object | None) -> dict:
    """:func:`measure` of a ``cluster:spark`` child, with the CPU seconds the master, the worker and the executor
    spent meanwhile (``cluster_cpu_s``, added to ``cpu_s``) when this script started the cluster."""
    cmd = [*cmd, "--spark-master", args.spark_master, "--spark-executor-memory", args.spark_executor_memory]
    cmd += [f"--spark-config={item}" for item in args.spark_config]
    before = cluster.cpu_seconds() if cluster is not None else None
    res = measure(cmd, args.timeout, spark_cluster_env(env, args.spark_master))
    if before is not None and "error" not in res:
        time.sleep(3)  # the worker reaps the finished application's executor
        res["cluster_cpu_s"] = cluster.cpu_seconds() - before
        res["cpu_s"] += res["cluster_cpu_s"]
    return res


def report(results: dict, sizes: list[str], contenders: list[str]) -> None:
    def med(runs: list[dict], key: str) -> float:
        vals = [x[key] for x in runs if key in x]
        return statistics.median(vals) if vals else float("nan")

    print()
    print("medians over rounds; ratio = CPU / plain DuckDB's CPU (and / plain pandas')")
    header = "| rows | contender | CPU s | wall s | peak RSS MiB | CPU ÷ plain DuckDB | CPU ÷ plain pandas | runs |"
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for size in sizes:
        base_duck = med(results.get((size, "plain_duckdb"), []), "cpu_s")
        base_pd = med(results.get((size, "plain_pandas"), []), "cpu_s")
        for c in contenders:
            runs = results.get((size, c))
            if not runs:
                continue
            ok = [x for x in runs if "error" not in x]
            cpu, wall, peak = med(ok, "cpu_s"), med(ok, "wall_s"), med(ok, "peak_mib")
            errs = len(runs) - len(ok)
            print(
                f"| {size} | {c} | {cpu:.1f} | {wall:.1f} | {peak:.0f} | {cpu / base_duck:.2f} | {cpu / base_pd:.2f} "
                f"| {len(ok)}{f' ({errs} failed)' if errs else ''} |"
            )
    print()
    families = {
        "summary": ("customers", "orders", "repeat_days", "monetary", "t_x_days", "T_days", "monetary_value"),
        "score": ("customers", "orders", "monetary", "segments", "stages", "clv"),
    }
    for size in sizes:
        for family, keys in families.items():
            seen = {}
            for c in contenders:
                if c.startswith(("score:", "score_raw:")) != (family == "score"):
                    continue
                for x in results.get((size, c), []):
                    if "error" not in x:
                        seen[c] = tuple(x[k] for k in keys)
            if not seen:
                continue
            agree = len(set(seen.values())) <= 1
            first = next(iter(seen.values()))
            print(f"{size} {family}: results {'identical' if agree else 'DIFFER'} across {sorted(seen)}; "
                  f"{dict(zip(keys, first, strict=True))}")  # fmt: skip
            if not agree:
                for c, v in seen.items():
                    print(f"   {c}: {dict(zip(keys, v, strict=True))}")
    for size in ("10M", "10M-skewed"):
        for c in ("score:duckdb", "score:pandas"):
            if (size, c) in results:
                ok = [x for x in results[(size, c)] if "error" not in x]
                cpu, peak = med(ok, "cpu_s"), med(ok, "peak_mib") / 1024
                print(f"goal: rfmkit score ({c}) at {size} rows <= 30 s CPU and <= 2 GiB peak: {cpu:.1f} s, "
                      f"{peak:.2f} GiB → {'reached' if cpu <= 30 and peak <= 2 else 'NOT reached'}")  # fmt: skip
    if "10M" in sizes and ("10M", "engine:duckdb") in results and ("10M", "plain_duckdb") in results:
        ratio = med(results[("10M", "engine:duckdb")], "cpu_s") / med(results[("10M", "plain_duckdb")], "cpu_s")
        print(f"goal: 10M-row summary within 1.2x of plain DuckDB's CPU: {ratio:.2f}x → "
              f"{'reached' if ratio <= 1.2 else 'NOT reached'}")  # fmt: skip
    for small, large in (("1M", "10M"), ("1M-skewed", "10M-skewed")):
        for c in ("score:duckdb", "score:pandas"):
            if (small, c) in results and (large, c) in results:
                growth = med(results[(large, c)], "cpu_s") / med(results[(small, c)], "cpu_s")
                linear = SIZES[large] / SIZES[small]
                print(f"goal: rfmkit score ({c}) from {small} to {large} rows within 1.5x of linear CPU growth "
                      f"({linear:.0f}x the rows): {growth:.2f}x the CPU → "
                      f"{'reached' if growth <= 1.5 * linear else 'NOT reached'}")  # fmt: skip
    if "50M" in sizes and ("50M", "engine:duckdb") in results:
        peak = med(results[("50M", "engine:duckdb")], "peak_mib") / 1024
        print(f"goal: 50M rows with peak memory <= 4 GiB: {peak:.2f} GiB → {'reached' if peak <= 4 else 'NOT reached'}")
    if "50M" in sizes and ("50M", "score:duckdb") in results:
        ok = [x for x in results[("50M", "score:duckdb")] if "error" not in x]
        peak = med(ok, "peak_mib") / 1024
        shown = f"{peak:.2f} GiB" if ok else "failed"
        print(f"goal: rfmkit score at 50M rows within 4 GiB with the documented memory_limit: {shown} → "
              f"{'reached' if ok and peak <= 4 else 'NOT reached'}")  # fmt: skip


if __name__ == "__main__":
    main()
