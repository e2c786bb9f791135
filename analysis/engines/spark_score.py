"""Scoring every customer on Spark: the summary, the RFM scores and segments, and the CLV predictions are
computed by the executors and written as Parquet by them; only small things reach the driver.

What reaches the driver (so that the customer table never has to fit on one machine):

* the per-customer aggregates of the shared SQL (:data:`analysis.engines.sql.CUSTOMER_STEP_SQL`) stay in
  Spark; their arithmetic (:func:`analysis.engines.base.frames_from_aggregates`) is repeated as Spark
  expressions with the same floating-point operations (day counts / unit length, the repeat-spend mean,
  ``monetary`` rounded to 1e-6 as numpy rounds: ``rint(x * 1e6) / 1e6``);
* the RFM cut points: the 20/40/60/80 % quantiles of the pandas reference (numpy's linear interpolation)
  need the values at a few ranks only. :func:`exact_quantiles` brackets each rank with Spark's
  approximate quantiles, counts the values below the bracket and collects the values inside it as
  (value, count) pairs, then interpolates exactly as numpy does, so the cut points are equal to numpy's;
* the buy-till-you-die model fits: BG/NBD (then Pareto/NBD, then MBG/NBD if it cannot be estimated) on the
  *distinct* (x, t_x, T) rows with the number of customers on each (``fit(..., weights=)``), and
  Gamma-Gamma on the distinct (x, monetary_value) rows of the repeat customers with positive spend. The
  rows are ordered by their first customer id, which is the order the pandas fit groups them in, so the
  fitted parameters equal those of ``rfmkit score``.

The fitted parameters are then sent to the executors, which predict ``p_alive``, ``expected_purchases``,
``expected_spend`` and ``clv`` with the kit's own prediction code (:func:`analysis.clv.value.predict_customers`,
imported inside ``mapInPandas``); every executor therefore needs rfmkit installed (on a cluster: install the
wheel on the nodes or ship a packed virtual environment, see the README).

Columns written: those of ``rfmkit score`` up to the CLV columns (``first_purchase``, ``last_purchase``,
``recency_days``, ``frequency``, ``monetary``, ``r_score``, ``f_score``, ``m_score``, ``rfm_code``,
``segment``, ``value_class``, ``value_class_en``, ``p_alive``, ``expected_purchases``, ``expected_spend``,
``clv``), one row per customer with a purchase in the RFM window, sorted by ``customer_id``. Not written:
``abc_class``, ``lifecycle_stage`` and ``cluster`` (k-means and the lifecycle rules run on one machine),
nor the run-rate fallback of :func:`analysis.clv.pipeline.estimate_customer_value`: when no purchase model
can be estimated the CLV columns are left out and :attr:`SparkScoreResult.clv_reason` says why.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.engines.base import (
    HOLDOUT_COLUMNS,
    RFM_COLUMNS,
    FolderResult,
    Source,
    SummaryRequest,
    check_counts,
    day_timestamp,
    unit_days,
)
from analysis.engines.spark_engine import SparkEngine, is_remote
from analysis.errors import InputError, ParamsError

log = logging.getLogger(__name__)

#: Score and CLV columns written after the RFM columns, in ``rfmkit score`` order.
SCORE_COLUMNS = ("r_score", "f_score", "m_score", "rfm_code", "segment", "value_class", "value_class_en")
CLV_COLUMNS = ("p_alive", "expected_purchases", "expected_spend", "clv")
#: The BTYD columns of ``rfmkit summary`` (the BTYD ``frequency`` named ``repeat_frequency``).
BTYD_COLUMNS = ("repeat_frequency", "t_x", "T", "monetary_value")
#: Rank error of the approximate quantiles that bracket each exact rank (relative to the number of customers).
BRACKET_ERROR = 1e-4

#: The per-customer columns, from the aggregates of the shared SQL (view ``customer_aggregates``), with the
#: arithmetic of :func:`analysis.engines.base.frames_from_aggregates`.
COLUMNS_SQL = """
SELECT customer_id,
       CAST(date_from_unix_date(first_purchase_n) AS TIMESTAMP_NTZ) AS first_purchase,
       CAST(date_from_unix_date(last_purchase_n) AS TIMESTAMP_NTZ) AS last_purchase,
       CAST(:as_of_n - last_purchase_n AS BIGINT) AS recency_days,
       CAST(n_orders AS BIGINT) AS frequency,
       rint(window_spend * CAST(1000000 AS DOUBLE)) / CAST(1000000 AS DOUBLE) AS monetary,
       (n_orders IS NOT NULL AND first_purchase_n IS NOT NULL) AS in_window,
       CAST(n_occasions - 1 AS BIGINT) AS repeat_frequency,
       CAST(last_n - first_n AS DOUBLE) / :unit_days AS t_x,
       CAST(:as_of_n - first_n AS DOUBLE) / :unit_days AS T,
       CASE WHEN n_occasions > 1 THEN (total_spend - first_spend) / CAST(n_occasions - 1 AS DOUBLE) END
           AS monetary_value,
       total_spend / CAST(n_occasions AS DOUBLE) AS observed_spend,
       CAST(n_holdout AS BIGINT) AS frequency_holdout,
       CASE WHEN n_holdout > 0 THEN spend_holdout / CAST(n_holdout AS DOUBLE) END AS monetary_holdout,
       spend_holdout,
       CAST(:end_n - :as_of_n AS DOUBLE) / :unit_days AS duration_holdout
FROM customer_aggregates
"""


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
        Distinct (x, t_x, T) rows the purchase model was fitted on (0 without CLV).
    cut_points : DataFrame
        As :func:`analysis.customers.rfm.score_rfm` returns them (``q20`` … ``q80``, ``source``).
    transaction_model, spend_model :
        The fitted purchase model (BG/NBD, else Pareto/NBD, else MBG/NBD) and Gamma-Gamma, or None.
    clv_method : str or None
        ``bgnbd``, ``pareto_nbd`` or ``mbgnbd``; None when the CLV columns are not written.
    spend_method : str or None
        ``gamma_gamma`` or ``observed_mean`` (each customer's mean spend per purchase day).
    clv_reason : str or None
        Why the CLV columns are missing, or why a fallback was used; None when BG/NBD + Gamma-Gamma ran.
    """

    customers_path: Path | str
    models_path: Path | str
    as_of: pd.Timestamp
    rows_written: int
    btyd_customers: int
    distinct_rows: int
    cut_points: pd.DataFrame
    transaction_model: Any = None
    spend_model: Any = None
    clv_method: str | None = None
    spend_method: str | None = None
    clv_reason: str | None = None
    failures: dict[str, str] = field(default_factory=dict)

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


def customer_columns(engine: Any, source: Source, request: SummaryRequest, *, check: bool) -> tuple[Any, str]:
    """The per-customer Spark DataFrame (see :data:`COLUMNS_SQL`) of ``source``, not collected.

    With ``check`` the BTYD data checks run first (:func:`analysis.engines.base.check_counts`: no missing
    values, no negative amounts) and InputError names the problem. Returns the frame and the input's name.
    """
    from analysis.engines.spark_engine import quiet_pandas3
    from analysis.engines.sql import CHECK_SQL, CUSTOMER_STEP_SQL

    origin = engine.register(source)
    spark = engine.spark
    if check:
        c = spark.sql(CHECK_SQL).first()
        check_counts(int(c["n_missing"]), int(c["n_negative"]), origin)
    args = {"as_of_n": request.as_of_n, "end_n": request.end_n, "window_start_n": request.window_start_n}
    with quiet_pandas3():
        spark.sql(CUSTOMER_STEP_SQL, args=args).createOrReplaceTempView("customer_aggregates")
        frame = spark.sql(
            COLUMNS_SQL,
            args={"as_of_n": request.as_of_n, "end_n": request.end_n, "unit_days": unit_days(request.time_unit)},
        )
    return frame, origin


def summary_columns(request: SummaryRequest) -> list[str]:
    """The columns of ``rfmkit summary``: RFM, then BTYD (with the holdout columns when asked for)."""
    return [*RFM_COLUMNS, *BTYD_COLUMNS, *(HOLDOUT_COLUMNS if request.holdout_end is not None else ())]


def summary_to_parquet(engine: Any, source: Source, request: SummaryRequest, out: str | os.PathLike) -> FolderResult:
    """``rfmkit summary`` on Spark, written by the executors: the folder ``out`` of Parquet files with the
    columns of :meth:`analysis.engines.base.CustomerSummary.combined`, sorted by ``customer_id``."""
    target = writable_folder(out, engine.spark)
    frame, _ = customer_columns(engine, source, request, check=True)
    frame = frame.persist()
    try:
        if frame.limit(1).count() == 0:
            raise InputError(
                f"no purchase on or before calibration_end {day_timestamp(request.as_of_n).date()}: choose a later date"
            )
        table = frame.where("in_window").select("customer_id", *summary_columns(request)).orderBy("customer_id")
        table.write.mode("overwrite").parquet(str(target))
        rows = frame.where("in_window").count()
    finally:
        frame.unpersist()
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


def window_stats(frame: Any) -> WindowStats:
    """One Spark job: the counts and the means of :class:`WindowStats` (integer sums exact, as pandas' mean
    of an integer column; the monetary mean to summation order, far inside the value classes' 1e-9 rule)."""
    row = frame.selectExpr(
        "COUNT(*) AS customers",
        "SUM(CAST(in_window AS BIGINT)) AS scored",
        "SUM(CASE WHEN in_window THEN recency_days END) AS r",
        "SUM(CASE WHEN in_window THEN frequency END) AS f",
        "AVG(CASE WHEN in_window THEN monetary END) AS m",
    ).first()
    scored = int(row["scored"] or 0)
    means = {"recency_days": 0.0, "frequency": 0.0, "monetary": 0.0}  # no one scored: nothing compared
    if scored:
        means = {
            "recency_days": float(row["r"]) / scored,
            "frequency": float(row["f"]) / scored,
            "monetary": float(row["m"]),
        }
    return WindowStats(int(row["customers"]), scored, means)


def add_scores(frame: Any, stats: WindowStats, rfm: Any) -> tuple[Any, pd.DataFrame]:
    """``frame`` (the customers in the RFM window) with the columns of
    :func:`analysis.customers.rfm.score_customers` (scores, code, segment, value class), computed by Spark;
    and the cut points frame."""
    from analysis.customers.rfm import QUANTILES
    from analysis.customers.segments import DEFAULT_RULES, VALUE_CLASSES, rule_table, validate_rules

    rules = validate_rules(rfm.segment_rules, "rfm.segment_rules") if rfm.segment_rules else DEFAULT_RULES
    measures = ("recency_days", "frequency", "monetary")
    asked = [c for c in measures if getattr(rfm.thresholds, c) is None]
    quantiles = exact_quantiles(frame, asked, stats.scored, QUANTILES) if asked else {}
    rows = {}
    exprs = ["*"]
    for col, name, better in (
        ("recency_days", "r_score", False),
        ("frequency", "f_score", True),
        ("monetary", "m_score", True),
    ):
        given = getattr(rfm.thresholds, col)
        cuts = np.asarray(given, dtype=float) if given is not None else quantiles[col]
        rows[col] = [*cuts, "params" if given is not None else "quantile"]
        # 1 + cut points strictly below the value (higher is better), or strictly above it (recency)
        op = "<" if better else ">"
        hits = " + ".join(f"CAST({sql_double(c)} {op} CAST({col} AS DOUBLE) AS BIGINT)" for c in cuts)
        exprs.append(f"CAST(1 + {hits} AS BIGINT) AS {name}")
    cuts_df = pd.DataFrame.from_dict(rows, orient="index", columns=["q20", "q40", "q60", "q80", "source"])
    cuts_df.index.name = "measure"
    frame = frame.selectExpr(*exprs)
    table = rule_table(rules)
    segments = sql_map({int(r) * 100 + int(f) * 10 + int(m): seg for r, f, m, seg in table.itertuples(index=False)})
    # the 8 value classes against the means over the scored customers (segments.value_class_flags, whose
    # "a > b" is a - b > 1e-9 * max(1, |b|))
    means = {k: sql_double(v) for k, v in stats.means.items()}
    key = (
        f"CAST({means['recency_days']} - CAST(recency_days AS DOUBLE) > 1e-9D * GREATEST(1.0D, "
        "ABS(CAST(recency_days AS DOUBLE))) AS INT) * 4"
        f" + CAST(CAST(frequency AS DOUBLE) - {means['frequency']} > 1e-9D * GREATEST(1.0D, ABS({means['frequency']}))"
        " AS INT) * 2"
        f" + CAST(monetary - {means['monetary']} > 1e-9D * GREATEST(1.0D, ABS({means['monetary']})) AS INT)"
    )
    names = {int(r) * 4 + int(f) * 2 + int(m): pair for (r, f, m), pair in VALUE_CLASSES.items()}
    frame = frame.selectExpr(
        "*",
        "CONCAT(CAST(r_score AS STRING), CAST(f_score AS STRING), CAST(m_score AS STRING)) AS rfm_code",
        f"element_at({segments}, r_score * 100 + f_score * 10 + m_score) AS segment",
        f"element_at({sql_map({k: zh for k, (zh, _) in names.items()})}, {key}) AS value_class",
        f"element_at({sql_map({k: en for k, (_, en) in names.items()})}, {key}) AS value_class_en",
    )
    return frame, cuts_df


def sql_double(x: float) -> str:
    """A Spark SQL double literal that parses to exactly ``x`` (Python's shortest round-trip text, ``D``)."""
    x = float(x)
    if not math.isfinite(x):
        raise InputError(f"cannot use the non-finite number {x} as a cut point or mean")
    return f"{x!r}D"


def sql_map(mapping: dict[int, str]) -> str:
    """A Spark SQL ``map(key, 'text', …)`` literal (texts escaped)."""

    def text(s: str) -> str:
        return "'" + str(s).replace("\\", "\\\\").replace("'", "\\'") + "'"

    return "map(" + ", ".join(f"{k}, {text(v)}" for k, v in mapping.items()) + ")"


# ------------------------------------------------------------------------------------------------------ CLV


@dataclass
class ModelFit:
    """The models fitted on the driver from the distinct rows, or why they could not be."""

    transaction_model: Any = None
    spend_model: Any = None
    distinct_rows: int = 0
    failures: dict[str, str] = field(default_factory=dict)
    reason: str | None = None


def _distinct(frame: Any, columns: list[str], where: str) -> pd.DataFrame:
    """Distinct ``columns`` rows of ``frame`` (filtered by ``where``) with ``customers`` (how many) in the
    order of their first customer id: the order the pandas fit groups a customer-sorted summary in."""
    from pyspark.sql import functions as F

    from analysis.engines.spark_engine import quiet_pandas3

    grouped = (
        frame.where(where).groupBy(*columns).agg(F.count("*").alias("customers"), F.min("customer_id").alias("first"))
    )
    with quiet_pandas3():
        rows = grouped.toArrow().to_pandas()
    rows = rows.sort_values("first", kind="stable").reset_index(drop=True)
    return rows


def fit_models(frame: Any, clv: Any, seed: int = 0) -> ModelFit:
    """Fit the purchase model and Gamma-Gamma on the driver from the distinct rows of ``frame`` (every
    customer with a purchase on or before ``as_of``), as :func:`analysis.clv.pipeline.estimate_customer_value`
    does on the whole summary: BG/NBD, else Pareto/NBD, else MBG/NBD; Gamma-Gamma on the repeat customers
    with positive spend (zero-spend repeaters are left out of the fit, with a warning)."""
    import warnings

    from analysis.clv import BGNBD, CLVFitError, GammaGamma, ModifiedBGNBD, ParetoNBD
    from analysis.errors import ModelError

    out = ModelFit()
    rows = _distinct(frame, ["repeat_frequency", "t_x", "T"], "TRUE")
    out.distinct_rows = len(rows)
    summary = pd.DataFrame({"frequency": rows["repeat_frequency"], "t_x": rows["t_x"], "T": rows["T"]})
    weights = rows["customers"].to_numpy(dtype=float)
    for cls in (BGNBD, ParetoNBD, ModifiedBGNBD):
        model = cls(penalizer=clv.penalizer, seed=seed)
        try:
            with np.errstate(all="ignore"):
                out.transaction_model = model.fit(summary, weights=weights, time_unit=clv.time_unit)
            break
        except (CLVFitError, ModelError, ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
            out.failures[model.model_name] = str(err)
    if out.transaction_model is None:
        out.reason = "no purchase model could be estimated: " + "; ".join(out.failures.values())
        return out
    zero = frame.where("repeat_frequency > 0 AND NOT (monetary_value > 0)").count()
    if zero:
        warnings.warn(
            f"Gamma-Gamma: {zero} repeat customer(s) with zero repeat spend left out of the fit", stacklevel=2
        )
    spend = _distinct(frame, ["repeat_frequency", "monetary_value"], "repeat_frequency > 0 AND monetary_value > 0")
    gg = GammaGamma(penalizer=clv.penalizer, seed=seed)
    try:
        with np.errstate(all="ignore"):
            gg.fit(
                pd.DataFrame({"frequency": spend["repeat_frequency"], "monetary_value": spend["monetary_value"]}),
                weights=spend["customers"].to_numpy(dtype=float),
                time_unit=clv.time_unit,
            )
            gg.population_mean_spend()  # raises CLVFitError when the mean spend is unbounded (q <= 1)
        out.spend_model = gg
    except (CLVFitError, ModelError, ValueError, ArithmeticError, np.linalg.LinAlgError) as err:
        out.failures[gg.model_name] = str(err)
    reasons = [f"{k}: {v}" for k, v in out.failures.items()]
    out.reason = "; ".join(reasons) or None
    return out


def clv_predictor(
    transaction_state: dict[str, Any], spend_state: dict[str, Any] | None, horizon: float, discount_rate: float
) -> Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]:
    """The ``mapInPandas`` function: each batch of customers with its ``p_alive``, ``expected_purchases``,
    ``expected_spend`` and ``clv``, from the fitted models (given as :func:`analysis.clv.persist.model_to_dict`
    states) and the kit's prediction code; spend is the observed mean per purchase day without Gamma-Gamma."""

    def predict(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from analysis.clv.persist import model_from_dict
        from analysis.clv.value import predict_customers

        tm = model_from_dict(transaction_state)
        gg = model_from_dict(spend_state) if spend_state is not None else None
        for batch in batches:
            summary = pd.DataFrame(
                {
                    "frequency": batch["repeat_frequency"].to_numpy(dtype=float),
                    "t_x": batch["t_x"].to_numpy(dtype=float),
                    "T": batch["T"].to_numpy(dtype=float),
                    "monetary_value": batch["monetary_value"].to_numpy(dtype=float),
                }
            )
            with np.errstate(all="ignore"):
                if gg is not None:
                    pred = predict_customers(tm, gg, summary, horizon, discount_rate)
                else:
                    spend = batch["observed_spend"].to_numpy(dtype=float)
                    pred = pd.DataFrame(
                        {
                            "p_alive": tm.conditional_probability_alive(summary),
                            "expected_purchases": tm.conditional_expected_purchases(horizon, summary),
                            "expected_spend": spend,
                            "clv": tm.discounted_expected_purchases(summary, horizon, discount_rate) * spend,
                        }
                    )
            out = batch.drop(columns=["repeat_frequency", "t_x", "T", "monetary_value", "observed_spend"])
            for col in CLV_COLUMNS:
                out[col] = pred[col].to_numpy(dtype=float)
            yield out

    return predict


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
    request = SummaryRequest(as_of, params.rfm.lookback_days, None, params.clv.time_unit)
    as_of_ts = day_timestamp(request.as_of_n)
    horizon = float(params.clv.horizon or default_horizon(params.clv.time_unit))
    rate = float(params.clv.discount_rate)
    engine = SparkEngine(params.engine_options.spark, session=session)
    try:
        customers_path = writable_folder(child(out_dir, "customers"), engine.spark)
        with quiet_pandas3():
            fit, n_btyd, n, cuts, reason = _score(engine, source, request, params, with_clv, customers_path)
        result = _result(fit, n_btyd, n, cuts, reason, customers_path, child(out_dir, "models.json"), as_of_ts)
        write_text(engine.spark, result.models_path, _models_json(result, horizon, rate, params.clv.time_unit))
    finally:
        engine.close()
    log.info(
        "spark score as of %s: %d customers written to %s (%d distinct (x, t_x, T) rows fitted)",
        as_of_ts.date(),
        n,
        customers_path,
        fit.distinct_rows,
    )
    return result


def _result(
    fit: ModelFit,
    n_btyd: int,
    n: int,
    cuts: pd.DataFrame,
    reason: str | None,
    customers_path: Path | str,
    models_path: Path | str,
    as_of_ts: pd.Timestamp,
) -> SparkScoreResult:
    return SparkScoreResult(
        customers_path=customers_path,
        models_path=models_path,
        as_of=as_of_ts,
        rows_written=n,
        btyd_customers=n_btyd,
        distinct_rows=fit.distinct_rows,
        cut_points=cuts,
        transaction_model=fit.transaction_model,
        spend_model=fit.spend_model,
        clv_method=None if fit.transaction_model is None else fit.transaction_model.model_name,
        spend_method=None
        if fit.transaction_model is None
        else ("gamma_gamma" if fit.spend_model is not None else "observed_mean"),
        clv_reason=reason,
        failures=fit.failures,
    )


def _score(
    engine: Any, source: Source, request: SummaryRequest, params: Any, with_clv: bool, customers_path: Path | str
) -> tuple[ModelFit, int, int, pd.DataFrame, str | None]:
    """The Spark part of :func:`score_to_parquet`: (model fit, customers, customers written, cut points, reason)."""
    from pyspark.sql.types import DoubleType, StructField, StructType

    from analysis.clv.persist import model_to_dict
    from analysis.clv.value import default_horizon

    frame, origin = customer_columns(engine, source, request, check=False)
    frame = frame.persist()
    try:
        stats = window_stats(frame)
        day = pd.Timestamp(request.as_of).date()
        if stats.customers == 0:
            raise InputError(f"{origin}: no purchase on or before {day}: choose a later --as-of")
        if stats.scored == 0:
            raise InputError(
                f"{origin}: nobody bought in the {request.lookback_days} days up to {day}: choose a later --as-of "
                "or a longer rfm.lookback_days"
            )
        scored, cuts = add_scores(frame.where("in_window"), stats, params.rfm)
        fit, reason = ModelFit(), None
        if not with_clv:
            reason = "CLV switched off (clv.enabled: false)"
        else:
            try:
                c = engine.spark.sql(CHECK_UP_TO_SQL, args={"as_of_n": request.as_of_n}).first()
                check_counts(int(c["n_missing"]), int(c["n_negative"]), origin)
                fit = fit_models(frame, params.clv)
                reason = fit.reason
            except InputError as err:
                reason = str(err)
        columns = [*RFM_COLUMNS, *SCORE_COLUMNS]
        if fit.transaction_model is not None:
            inputs = ["repeat_frequency", "t_x", "T", "monetary_value", "observed_spend"]
            schema = StructType(
                list(scored.select("customer_id", *columns).schema.fields)
                + [StructField(c, DoubleType()) for c in CLV_COLUMNS]
            )
            predictor = clv_predictor(
                model_to_dict(fit.transaction_model),
                model_to_dict(fit.spend_model) if fit.spend_model is not None else None,
                float(params.clv.horizon or default_horizon(params.clv.time_unit)),
                float(params.clv.discount_rate),
            )
            scored = scored.select("customer_id", *columns, *inputs).mapInPandas(predictor, schema)
            columns += list(CLV_COLUMNS)
        scored.select("customer_id", *columns).orderBy("customer_id").write.mode("overwrite").parquet(
            str(customers_path)
        )
    finally:
        frame.unpersist()
    return fit, stats.customers, stats.scored, cuts, reason


#: The BTYD data checks over the rows up to ``as_of`` (the rows the pandas CLV summary is given).
CHECK_UP_TO_SQL = """
SELECT COALESCE(SUM(CASE WHEN customer_id IS NULL OR day_n IS NULL OR amount IS NULL
                         OR isnan(amount) THEN 1 ELSE 0 END), 0) AS n_missing,
       COALESCE(SUM(CASE WHEN amount < 0 THEN 1 ELSE 0 END), 0) AS n_negative
FROM transactions
WHERE day_n IS NULL OR day_n <= :as_of_n
"""


def _models_json(result: SparkScoreResult, horizon: float, rate: float, unit: str) -> str:
    """The text of ``models.json``."""
    from analysis.clv.persist import model_to_dict
    from analysis.data.io import json_safe

    cuts = result.cut_points
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
        "time_unit": unit,
        "horizon": float(horizon),
        "discount_rate": float(rate),
        "models": [model_to_dict(m) for m in (result.transaction_model, result.spend_model) if m is not None],
    }
    return json.dumps(json_safe(state), indent=2)
