"""The Spark engine: the shared SQL (:mod:`analysis.engines.sql`) on Spark SQL.

The session comes from :func:`spark_session`: ``master`` from the params, else ``$SPARK_MASTER``,
else ``local[*]``; session time zone UTC, so that a day is the same calendar day on every executor; shuffle
partitions sized to the cluster's cores and the input's size unless set (:func:`size_shuffle_partitions`), with
adaptive execution coalescing the small ones. The input's four canonical columns are cached when it is registered, so
the shared SQL reads the files once (:func:`file_scans` counts the file reads of a query's plan).
Parquet and CSV files, folders and globs are read by Spark (on a cluster: paths every executor can
read, e.g. ``s3a://`` or HDFS). Only the per-customer aggregates come back to the driver.

pandas 3 is newer than PySpark declares support for; the two warnings that follow from it on import
and conversion (PySpark's "does not yet fully support pandas >= 3.0.0" FutureWarning and pandas'
deprecation of ``copy=`` inside PySpark's conversion code) are silenced here and nowhere else.
Results come back through Arrow (``DataFrame.toArrow``), not PySpark's pandas conversion.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator

import pandas as pd

from analysis.engines.base import Source, SQLEngine, check_columns, file_format, resolve_files
from analysis.params import SparkParams

_VIEW = """
CREATE OR REPLACE TEMP VIEW transactions AS
SELECT CAST(customer_id AS STRING) AS customer_id,
       {order_id} AS order_id,
       unix_date(CAST({order_date} AS DATE)) AS day_n,
       CAST(amount AS DOUBLE) AS amount
FROM raw_input
"""

#: Settings every session gets (the params' ``config`` may override them).
DEFAULT_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    # pandas writes nanosecond timestamps, which Spark's Parquet reader rejects; read them as longs
    "spark.sql.legacy.parquet.nanosAsLong": "true",
    "spark.ui.showConsoleProgress": "false",
    # adaptive execution (Spark's default since 3.2, stated so that a cluster's spark-defaults.conf that turned it
    # off does not undo the sizing below): shuffle partitions are an upper bound, small ones are coalesced at run time
    "spark.sql.adaptive.enabled": "true",
    "spark.sql.adaptive.coalescePartitions.enabled": "true",
}


@contextlib.contextmanager
def quiet_pandas3() -> Iterator[None]:
    """Silence only the two known PySpark-with-pandas-3 warnings (see the module docstring)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
        warnings.filterwarnings("ignore", message="The copy keyword is deprecated", module="pyspark")
        yield


def spark_session(params: SparkParams | None = None):
    """A SparkSession from the params (``master``, ``config``) or the environment (``$SPARK_MASTER``)."""
    try:
        with quiet_pandas3():
            from pyspark.sql import SparkSession
    except ImportError:
        from analysis.engines import EngineError

        raise EngineError("the spark engine needs PySpark: pip install 'rfmkit[spark]' (and Java 17+)") from None
    params = params or SparkParams()
    master = params.master or os.environ.get("SPARK_MASTER") or "local[*]"
    if master.startswith("local"):
        # local Python workers run this interpreter (its venv has rfmkit), not the first python3 on PATH;
        # on a cluster PYSPARK_PYTHON names the executors' interpreter (see the README)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(params.app_name).master(master)
    for key, value in {**DEFAULT_CONFIG, **params.config}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    size_shuffle_partitions(session)
    return session


#: Shuffle partitions per core of the cluster when nobody set ``spark.sql.shuffle.partitions``.
SHUFFLE_PARTITIONS_PER_CORE = 2
#: Bytes of input files (compressed Parquet or CSV) per shuffle partition, for logs too large for 2 x cores.
INPUT_BYTES_PER_PARTITION = 64 * 1024**2
_SHUFFLE_KEY = "spark.sql.shuffle.partitions"
#: Where the session keeps the value the kit chose, to tell it from one a user set at run time (``spark.conf.set``).
_SIZED_KEY = "rfmkit.sizedShufflePartitions"
#: Spark's own default of ``spark.sql.shuffle.partitions``.
_SPARK_DEFAULT_PARTITIONS = "200"


def cluster_cores(session) -> int:
    """The cores the application can use: the context's default parallelism (the executors' cores registered so
    far, at least 2), or what the settings promise when executors are still starting (``spark.cores.max``,
    ``spark.executor.instances`` × ``spark.executor.cores``)."""
    conf = session.sparkContext.getConf()
    cores = session.sparkContext.defaultParallelism
    with contextlib.suppress(ValueError):
        cores = max(cores, int(conf.get("spark.cores.max", "0")))
        cores = max(cores, int(conf.get("spark.executor.instances", "0")) * int(conf.get("spark.executor.cores", "1")))
    return max(1, cores)


def size_shuffle_partitions(session, input_bytes: int = 0) -> None:
    """Size ``spark.sql.shuffle.partitions`` to the cluster and the input unless it was set (params ``config``,
    ``spark-defaults.conf``, ``--conf``, or ``spark.conf.set`` in a running session):
    :data:`SHUFFLE_PARTITIONS_PER_CORE` × :func:`cluster_cores`, or one per :data:`INPUT_BYTES_PER_PARTITION` of input
    files when that is more; adaptive execution coalesces the small ones. Spark's default of 200 made the summary's
    write cost 170 s for a 10M-row log on two cores."""
    if session.sparkContext.getConf().contains(_SHUFFLE_KEY):
        return
    if session.conf.get(_SHUFFLE_KEY) != session.conf.get(_SIZED_KEY, _SPARK_DEFAULT_PARTITIONS):
        return  # set at run time by the user, not by this function
    by_cores = SHUFFLE_PARTITIONS_PER_CORE * cluster_cores(session)
    by_size = -(-input_bytes // INPUT_BYTES_PER_PARTITION)
    value = str(max(2, by_cores, by_size))
    session.conf.set(_SHUFFLE_KEY, value)
    session.conf.set(_SIZED_KEY, value)


def file_scans(df) -> int:
    """How many times running the Spark DataFrame ``df`` reads input files: the file scans in its physical plan,
    where a cached relation not filled yet counts once however often the plan reads it, and a filled one not at all.
    Used by the tests and ``benchmarks/scale.py`` to show that the shared SQL reads the log once."""
    seen: set[str] = set()

    def walk(plan) -> int:
        name = plan.getClass().getSimpleName()
        if name == "AdaptiveSparkPlanExec":
            return walk(plan.executedPlan())
        n = 1 if name in ("FileSourceScanExec", "BatchScanExec", "RowDataSourceScanExec") else 0
        if name == "InMemoryTableScanExec":
            builder = plan.relation().cacheBuilder()
            key = builder.cachedPlan().toString()
            if not builder.isCachedColumnBuffersLoaded() and key not in seen:
                seen.add(key)
                n += walk(builder.cachedPlan())
        children = plan.children().iterator()
        while children.hasNext():
            n += walk(children.next())
        return n

    return walk(df._jdf.queryExecution().executedPlan())


def is_remote(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a URL of a file system Spark reads (``hdfs://``, ``s3a://``, …), not a local path."""
    text = os.fspath(path)
    return "://" in text and not text.startswith("file://")


class SparkEngine(SQLEngine):
    """The shared SQL on Spark; pass ``session`` to use an existing SparkSession."""

    name = "spark"

    def __init__(self, params: SparkParams | None = None, session=None) -> None:
        self.params = params or SparkParams()
        self._cached = False  # whether the registered input's canonical columns are cached (see register)
        if session is None:
            try:
                with quiet_pandas3():
                    from pyspark.sql import SparkSession
                active = SparkSession.getActiveSession()
            except ImportError:
                active = None  # spark_session says how to install PySpark
            self.spark = spark_session(self.params)
            # a session already running in this process (a notebook's, a test's) is used and left running
            self._owns_session = active is None
        else:
            self.spark = session
            self._owns_session = False

    def register(self, source: Source) -> str:
        if isinstance(source, pd.DataFrame):
            import pyarrow as pa

            origin = "the transactions"
            has_order = check_columns(list(source.columns), origin)
            cols = ["customer_id", "order_date", "amount"] + (["order_id"] if has_order else [])
            frame = source[cols].copy()
            for c in ("customer_id", "order_id"):
                if c in frame:
                    frame[c] = frame[c].astype("string")
            frame["order_date"] = frame["order_date"].astype("datetime64[us]")
            with quiet_pandas3():
                df = self.spark.createDataFrame(pa.Table.from_pandas(frame, preserve_index=False))
        else:
            origin = os.fspath(source)
            # a cluster's storage (hdfs://, s3a://, abfss://, …) is listed by Spark itself; local paths here
            files = [origin] if is_remote(origin) else [str(f) for f in resolve_files(source)]
            reader = self.spark.read
            kind = file_format(files[0], strict=not is_remote(origin)) or "parquet"  # a remote folder: Parquet
            df = reader.parquet(*files) if kind == "parquet" else reader.csv(files, header=True)
            has_order = check_columns(df.columns, origin)
            size_shuffle_partitions(self.spark, 0 if is_remote(origin) else sum(os.path.getsize(f) for f in files))
        date_type = dict(df.dtypes)["order_date"]
        # nanosecond Parquet timestamps arrive as longs (see DEFAULT_CONFIG): nanoseconds → microseconds
        order_date = "timestamp_micros(order_date DIV 1000)" if date_type == "bigint" else "order_date"
        df.createOrReplaceTempView("raw_input")
        self.spark.sql(
            _VIEW.format(
                order_id="CAST(order_id AS STRING)" if has_order else "CAST(NULL AS STRING)", order_date=order_date
            )
        )
        # the shared SQL reads the log in several places (the checks, then CTEs that Spark inlines: four scans
        # of the files for the summary); the four canonical columns are cached (spilling to disk past memory), so
        # the files are read once per register
        self.spark.sql("CACHE LAZY TABLE transactions OPTIONS ('storageLevel' 'MEMORY_AND_DISK')")
        self._cached = True
        return origin

    def _release(self) -> None:
        if self._cached:
            self.spark.sql("UNCACHE TABLE IF EXISTS transactions")
            self._cached = False

    def query(self, sql: str, params: dict[str, int]) -> pd.DataFrame:
        with quiet_pandas3():
            return self.spark.sql(sql, args=params or None).toArrow().to_pandas()

    def close(self) -> None:
        self._release()
        if self._owns_session:
            self.spark.stop()
