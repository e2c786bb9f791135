"""Scoring every customer on Spark: the summary, the RFM scores and segments computed and written as Parquet by the
executors, with the rules every engine uses (no second copy of them here).

One definition of every rule, used by every engine:

* the per-customer aggregates are those of the shared SQL (:data:`analysis.engines.sql.CUSTOMER_STEP_SQL` for the
  summary, :data:`~analysis.engines.sql.SCORE_STEP_SQL` for the scores), run by Spark SQL as DuckDB runs them;
* their arithmetic (day counts / unit length, the repeat-spend mean, ``monetary`` rounded to 1e-6) is
  :func:`analysis.engines.base.frames_from_aggregates`, called on each batch of customers by the executors
  (``mapInPandas``): ``rfmkit summary`` writes :meth:`~analysis.engines.base.CustomerSummary.combined` of each batch;
* the scores, ``rfm_code``, ``segment`` and the value classes are :func:`analysis.customers.rfm.score_rfm`,
  :func:`analysis.customers.segments.assign_segments` and :func:`analysis.customers.segments.value_class_flags`
  with :data:`~analysis.customers.segments.VALUE_CLASSES`, called on each batch by the executors with the
  population's cut points and means, which are the only things the rules need from all customers at once;
* the CLV is :func:`analysis.customers.enrich.clv_value` (:func:`analysis.clv.pipeline.estimate_customer_value`:
  BG/NBD, else Pareto/NBD, else MBG/NBD, else the run-rate estimate; Gamma-Gamma, else the observed mean spend),
  given the BTYD summary and the run-rate facts that :func:`analysis.engines.base.score_frames_from_aggregates`
  makes from the shared score SQL's rows, exactly as ``rfmkit score`` on DuckDB does.

What reaches the driver:

* the RFM cut points: the 20/40/60/80 % quantiles of the pandas reference (numpy's linear interpolation) need the
  values at a few ranks only. :func:`exact_quantiles` brackets each rank with Spark's approximate quantiles,
  counts the values below the bracket and collects the values inside it as (value, count) pairs, then
  interpolates exactly as numpy does, so the cut points are equal to numpy's; the means of R, F and M (one job);
* with CLV: the score SQL's numbers per customer (about 30 numbers and the id: some 300 bytes a customer), which
  the fallback chain is run on; the four CLV columns go back to the executors, joined to the scores by
  ``customer_id``. Without CLV (``clv.enabled: false``) nothing per customer reaches the driver.

Every executor imports rfmkit (``mapInPandas``), so every node needs it installed (on a cluster: install the wheel on
the nodes or ship a packed virtual environment, see docs/engines.md).

Columns written: those of ``rfmkit score`` up to the CLV columns (``first_purchase``, ``last_purchase``,
``recency_days``, ``frequency``, ``monetary``, ``r_score``, ``f_score``, ``m_score``, ``rfm_code``,
``segment``, ``value_class``, ``value_class_en``, ``p_alive``, ``expected_purchases``, ``spend_per_purchase``,
``expected_spend_horizon``, ``clv``), one row per customer with a purchase in the RFM window, sorted by
``customer_id``. Not written: ``abc_class``, ``lifecycle_stage`` and ``cluster`` (k-means and the lifecycle rules
run on one machine). When the CLV cannot be estimated at all (missing values, negative amounts) the CLV columns are
left out and :attr:`SparkScoreResult.clv_reason` says why.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.engines.base import (
    HOLDOUT_COLUMNS,
    RFM_COLUMNS,
    FolderResult,
    ScoreRequest,
    Source,
    SummaryRequest,
    check_counts,
    day_timestamp,
    local_days,
    retention_base_n,
)
from analysis.engines.spark_engine import SparkEngine, is_remote
from analysis.errors import InputError, ModelError, ParamsError

log = logging.getLogger(__name__)

#: Score and CLV columns written after the RFM columns, in ``rfmkit score`` order.
SCORE_COLUMNS = ("r_score", "f_score", "m_score", "rfm_code", "segment", "value_class", "value_class_en")
CLV_COLUMNS = ("p_alive", "expected_purchases", "spend_per_purchase", "expected_spend_horizon", "clv")
#: The BTYD columns of ``rfmkit summary`` (the BTYD ``frequency`` named ``repeat_frequency``).
BTYD_COLUMNS = ("repeat_frequency", "t_x", "T", "monetary_value")
#: Rank error of the approximate quantiles that bracket each exact rank (relative to the number of customers).
BRACKET_ERROR = 1e-4

#: Spark SQL types of the columns the executors write (the dtypes of the pandas frames they come from).
COLUMN_TYPES = {
    "customer_id": "string",
    "first_purchase": "timestamp_ntz",
    "last_purchase": "timestamp_ntz",
    "recency_days": "bigint",
    "frequency": "bigint",
    "monetary": "double",
    "repeat_frequency": "bigint",
    "t_x": "double",
    "T": "double",
    "monetary_value": "double",
    "frequency_holdout": "bigint",
    "monetary_holdout": "double",
    "spend_holdout": "double",
    "duration_holdout": "double",
    "r_score": "bigint",
    "f_score": "bigint",
    "m_score": "bigint",
    "rfm_code": "string",
    "segment": "string",
    "value_class": "string",
    "value_class_en": "string",
    **dict.fromkeys(CLV_COLUMNS, "double"),
}


def schema(columns: list[str] | tuple[str, ...]) -> str:
    """The Spark DDL schema of ``customer_id`` and ``columns`` (see :data:`COLUMN_TYPES`)."""
    return ", ".join(f"`{c}` {COLUMN_TYPES[c]}" for c in ("customer_id", *columns))


@dataclass(frozen=True)
class SparkScoreResult:
    """What :func:`score_to_parquet` wrote and fitted.

    Attributes
    ----------
    customers_path : Path or str (a URL)
        Folder of Parquet files (written by the executors), one row per customer with a purchase in the
        RFM window, sorted by ``customer_id``; ``pandas.read_parquet`` reads it as one table.
    models_path : Path or str (a URL)
        JSON: the cut points, the fitted models (:func:`analysis.clv.persist.model_to_dict`), the CLV
        method, horizon and discount rate, and why CLV is missing or a fallback was used.
    rows_written : int
        Customers written.
    btyd_customers : int
        Customers with a purchase on or before ``as_of`` (the population the models are fitted on).
    distinct_rows : int
        Distinct (x, t_x, T) rows the purchase model was fitted on (0 without a purchase model).
    cut_points : DataFrame
        As :func:`analysis.customers.rfm.score_rfm` returns them (``q20`` … ``q80``, ``source``).
    value : CustomerValue or None
        What :func:`analysis.customers.enrich.clv_value` returned (models, method, reason, run-rate details);
        None when the CLV columns are not written.
    clv_reason : str or None
        Why the CLV columns are missing, or why a fallback was used (English); None when BG/NBD + Gamma-Gamma ran.
    """

    customers_path: Path | str
    models_path: Path | str
    as_of: pd.Timestamp
    rows_written: int
    btyd_customers: int
    distinct_rows: int
    cut_points: pd.DataFrame
    value: Any = None
    clv_reason: str | None = None

    @property
    def transaction_model(self) -> Any:
        """The fitted purchase model (BG/NBD, else Pareto/NBD, else MBG/NBD), None for a run rate or without CLV."""
        return None if self.value is None else self.value.transaction_model

    @property
    def spend_model(self) -> Any:
        """The fitted Gamma-Gamma model, or None."""
        return None if self.value is None else self.value.spend_model

    @property
    def clv_method(self) -> str | None:
        """``bgnbd``, ``pareto_nbd``, ``mbgnbd`` or ``run_rate``; None when the CLV columns are not written."""
        return None if self.value is None else self.value.method

    @property
    def spend_method(self) -> str | None:
        """``gamma_gamma`` or ``observed_mean``; None without CLV."""
        return None if self.value is None else self.value.spend_method

    @property
    def failures(self) -> dict[str, str]:
        """Model name -> why it could not be estimated."""
        return {} if self.value is None else dict(self.value.failures)

    @property
    def params(self) -> dict[str, dict[str, float]]:
        """The fitted parameters by model name (e.g. ``{"bgnbd": {"r": …}, "gamma_gamma": {"p": …}}``)."""
        out = {}
        for model in (self.transaction_model, self.spend_model):
            if model is not None:
                out[model.model_name] = {k: float(v) for k, v in model.params_.items()}
        return out


class SparkScoreEngine(SparkEngine):
    """The Spark engine of the registry: :class:`~analysis.engines.spark_engine.SparkEngine` with its folder
    capabilities, the customer table written by the executors (``folder_summary``, ``folder_score``)."""

    def summary_to_folder(self, source: Source, request: SummaryRequest, out: str | os.PathLike) -> FolderResult:
        """:func:`summary_to_parquet` into ``out/customers/`` (written by the executors)."""
        return summary_to_parquet(self, source, request, child(out, "customers"))

    def score_to_folder(self, source: Source, as_of: object, out: str | os.PathLike, params: object) -> object:
        """:func:`score_to_parquet` on this engine's session: ``out/customers/`` and ``out/models.json`` (CLV on)."""
        return score_to_parquet(source, as_of, out, params, session=self.spark, clv=True)


# ----------------------------------------------------------------------------------------------- the columns


def summary_columns(request: SummaryRequest) -> list[str]:
    """The columns of ``rfmkit summary``: RFM, then BTYD (with the holdout columns when asked for)."""
    return [*RFM_COLUMNS, *BTYD_COLUMNS, *(HOLDOUT_COLUMNS if request.holdout_end is not None else ())]


def summary_batches(
    request: SummaryRequest, columns: list[str]
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The ``mapInPandas`` function of ``rfmkit summary``: each batch of the shared SQL's per-customer aggregates
    turned into :meth:`~analysis.engines.base.CustomerSummary.combined` by
    :func:`~analysis.engines.base.frames_from_aggregates` (the customers in the RFM window, ``columns``)."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from analysis.engines.base import frames_from_aggregates

        for agg in batches:
            if len(agg):
                table = frames_from_aggregates(agg, request).combined()
                yield table.reset_index()[["customer_id", *columns]]

    return run


def rfm_batches(request: SummaryRequest) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The ``mapInPandas`` function of the RFM columns (:func:`~analysis.engines.base.frames_from_aggregates`'s
    ``rfm``) of each batch of the score SQL's rows: the customers in the RFM window."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from analysis.engines.base import frames_from_aggregates

        for agg in batches:
            if len(agg):
                rfm = frames_from_aggregates(agg, request).rfm
                if len(rfm):
                    yield rfm.reset_index()[["customer_id", *RFM_COLUMNS]]

    return run


def summary_to_parquet(engine: Any, source: Source, request: SummaryRequest, out: str | os.PathLike) -> FolderResult:
    """``rfmkit summary`` on Spark, written by the executors: the folder ``out`` of Parquet files with the
    columns of :meth:`analysis.engines.base.CustomerSummary.combined`, sorted by ``customer_id``."""
    from analysis.engines.spark_engine import quiet_pandas3
    from analysis.engines.sql import CHECK_SQL, CUSTOMER_STEP_SQL

    target = writable_folder(out, engine.spark)
    origin = engine.register(local_days(source, request.timezone))  # zoned dates on the params' clock, as every engine
    spark = engine.spark
    c = spark.sql(CHECK_SQL).first()
    check_counts(int(c["n_missing"]), int(c["n_negative"]), origin)
    args = {"as_of_n": request.as_of_n, "end_n": request.end_n, "window_start_n": request.window_start_n}
    columns = summary_columns(request)
    with quiet_pandas3():
        agg = spark.sql(CUSTOMER_STEP_SQL, args=args).persist()
        try:
            if agg.limit(1).count() == 0:
                raise InputError(
                    f"no purchase on or before calibration_end {day_timestamp(request.as_of_n).date()}: "
                    "choose a later date"
                )
            table = agg.mapInPandas(summary_batches(request, columns), schema(columns))
            table.orderBy("customer_id").write.mode("overwrite").parquet(str(target))
        finally:
            agg.unpersist()
        rows = spark.read.parquet(str(target)).count()  # the files' footers
    return FolderResult(target, rows)


def writable_folder(out: str | os.PathLike, spark: Any) -> Path | str:
    """``out`` as a folder Spark may (over)write: absent, an empty folder, a previous Spark output (with
    ``_SUCCESS``) or a single file; anything else is refused (Spark's overwrite would delete it). A URL
    (``hdfs://``, ``s3a://``) is checked through Spark's Hadoop file system and returned as text."""
    if is_remote(out):
        fs, path = _hadoop_path(spark, out)
        is_dir = fs.exists(path) and fs.getFileStatus(path).isDirectory()
        names = [st.getPath().getName() for st in fs.listStatus(path)] if is_dir else []
        target: Path | str = os.fspath(out)
    else:
        target = Path(out)
        names = [p.name for p in target.iterdir()] if target.is_dir() else []
    if names and "_SUCCESS" not in names:
        raise ParamsError(
            f"{target}: is a folder with other files in it; Spark replaces its output folder entirely, so choose a "
            "new or empty folder (or a previous Spark output)"
        )
    return target


def child(folder: str | os.PathLike, name: str) -> Path | str:
    """``folder/name``: a Path for a local folder, text for a URL."""
    return f"{os.fspath(folder).rstrip('/')}/{name}" if is_remote(folder) else Path(folder) / name


def write_text(spark: Any, path: Path | str, content: str) -> None:
    """Write a small text file: atomically for a local path, through Spark's Hadoop file system for a URL."""
    if not is_remote(path):
        tmp = Path(path).with_name(Path(path).name + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
        return
    fs, target = _hadoop_path(spark, path)
    stream = fs.create(target, True)
    try:
        stream.write(bytearray(content.encode("utf-8")))
    finally:
        stream.close()


def _hadoop_path(spark: Any, path: str | os.PathLike) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    target = jvm.org.apache.hadoop.fs.Path(os.fspath(path))
    return target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), target


# ------------------------------------------------------------------------------------------------ quantiles


def numpy_ranks(n: int, probs: tuple[float, ...]) -> list[tuple[int, int, float]]:
    """For each probability, numpy's linear-method (previous rank, next rank, gamma) among ``n`` sorted values."""
    out = []
    for p in probs:
        virtual = np.float64(n - 1) * np.float64(p)
        if virtual >= n - 1:
            out.append((n - 1, n - 1, float(virtual - (n - 1))))
        elif virtual < 0:
            out.append((0, 0, 0.0))
        else:
            prev = int(np.floor(virtual))
            out.append((prev, prev + 1, float(virtual - prev)))
    return out


def numpy_lerp(a: float, b: float, t: float) -> float:
    """numpy's quantile interpolation between neighbours ``a`` <= ``b`` (``numpy.lib._function_base_impl._lerp``)."""
    a64, b64, t64 = np.float64(a), np.float64(b), np.float64(t)
    diff = b64 - a64
    return float(b64 - diff * (1 - t64)) if t64 >= 0.5 else float(a64 + diff * t64)


def exact_quantiles(frame: Any, columns: list[str], n: int, probs: tuple[float, ...]) -> dict[str, np.ndarray]:
    """``numpy.quantile(values, probs)`` (linear interpolation) of each of ``columns`` of ``frame`` (``n``
    rows, no nulls), exactly, without collecting the columns; three Spark jobs for all of them.

    Each needed rank is bracketed by Spark's approximate quantiles (rank error at most
    :data:`BRACKET_ERROR` × n, so a bracket 2 × that wider on each side holds it); the values below each
    bracket are counted and the values inside are collected as (value, count) pairs, so a heavy tie costs
    one row. A rank outside its bracket (never expected) falls back to collecting every distinct value.
    """
    from functools import reduce

    if n == 0:
        return {c: np.full(len(probs), np.nan) for c in columns}
    plan = numpy_ranks(n, probs)
    ranks = sorted({r for prev, nxt, _ in plan for r in (prev, nxt)})
    widen = 2 * BRACKET_ERROR
    lo_p = [max(r / n - widen, 0.0) for r in ranks]
    hi_p = [min((r + 1) / n + widen, 1.0) for r in ranks]
    approx = frame.approxQuantile(columns, lo_p + hi_p, BRACKET_ERROR)
    bounds = {c: (a[: len(ranks)], a[len(ranks) :]) for c, a in zip(columns, approx, strict=True)}
    below = frame.selectExpr(
        *[
            f"COALESCE(SUM(CASE WHEN `{c}` < {sql_double(lo)} THEN 1 ELSE 0 END), 0) AS `{c}__{i}`"
            for c in columns
            for i, lo in enumerate(bounds[c][0])
        ]
    ).first()
    parts = []
    for c in columns:
        inside = " OR ".join(
            f"(`{c}` >= {sql_double(lo)} AND `{c}` <= {sql_double(hi)})" for lo, hi in zip(*bounds[c], strict=True)
        )
        parts.append(
            frame.where(inside)
            .selectExpr(f"'{c}' AS measure", f"CAST(`{c}` AS DOUBLE) AS value")
            .groupBy("measure", "value")
            .count()
        )
    pairs = reduce(lambda a, b: a.unionByName(b), parts).toPandas()
    out = {}
    for c in columns:
        mine = pairs[pairs["measure"] == c].sort_values("value")
        values: dict[int, float] = {}
        for i, (rank, lo, hi) in enumerate(zip(ranks, *bounds[c], strict=True)):
            sub = mine[(mine["value"] >= lo) & (mine["value"] <= hi)]
            ends = int(below[f"{c}__{i}"] or 0) + sub["count"].cumsum().to_numpy()
            pos = int(np.searchsorted(ends, rank, side="right"))
            if pos >= len(sub):
                log.warning(
                    "exact quantile of %s: rank %d outside its bracket; collecting every distinct value", c, rank
                )
                counts = frame.selectExpr(f"CAST(`{c}` AS DOUBLE) AS value").groupBy("value").count().toPandas()
                values = _values_at(counts, ranks)
                break
            values[rank] = float(sub["value"].iloc[pos])
        out[c] = np.array([numpy_lerp(values[prev], values[nxt], t) for prev, nxt, t in plan])
    return out


def _values_at(counts: pd.DataFrame, ranks: list[int]) -> dict[int, float]:
    """The value at each rank (0-based, ascending) from (value, count) pairs."""
    counts = counts.sort_values("value")
    ends = counts["count"].cumsum().to_numpy()
    vals = counts["value"].to_numpy(dtype=float)
    return {r: float(vals[int(np.searchsorted(ends, r, side="right"))]) for r in ranks}


# -------------------------------------------------------------------------------------------- scores, segments


@dataclass(frozen=True)
class WindowStats:
    """Counts and means the scores need: ``customers`` (on or before ``as_of``), ``scored`` (in the RFM
    window) and the means of ``recency_days``, ``frequency`` and ``monetary`` over the scored customers."""

    customers: int
    scored: int
    means: dict[str, float]


def window_stats(rfm: Any, customers: int) -> WindowStats:
    """One Spark job over ``rfm`` (the customers in the RFM window): their count and the means of
    :class:`WindowStats` (integer sums exact, as pandas' mean of an integer column; the monetary mean to summation
    order, far inside the value classes' 1e-9 rule). ``customers``: those on or before ``as_of``."""
    row = rfm.selectExpr(
        "COUNT(*) AS scored", "SUM(recency_days) AS r", "SUM(frequency) AS f", "AVG(monetary) AS m"
    ).first()
    scored = int(row["scored"] or 0)
    means = {"recency_days": 0.0, "frequency": 0.0, "monetary": 0.0}  # no one scored: nothing compared
    if scored:
        means = {
            "recency_days": float(row["r"]) / scored,
            "frequency": float(row["f"]) / scored,
            "monetary": float(row["m"]),
        }
    return WindowStats(customers, scored, means)


def score_batch(
    rfm: pd.DataFrame, cuts: dict[str, list[float]], means: dict[str, float], rules: Any = None
) -> pd.DataFrame:
    """The scores, ``rfm_code``, ``segment`` and value class of a batch of customers (``customer_id`` and the RFM
    columns), by the rules every engine uses, given the population's cut points (``cuts``, four per measure) and
    means: :func:`analysis.customers.rfm.score_rfm`, :func:`analysis.customers.segments.assign_segments`,
    :func:`analysis.customers.segments.value_class_flags` and :data:`~analysis.customers.segments.VALUE_CLASSES`.
    On all customers at once this is :func:`analysis.customers.rfm.score_summary` (whose cut points and means are
    those of the customers it is given)."""
    from analysis.customers.rfm import score_rfm
    from analysis.customers.segments import VALUE_CLASSES, assign_segments, value_class_flags
    from analysis.params import ScoreThresholds

    scored, _ = score_rfm(rfm.set_index("customer_id"), ScoreThresholds(**cuts))
    scored["segment"] = assign_segments(scored, rules)
    flags = value_class_flags(scored, pd.Series(means))
    names = [VALUE_CLASSES[key] for key in zip(flags["r_high"], flags["f_high"], flags["m_high"], strict=True)]
    scored["value_class"] = [zh for zh, _ in names]
    scored["value_class_en"] = [en for _, en in names]
    return scored.reset_index()[["customer_id", *RFM_COLUMNS, *SCORE_COLUMNS]]


def score_batches(
    cuts: dict[str, list[float]], means: dict[str, float], rules: Any = None
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The ``mapInPandas`` function of :func:`score_batch`."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for rfm in batches:
            if len(rfm):
                yield score_batch(rfm, cuts, means, rules)

    return run


def cut_points(rfm: Any, stats: WindowStats, thresholds: Any) -> pd.DataFrame:
    """The cut points of the scores, as :func:`analysis.customers.rfm.score_rfm` reports them (``q20`` … ``q80``,
    ``source``): the params' thresholds where given, else numpy's quantiles of the scored customers
    (:func:`exact_quantiles`)."""
    from analysis.customers.rfm import QUANTILES

    measures = ("recency_days", "frequency", "monetary")
    asked = [c for c in measures if getattr(thresholds, c) is None]
    quantiles = exact_quantiles(rfm, asked, stats.scored, QUANTILES) if asked else {}
    rows = {}
    for col in measures:
        given = getattr(thresholds, col)
        cuts = np.asarray(given, dtype=float) if given is not None else quantiles[col]
        rows[col] = [*cuts, "params" if given is not None else "quantile"]
    cuts_df = pd.DataFrame.from_dict(rows, orient="index", columns=["q20", "q40", "q60", "q80", "source"])
    cuts_df.index.name = "measure"
    return cuts_df


def sql_double(x: float) -> str:
    """A Spark SQL double literal that parses to exactly ``x`` (Python's shortest round-trip text, ``D``)."""
    x = float(x)
    if not math.isfinite(x):
        raise InputError(f"cannot use the non-finite number {x} as a cut point or mean")
    return f"{x!r}D"


# ------------------------------------------------------------------------------------------------- the step


def score_to_parquet(
    source: Source,
    as_of: object,
    out_dir: str | os.PathLike,
    params: Any = None,
    *,
    session: Any = None,
    clv: bool | None = None,
) -> SparkScoreResult:
    """Score every customer of ``source`` as of ``as_of`` on Spark and write them as Parquet.

    Parameters
    ----------
    source : DataFrame, path, folder or glob
        Clean transactions (``customer_id``, ``order_date``, ``amount``, optionally ``order_id``): the
        ``clean.parquet`` of ``rfmkit clean`` or a folder/glob of such Parquet or CSV files, read by Spark
        (on a cluster: a path every executor can read, e.g. ``s3a://`` or ``hdfs://``).
    as_of : date-like
        The scoring day (inclusive); the models are fitted on everything up to it.
    out_dir : path
        Folder for ``customers/`` (Parquet files written by the executors) and ``models.json``.
    params : RunParams, optional
        ``rfm`` (lookback, thresholds, segment rules), ``clv`` (time unit, horizon, discount rate,
        penalizer, enabled) and ``engine_options.spark`` (the session) apply; defaults otherwise.
    session : SparkSession, optional
        Use this session (not stopped here) instead of one made from the params.
    clv : bool, optional
        Override ``params.clv.enabled``.

    Returns
    -------
    SparkScoreResult
    """
    from analysis.clv.value import default_horizon
    from analysis.engines.spark_engine import quiet_pandas3
    from analysis.params import RunParams

    if params is None:
        params = RunParams.model_validate({"periods": {"start": "2000-01", "end": "2000-01"}})
    with_clv = params.clv.enabled if clv is None else clv
    if not is_remote(out_dir):
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    request = ScoreRequest(as_of, as_of, params.rfm.lookback_days, params.clv.time_unit, params.cleaning.timezone)
    as_of_ts = day_timestamp(request.as_of_n)
    engine = SparkEngine(params.engine_options.spark, session=session)
    try:
        customers_path = writable_folder(child(out_dir, "customers"), engine.spark)
        with quiet_pandas3():
            result = _score(engine, source, request, params, with_clv, customers_path, child(out_dir, "models.json"))
        horizon = float(params.clv.horizon or default_horizon(params.clv.time_unit))
        write_text(engine.spark, result.models_path, _models_json(result, horizon, params.clv))
    finally:
        engine.close()
    log.info(
        "spark score as of %s: %d customers written to %s (%d distinct (x, t_x, T) rows fitted)",
        as_of_ts.date(),
        result.rows_written,
        customers_path,
        result.distinct_rows,
    )
    return result


def _score(
    engine: Any,
    source: Source,
    request: ScoreRequest,
    params: Any,
    with_clv: bool,
    customers_path: Path | str,
    models_path: Path | str,
) -> SparkScoreResult:
    """The Spark part of :func:`score_to_parquet`."""
    from analysis.customers.segments import validate_rules
    from analysis.engines.sql import SCORE_CHECK_SQL, SCORE_STEP_SQL

    spark = engine.spark
    origin = engine.register(local_days(source, request.timezone))  # zoned dates on the params' clock, as every engine
    args = request.sql_params()
    check = spark.sql(SCORE_CHECK_SQL, args={"as_of_n": args["as_of_n"]}).toArrow().to_pandas().iloc[0]
    first = check["first_day_n"]
    base = (1, 0) if pd.isna(first) else retention_base_n(int(first), args["as_of_n"])
    agg = spark.sql(SCORE_STEP_SQL, args={**args, "base_from_n": base[0], "base_to_n": base[1]}).persist()
    summary_request = SummaryRequest(request.as_of, request.lookback_days, None, request.time_unit, request.timezone)
    rfm = agg.mapInPandas(rfm_batches(summary_request), schema(RFM_COLUMNS)).persist()
    try:
        customers = agg.count()
        day = pd.Timestamp(request.as_of).date()
        if customers == 0:
            raise InputError(f"{origin}: no purchase on or before {day}: choose a later --as-of")
        stats = window_stats(rfm, customers)
        if stats.scored == 0:
            raise InputError(
                f"{origin}: nobody bought in the {request.lookback_days} days up to {day}: choose a later --as-of "
                "or a longer rfm.lookback_days"
            )
        cuts = cut_points(rfm, stats, params.rfm.thresholds)
        rules = validate_rules(params.rfm.segment_rules, "rfm.segment_rules") if params.rfm.segment_rules else None
        given = {m: [float(x) for x in cuts.loc[m, ["q20", "q40", "q60", "q80"]]] for m in cuts.index}
        scored = rfm.mapInPandas(score_batches(given, stats.means, rules), schema([*RFM_COLUMNS, *SCORE_COLUMNS]))
        columns = [*RFM_COLUMNS, *SCORE_COLUMNS]
        value, reason, distinct = None, "CLV switched off (clv.enabled: false)", 0
        if with_clv:
            value, reason, distinct = _customer_value(engine, agg, check, request, params, origin)
        if value is not None:
            import pyarrow as pa

            clv_frame = value.customers[list(CLV_COLUMNS)].astype(float).rename_axis("customer_id").reset_index()
            clv_frame["customer_id"] = clv_frame["customer_id"].astype(str)
            table = spark.createDataFrame(pa.Table.from_pandas(clv_frame, preserve_index=False))
            scored = scored.join(table, on="customer_id", how="left")
            columns += list(CLV_COLUMNS)
        scored.select("customer_id", *columns).orderBy("customer_id").write.mode("overwrite").parquet(
            str(customers_path)
        )
    finally:
        rfm.unpersist()
        agg.unpersist()
    return SparkScoreResult(
        customers_path=customers_path,
        models_path=models_path,
        as_of=day_timestamp(request.as_of_n),
        rows_written=stats.scored,
        btyd_customers=customers,
        distinct_rows=distinct,
        cut_points=cuts,
        value=value,
        clv_reason=reason,
    )


def _customer_value(
    engine: Any, agg: Any, check: pd.Series, request: ScoreRequest, params: Any, origin: str
) -> tuple[Any, str | None, int]:
    """The CLV of every customer by the chain ``rfmkit score`` uses (:func:`analysis.customers.enrich.clv_value`),
    on the BTYD summary and run-rate facts that :func:`~analysis.engines.base.score_frames_from_aggregates` makes
    from the score SQL's rows (collected: numbers per customer). Returns (value or None, the reason in English or
    None, distinct (x, t_x, T) rows of the fitted purchase model)."""
    from analysis.customers.enrich import clv_value
    from analysis.engines.base import score_frames_from_aggregates
    from analysis.privacy import public_message

    rows = agg.toArrow().to_pandas()
    inputs = score_frames_from_aggregates(rows, check, request, origin)
    if inputs.btyd is None:
        return None, inputs.btyd_error, 0
    try:
        value = clv_value(_log_loader(engine, request), request.as_of, params.clv, inputs.btyd, inputs.run_rate)
    except (ModelError, InputError) as err:
        return None, public_message(err, inputs.btyd.index, params.privacy.key_file), 0
    distinct = 0 if value.transaction_model is None else len(inputs.btyd[["frequency", "t_x", "T"]].drop_duplicates())
    return value, value.reason_text("en"), distinct


def _log_loader(engine: Any, request: ScoreRequest) -> Callable[[], pd.DataFrame]:
    """The registered log's rows up to ``as_of`` as a pandas frame, read only when a CLV fallback asks for it (the
    observed mean spend when Gamma-Gamma cannot be used, the run rate when its facts were not made)."""

    def load() -> pd.DataFrame:
        sql = (
            "SELECT customer_id, order_id, CAST(date_from_unix_date(day_n) AS TIMESTAMP_NTZ) AS order_date, amount "
            "FROM transactions WHERE customer_id IS NOT NULL AND day_n <= :as_of_n"
        )
        frame = engine.spark.sql(sql, args={"as_of_n": request.as_of_n}).toArrow().to_pandas()
        return frame.astype({"customer_id": "string", "order_id": "string"})

    return load


def _models_json(result: SparkScoreResult, horizon: float, clv: Any) -> str:
    """The text of ``models.json``."""
    from analysis.clv.persist import model_to_dict
    from analysis.data.io import json_safe

    cuts = result.cut_points
    value = result.value
    run_rate = None if value is None else value.run_rate
    state = {
        "as_of": str(result.as_of.date()),
        "customers": result.rows_written,
        "btyd_customers": result.btyd_customers,
        "distinct_rows": result.distinct_rows,
        "cut_points": {m: [float(x) for x in cuts.loc[m, ["q20", "q40", "q60", "q80"]]] for m in cuts.index},
        "cut_points_source": {m: str(cuts.loc[m, "source"]) for m in cuts.index},
        "clv_method": result.clv_method,
        "spend_method": result.spend_method,
        "clv_reason": result.clv_reason,
        "time_unit": clv.time_unit,
        "horizon": float(horizon) if value is None else float(value.horizon),
        "discount_rate": None if value is None else float(value.discount_rate),
        "models": [model_to_dict(m) for m in (result.transaction_model, result.spend_model) if m is not None],
        "run_rate": None
        if run_rate is None
        else {
            "retention_per_unit": run_rate.retention_per_unit,
            "retention_window_days": run_rate.retention_window_days,
            "retention_customers": run_rate.retention_customers,
            "note": run_rate.note,
        },
    }
    return json.dumps(json_safe(state), indent=2)
