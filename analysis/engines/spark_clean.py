"""Cleaning a Parquet log on Spark: the kit's one cleaning (:func:`analysis.data.clean.clean_transactions`) run by
the executors on parts of the log that hold whole customers, the parts put together on the driver.

How the log is cut so that every rule gives what it gives on the whole log at once:

* **Row ids.** ``row_id`` is the row's position in the log read as ``pd.read_parquet`` reads it (the Parquet
  files in the order of their paths, each file's rows in order): the file's offset (the rows of the files before
  it, read from the Parquet footers) plus the row's index in its file (Spark's ``_metadata.row_index``). Every
  part is cleaned in ``row_id`` order and its row ids (clean rows, quarantine, returns, the rows without a
  customer id, the allocations of returns to purchases) are turned back into the log's.
* **Parts hold whole customers.** Each row's customer id is read by the cleaning's own reader
  (:func:`analysis.data.clean.normalise_ids`: trimmed, missing-value tokens such as ``(blank)``, ``NULL``, ``N/A``
  out, ``12346.0`` read as ``12346``) and the rows are hash-partitioned by it: every row of a customer is in one
  part, so a return is matched to that customer's earlier orders (:mod:`analysis.data.cancellations`) as on the
  whole log. Exact copies of a row (``duplicate``) have the same id and so the same part, where the first copy
  (lowest ``row_id``) is kept.
* **Rows without a customer id** (no id, a missing-value token) have one home: they all go to one part (the hash of
  no id), where their copies are found and the sales and returns without an id are kept beside the quarantine as
  the cleaning keeps them.
* **Global rules on the driver.** The outlier flag compares each amount with the median and MAD of *all* clean
  amounts, so the parts are cleaned without it and :func:`analysis.data.clean.flag_outliers` flags the whole clean
  log; the ``quality.json`` figures read from the frames (revenue, customers, returns matched, …) are
  :func:`analysis.data.clean.frame_quality` of the whole result; the row counts and reasons are the parts' sums.
  Numeric dates (``03/01/2024``) are read in one layout for the whole column: the driver finds which layout the
  log's dates use (:func:`analysis.data.clean.numeric_date_layout` over every value, on the executors) and passes
  it to every part, so a part holding only ambiguous dates reads them as the log does; a log mixing both layouts
  fails with the cleaning's own message.

What reaches the driver: each part's clean rows, quarantine, returns and rows without an id (as Parquet bytes), put
together into one :class:`~analysis.data.clean.CleanResult`, written by the batch as the pandas cleaning's is
(``clean.parquet`` …): the batch's notebooks read the clean log on one machine. The work of cleaning (reading ids,
dates and amounts, finding copies, matching returns) is the executors'.

Every executor imports rfmkit (``mapInArrow``), as for scoring (docs/engines.md).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.data.clean import (
    CleanResult,
    MixedDateLayouts,
    clean_transactions,
    flag_outliers,
    frame_quality,
    map_columns,
)
from analysis.errors import InputError
from analysis.params import CleaningParams, RunParams

log = logging.getLogger(__name__)

#: Bookkeeping columns added to the raw rows on Spark (never part of the raw log given to the cleaning).
ROW, KEY = "__rfmkit_row_id", "__rfmkit_customer_key"
#: The frames of a part, in the order they are sent back.
KINDS = ("clean", "quarantine", "returns", "anonymous", "allocations")


def _frame_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def _raw_frame(batches: list, nanos: list[str]) -> pd.DataFrame:
    """The raw rows of Arrow ``batches`` as pandas reads Parquet; ``nanos``: the columns Spark read as nanoseconds
    since the epoch (nanosecond timestamps, see :data:`analysis.engines.spark_engine.DEFAULT_CONFIG`), made
    timestamps again."""
    import pyarrow as pa

    frame = pa.Table.from_batches(batches).to_pandas()
    for c in nanos:
        frame[c] = pd.to_datetime(frame[c], unit="ns")
    return frame


def _keys(mapping: dict[str, str], cleaning: CleaningParams, origin: str, nanos: list[str]):
    """The executors' first step: each row's customer id as the cleaning reads it (None: no usable id)."""
    from analysis.data.clean import normalise_ids

    def run(batches: Iterator) -> Iterator:
        import pyarrow as pa

        for batch in batches:
            raw = _raw_frame([batch], nanos).drop(columns=[ROW])
            ids = map_columns(raw, mapping, origin)["customer_id"]
            key = normalise_ids(ids, cleaning.id_strip_float_suffix, list(cleaning.missing_tokens))
            yield batch.append_column(KEY, pa.array(key.astype(object).where(key.notna(), None), pa.string()))

    return run


def _layouts():
    """Which layouts the numeric dates of each batch use: ``(day_first, month_first)`` flags."""
    from analysis.data.clean import numeric_date_layout

    def run(batches: Iterator) -> Iterator:
        import pyarrow as pa

        for batch in batches:
            dates = batch.column(0).to_pandas()
            day_first, month_first = numeric_date_layout(dates.astype("string").str.strip())
            yield pa.RecordBatch.from_pydict({"day_first": [day_first], "month_first": [month_first]})

    return run


def date_layout(cleaning: CleaningParams, day_first: bool, month_first: bool, where: str) -> CleaningParams:
    """The cleaning params every part uses, given whether some numeric date of the whole column can only be
    day-first and some only month-first: day-first for every part when the column is (a part holding only
    ambiguous dates such as 03/01/2024 reads them as the column does); :class:`MixedDateLayouts` naming ``where``
    when the column mixes both, as :func:`analysis.data.clean.numeric_dates_as_iso` says for a whole column."""
    if day_first and month_first:
        raise MixedDateLayouts(
            f"{where}: the dates mix day-first and month-first layouts, so a date such as 03/01/2024 could be "
            "either; say which: cleaning.dayfirst: true for 31/12/2024, or cleaning.date_format: '%m/%d/%Y' for "
            "12/31/2024; the dates that do not fit it are set aside as bad_date"
        )
    return cleaning.model_copy(update={"dayfirst": True}) if day_first else cleaning


def _clean_parts(mapping: dict[str, str], cleaning: CleaningParams, origin: str, nanos: list[str]):
    """The executors' second step: clean each part (whole customers) in row order, the log's row ids restored."""

    def run(batches: Iterator) -> Iterator:
        import pyarrow as pa

        batches = list(batches)
        if not batches or not sum(b.num_rows for b in batches):
            return
        raw = _raw_frame(batches, nanos).drop(columns=[KEY])
        raw = raw.sort_values(ROW, kind="stable").reset_index(drop=True)
        if raw[ROW].isna().any():  # pragma: no cover - a file whose URI was not matched to its offset
            raise AssertionError("rows without a row id (their file's offset unknown); this is a bug")
        rows = raw.pop(ROW).to_numpy(dtype=np.int64)
        res = clean_transactions(raw, mapping, cleaning, origin).matched()
        frames = {
            "clean": res.clean.assign(row_id=rows[res.clean["row_id"].to_numpy(dtype=np.int64)]),
            "quarantine": res.quarantine.assign(row_id=rows[res.quarantine["row_id"].to_numpy(dtype=np.int64)]),
            "returns": res.returns.assign(row_id=rows[res.returns["row_id"].to_numpy(dtype=np.int64)]),
            "anonymous": res.anonymous.assign(row_id=rows[res.anonymous["row_id"].to_numpy(dtype=np.int64)])
            if "row_id" in res.anonymous
            else res.anonymous,
            "allocations": res.allocations.assign(
                return_row_id=rows[res.allocations["return_row_id"].to_numpy(dtype=np.int64)],
                purchase_row_id=rows[res.allocations["purchase_row_id"].to_numpy(dtype=np.int64)],
            ),
        }
        if "matched_row_id" in frames["returns"]:
            matched = frames["returns"]["matched_row_id"]
            known = matched.notna().to_numpy()
            out = pd.array(np.zeros(len(matched), dtype=np.int64), dtype="Int64")
            out[known] = rows[matched[known].to_numpy(dtype=np.int64)]
            out[~known] = pd.NA
            frames["returns"] = frames["returns"].assign(matched_row_id=out)
        yield pa.RecordBatch.from_pydict(
            {
                "kind": [*KINDS, "quality"],
                "payload": [*(_frame_bytes(frames[k]) for k in KINDS), json.dumps(res.quality).encode()],
            },
            schema=pa.schema([("kind", pa.string()), ("payload", pa.binary())]),
        )

    return run


def _uri(name: str) -> str:
    """A local file's URI in one spelling (Spark writes ``file:/a/b`` and ``file:///a/b``): ``file:///a/b``."""
    return re.sub(r"^file:/+", "file:///", name)


def _file_offsets(path: Path, listed: list[str]) -> dict[str, int]:
    """Each file's first row id, keyed by the file's URI as Spark names it (``_metadata.file_path``): the rows of
    the files before it (from the Parquet footers, no Spark job), the files in the order of their paths
    (:func:`analysis.data.io.parquet_files`, the order ``pd.read_parquet`` reads a folder in)."""
    import pyarrow.parquet as pq

    from analysis.data.io import parquet_files

    files = parquet_files(path) if path.is_dir() else [path]
    offsets, total = {}, 0
    for f in files:
        offsets[f.resolve().as_uri()] = total
        total += pq.read_metadata(f).num_rows
    unknown = sorted({_uri(f) for f in listed} - set(offsets))
    if unknown:  # a file Spark reads that the folder's listing does not hold: its rows would have no id
        raise InputError(f"{path}: Spark reads {unknown[:3]}, which are not among the folder's Parquet files")
    return offsets


def _nanosecond_columns(path: Path) -> list[str]:
    """The columns of the log stored as nanosecond timestamps (Spark reads them as longs)."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    schema = ds.dataset(str(path), format="parquet").schema
    return [f.name for f in schema if pa.types.is_timestamp(f.type) and f.type.unit == "ns"]


def cleans_on_spark(params: RunParams) -> bool:
    """Whether the source is cleaned on Spark: ``engine: spark`` and a Parquet log (a file, or a folder of Parquet
    files on storage every executor reads); other sources (CSV, Excel, SQL, the sample) are read and cleaned by the
    machine that runs the batch."""
    from analysis.data.io import PARQUET_SUFFIXES

    src = params.source
    if params.engine != "spark" or src.format not in ("auto", "parquet") or not src.path:
        return False
    path = Path(src.path)
    return path.is_dir() or path.suffix.lower() in PARQUET_SUFFIXES


def source_cleaner(params: RunParams) -> Callable[[RunParams], CleanResult] | None:
    """What cleans the source of ``params`` (for :func:`analysis.data.store.prepare_clean`): :func:`clean_on_spark`
    when :func:`cleans_on_spark`, else None (the pandas cleaning on this machine)."""
    return clean_on_spark if cleans_on_spark(params) else None


def clean_on_spark(params: RunParams, session=None) -> CleanResult:
    """Clean the Parquet log ``params.source.path`` (a file, or a folder of Parquet files on storage every
    executor reads) on the Spark cluster of ``params.engine_options.spark``: the same result as
    :func:`analysis.data.clean.clean_transactions` of the whole log (see the module docstring)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from analysis.engines.spark_engine import quiet_pandas3, spark_session

    if session is None:
        with quiet_pandas3():
            from pyspark.sql import SparkSession

        if SparkSession.getActiveSession() is None:  # a session of its own: stopped when done, so the batch's
            session = spark_session(params.engine_options.spark)  # kernels get the cluster's executors
            try:
                return clean_on_spark(params, session)
            finally:
                session.stop()
        session = spark_session(params.engine_options.spark)  # a notebook's or a test's: used and left running
    path = Path(params.source.path or "")
    origin = params.source.path or ""  # as the pandas cleaning names it (quality.json, messages)
    mapping, cleaning = dict(params.columns or {}), params.cleaning
    with quiet_pandas3():
        df = session.read.parquet(str(path))
        map_columns(pd.DataFrame(columns=df.columns), mapping, origin)  # a missing column: said before any work
        nanos = [c for c in _nanosecond_columns(path) if c in df.columns]
        offsets = _file_offsets(path, df.inputFiles())
        start = F.create_map(*(x for f, o in offsets.items() for x in (F.lit(f), F.lit(o))))
        file_uri = F.regexp_replace(F.col("_metadata.file_path"), "^file:/+", "file:///")  # as _uri spells it
        df = df.select("*", (start[file_uri] + F.col("_metadata.row_index")).alias(ROW))
        date_column = mapping.get("order_date", "order_date")
        if cleaning.date_format is None and not cleaning.dayfirst and dict(df.dtypes).get(date_column) == "string":
            seen = df.select(date_column).mapInArrow(_layouts(), "day_first boolean, month_first boolean")
            flags = seen.agg(F.max("day_first"), F.max("month_first")).collect()[0]
            cleaning = date_layout(cleaning, bool(flags[0]), bool(flags[1]), f"{origin}: column '{date_column}'")
        whole = cleaning
        parts_cleaning = cleaning.model_copy(update={"outlier_mad": None})  # outliers judged on the whole log
        schema = StructType([*df.schema.fields, StructField(KEY, StringType())])
        keyed = df.mapInArrow(_keys(mapping, cleaning, origin, nanos), schema)
        parts = int(session.conf.get("spark.sql.shuffle.partitions"))
        out = (
            keyed.repartition(parts, KEY)
            .sortWithinPartitions(ROW)
            .mapInArrow(_clean_parts(mapping, parts_cleaning, origin, nanos), "kind string, payload binary")
            .collect()
        )
    return _combine(out, whole, origin, offsets)


def _combine(rows: list, cleaning: CleaningParams, origin: str, offsets: dict[str, int]) -> CleanResult:
    """One result from the parts' (kind, payload) rows: frames in row order, outliers flagged on the whole clean
    log, the quality summed and read again from the whole frames."""
    from analysis.data.cancellations import Matching, check_conserved, net_log

    parts: dict[str, list] = {k: [] for k in (*KINDS, "quality")}
    for kind, payload in rows:
        parts[kind].append(json.loads(payload) if kind == "quality" else pd.read_parquet(io.BytesIO(payload)))
    if not parts["quality"]:
        raise InputError(f"{origin}: the Parquet files hold no rows")

    def whole(kind: str) -> pd.DataFrame:
        frames = [f for f in parts[kind] if len(f.columns)]
        if not frames:
            return parts[kind][0]
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        return out.sort_values("row_id", kind="stable").reset_index(drop=True)

    clean, quarantine, returns, anonymous = (whole(k) for k in KINDS[:4])
    # the allocations in the order the matching makes them: returns by (day, row id), each return's lines in the
    # order they were taken (kept by the stable sort: a return's allocations all come from its customer's part)
    allocations = pd.concat(parts["allocations"], ignore_index=True)
    when = pd.Series(returns["order_date"].to_numpy(), index=returns["row_id"].to_numpy())
    ret_rows = allocations["return_row_id"].to_numpy(dtype=np.int64)
    order = np.lexsort((ret_rows, when.reindex(ret_rows).to_numpy()))
    allocations = allocations.iloc[order].reset_index(drop=True)
    if "match" in returns:  # the rule's names, as the matching gives them (Parquet reads them back as text)
        returns["match"] = returns["match"].astype(object)
    clean["is_outlier"] = flag_outliers(clean["amount"], cleaning.outlier_mad).to_numpy()
    net = net_log(clean, returns, allocations)
    check_conserved(clean, Matching(returns, allocations), net)
    qualities = parts["quality"]
    first = qualities[0]
    quality: dict[str, Any] = {
        "source": origin,
        "rows_in": sum(q["rows_in"] for q in qualities),
        "rows_clean": len(clean),
        "rows_quarantined": len(quarantine),
        "reasons": {r: sum(q["reasons"][r] for q in qualities) for r in first["reasons"]},
        "missing_tokens": _sum_nested(q["missing_tokens"] for q in qualities),
        "control_characters_removed": _sum_nested(q["control_characters_removed"] for q in qualities),
        "limits": first["limits"],
        **frame_quality(clean, returns, anonymous, net, ~np.signbit(anonymous["amount"].to_numpy(dtype=float))),
        "columns": first["columns"],
    }
    if quality["rows_in"] != quality["rows_clean"] + quality["rows_quarantined"]:  # pragma: no cover
        raise AssertionError("row accounting does not reconcile; this is a bug")
    log.info("cleaned %s on Spark in %d parts (%d files)", origin, len(qualities), len(offsets))
    from analysis.data.io import json_safe

    return CleanResult(clean, quarantine, returns, json_safe(quality), anonymous, allocations)


def _sum_nested(items) -> dict:
    """``{column: count}`` or ``{column: {token: count}}`` dicts added up, keys sorted as the cleaning sorts them."""
    out: dict = {}
    for item in items:
        for col, value in item.items():
            if isinstance(value, dict):
                inner = out.setdefault(col, {})
                for k, v in value.items():
                    inner[k] = inner.get(k, 0) + v
            else:
                out[col] = out.get(col, 0) + value
    return {c: dict(sorted(v.items())) if isinstance(v, dict) else v for c, v in out.items()}
