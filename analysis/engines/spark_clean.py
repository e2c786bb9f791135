"""Cleaning a Parquet log on Spark: the kit's one cleaning (:func:`analysis.data.clean.clean_transactions`) run by
the executors on parts of the log that hold whole customers, the parts put together on the driver.

How the log is cut so that every rule gives what it gives on the whole log at once:

* **Row ids.** ``row_id`` is the row's position in the log read as ``pd.read_parquet`` reads it (the Parquet
  files in the order of their path strings, each file's rows in order): the file's offset (the rows of the files
  before it, read from the Parquet footers) plus the row's index in its file (Spark's ``_metadata.row_index``).
  Spark names a file by its URI (``file:/data/donn%C3%A9es%20x/part-0.parquet`` or with the accents as they are,
  through a symlink as given): each name is read back as a path (:func:`spark_file_path`) and matched to the
  folder's listing by its real path (symlinks resolved), so any folder name works. Every
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
  log's dates use (:func:`analysis.data.clean.numeric_date_layout_of` over every value, on the executors: the
  cleaning's own reading of date text) and passes it to every part's cleaning (``numeric_layout``; only numeric
  dates take it, other text such as ``2024/01/03`` is read as the whole log reads it), so a part holding only
  ambiguous dates reads them as the log does; a log mixing both layouts fails with the cleaning's own message.

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
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pandas as pd

from analysis.data.clean import (
    TEXT_READ_ORDER,
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
#: Spark's name of each row's file and the row's index in it (read into ``ROW`` by the executors' first step).
FILE, INDEX = "__rfmkit_file", "__rfmkit_index"
#: A column of a part's ``anonymous`` frame on its way to the driver: the cleaning's own return mask.
ANON_RETURN = "__rfmkit_is_return"
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


def _keys(mapping: dict[str, str], cleaning: CleaningParams, origin: str, nanos: list[str], offsets: dict[str, int]):
    """The executors' first step: each row's id in the log (its file's offset, ``offsets`` keyed by
    :func:`spark_file_path`, plus its index in the file) and its customer id as the cleaning reads it (None: no
    usable id)."""
    from analysis.data.clean import normalise_ids

    def run(batches: Iterator) -> Iterator:
        import pyarrow as pa

        for batch in batches:
            files = batch.column(FILE).to_pylist()
            start = np.array([offsets.get(spark_file_path(f), -1) for f in files], dtype=np.int64)
            if (start < 0).any():  # pragma: no cover - the driver checked every file Spark reads
                raise AssertionError(f"a file without an offset: {files[int(np.argmax(start < 0))]}; this is a bug")
            rows = start + batch.column(INDEX).to_numpy(zero_copy_only=False).astype(np.int64)
            batch = batch.drop_columns([FILE, INDEX])
            ids = map_columns(_raw_frame([batch], nanos), mapping, origin)["customer_id"]
            key = normalise_ids(ids, cleaning.id_strip_float_suffix, list(cleaning.missing_tokens))
            batch = batch.append_column(ROW, pa.array(rows, pa.int64()))
            yield batch.append_column(KEY, pa.array(key.astype(object).where(key.notna(), None), pa.string()))

    return run


def _layouts(cleaning: CleaningParams):
    """Which layouts the numeric dates of each batch use: ``(day_first, month_first)`` flags, the text read as the
    cleaning reads it (:func:`analysis.data.clean.numeric_date_layout_of`)."""
    from analysis.data.clean import numeric_date_layout_of

    def run(batches: Iterator) -> Iterator:
        import pyarrow as pa

        for batch in batches:
            day_first, month_first = numeric_date_layout_of(batch.column(0).to_pandas(), list(cleaning.missing_tokens))
            yield pa.RecordBatch.from_pydict({"day_first": [day_first], "month_first": [month_first]})

    return run


def date_layout(day_first: bool, month_first: bool, where: str) -> bool:
    """The layout of the numeric dates every part reads (True: day-first, False: month-first), given whether some
    numeric date of the whole column can only be day-first and some only month-first: day-first for every part
    when the column is (a part holding only ambiguous dates such as 03/01/2024 reads them as the column does);
    :class:`MixedDateLayouts` naming ``where`` when the column mixes both, as
    :func:`analysis.data.clean.numeric_dates_as_iso` says for a whole column. Passed to the cleaning as its own
    argument (``numeric_layout``), never as ``cleaning.dayfirst``: other date text is read as the whole log reads
    it."""
    if day_first and month_first:
        raise MixedDateLayouts(
            f"{where}: the dates mix day-first and month-first layouts, so a date such as 03/01/2024 could be "
            "either; say which: cleaning.dayfirst: true for 31/12/2024, or cleaning.date_format: '%m/%d/%Y' for "
            "12/31/2024; the dates that do not fit it are set aside as bad_date"
        )
    return day_first


def _clean_parts(
    mapping: dict[str, str], cleaning: CleaningParams, origin: str, nanos: list[str], numeric_layout: bool | None
):
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
        res = clean_transactions(raw, mapping, cleaning, origin, numeric_layout).matched()
        frames = {
            "clean": res.clean.assign(row_id=rows[res.clean["row_id"].to_numpy(dtype=np.int64)]),
            "quarantine": res.quarantine.assign(row_id=rows[res.quarantine["row_id"].to_numpy(dtype=np.int64)]),
            "returns": res.returns.assign(row_id=rows[res.returns["row_id"].to_numpy(dtype=np.int64)]),
            "anonymous": res.anonymous.assign(
                row_id=rows[res.anonymous["row_id"].to_numpy(dtype=np.int64)], **{ANON_RETURN: res.anonymous_is_return}
            ),
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


def spark_file_path(name: str) -> str:
    """The path of a file as Spark names it (``inputFiles()``, ``_metadata.file_path``): a URI in either spelling
    (``file:/a/b%20c``, ``file:///a/b%20c``; accents encoded or not) read back as the path ``/a/b c``."""
    return unquote(urlparse(name).path)


def _file_offsets(path: Path, listed: list[str]) -> dict[str, int]:
    """Each file's first row id, keyed by :func:`spark_file_path` of the names Spark reads (``listed``, from
    ``inputFiles()``): the rows of the files before it (from the Parquet footers, no Spark job), the files in the
    order ``pd.read_parquet`` reads a folder in (:func:`analysis.data.io.parquet_files`). Spark's names and the
    folder's files are matched by their real paths (symlinks resolved on both sides)."""
    import pyarrow.parquet as pq

    from analysis.data.io import parquet_files

    files = parquet_files(path) if path.is_dir() else [path]
    by_real, total = {}, 0
    for f in files:
        by_real[os.path.realpath(f)] = total
        total += pq.read_metadata(f).num_rows
    named = {spark_file_path(name): name for name in listed}
    unknown = sorted(name for p, name in named.items() if os.path.realpath(p) not in by_real)
    if unknown:  # a file Spark reads that the folder's listing does not hold: its rows would have no id
        raise InputError(f"{path}: Spark reads {unknown[:3]}, which are not among the folder's Parquet files")
    return {p: by_real[os.path.realpath(p)] for p in named}


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
    from pyspark.sql.types import LongType, StringType, StructField, StructType

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
        date_column = mapping.get("order_date", "order_date")
        numeric_layout = None
        if cleaning.date_format is None and not cleaning.dayfirst and dict(df.dtypes).get(date_column) == "string":
            seen = df.select(date_column).mapInArrow(_layouts(cleaning), "day_first boolean, month_first boolean")
            flags = seen.agg(F.max("day_first"), F.max("month_first")).collect()[0]
            numeric_layout = date_layout(bool(flags[0]), bool(flags[1]), f"{origin}: column '{date_column}'")
        parts_cleaning = cleaning.model_copy(update={"outlier_mad": None})  # outliers judged on the whole log
        schema = StructType([*df.schema.fields, StructField(ROW, LongType()), StructField(KEY, StringType())])
        located = df.select("*", F.col("_metadata.file_path").alias(FILE), F.col("_metadata.row_index").alias(INDEX))
        keyed = located.mapInArrow(_keys(mapping, cleaning, origin, nanos, offsets), schema)
        parts = int(session.conf.get("spark.sql.shuffle.partitions"))
        out = (
            keyed.repartition(parts, KEY)
            .sortWithinPartitions(ROW)
            .mapInArrow(
                _clean_parts(mapping, parts_cleaning, origin, nanos, numeric_layout), "kind string, payload binary"
            )
            .collect()
        )
    return _combine(out, cleaning, origin, offsets)


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
    # which rows without an id are returns: the parts' own masks (the cleaning's rule), never read from a sign
    anon_returns = anonymous.pop(ANON_RETURN).to_numpy(dtype=bool)
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
        **frame_quality(clean, returns, anonymous, net, ~anon_returns),
        "columns": first["columns"],
    }
    if quality["rows_in"] != quality["rows_clean"] + quality["rows_quarantined"]:  # pragma: no cover
        raise AssertionError("row accounting does not reconcile; this is a bug")
    log.info("cleaned %s on Spark in %d parts (%d files)", origin, len(qualities), len(offsets))
    from analysis.data.io import json_safe

    return CleanResult(clean, quarantine, returns, json_safe(quality), anonymous, allocations, anon_returns)


def _sum_nested(items) -> dict:
    """``{column: count}`` or ``{column: {token: count}}`` dicts added up, in the cleaning's order: the columns as
    it reads them (:data:`analysis.data.clean.TEXT_READ_ORDER`), the tokens sorted, so ``quality.json`` is the
    pandas cleaning's byte for byte."""
    out: dict = {}
    for item in items:
        for col, value in item.items():
            if isinstance(value, dict):
                inner = out.setdefault(col, {})
                for k, v in value.items():
                    inner[k] = inner.get(k, 0) + v
            else:
                out[col] = out.get(col, 0) + value
    rank = {c: k for k, c in enumerate(TEXT_READ_ORDER)}
    ordered = sorted(out, key=lambda c: (rank.get(c, len(rank)), c))
    return {c: dict(sorted(out[c].items())) if isinstance(out[c], dict) else out[c] for c in ordered}
