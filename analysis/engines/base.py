"""What every engine shares: the input it accepts, the result frames, and the SQL engines' common part.

An engine computes, from a clean transaction log, one row per customer with

* the RFM summary of :func:`analysis.customers.rfm.rfm_summary` (``first_purchase``,
  ``last_purchase``, ``recency_days``, ``frequency``, ``monetary``), and
* the buy-till-you-die summary of :func:`analysis.clv.summary.summary_from_transactions`
  (``frequency``, ``t_x``, ``T``, ``monetary_value``, ``first_purchase`` and, with a holdout,
  ``frequency_holdout``, ``monetary_holdout``, ``spend_holdout``, ``duration_holdout``),

with exactly those definitions: every engine returns the same frames as the pandas code (counts and
dates exactly; money to floating-point summation order, far below 1e-9 relative).

Input (:data:`Source`): a pandas frame of clean transactions, or the path of a Parquet or CSV file of
them, a folder of such files, or a glob (``data/clean-*.parquet``), e.g. the ``clean.parquet`` written
by ``rfmkit clean``. Columns: ``customer_id``, ``order_date``, ``amount`` and optionally ``order_id``;
others are ignored.
"""

from __future__ import annotations

import glob
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# the definitions, imported (neither module loads pandera or SciPy: analysis.clv loads its models on first use)
from analysis.clv.summary import HOLDOUT_COLUMNS, TIME_UNITS, unit_days  # noqa: F401  (re-exported)
from analysis.customers.rfm import SUMMARY_COLUMNS
from analysis.errors import InputError, MissingColumnError
from analysis.window import as_day, local_time

Source = pd.DataFrame | str | os.PathLike

#: The RFM columns, in :data:`analysis.customers.rfm.SUMMARY_COLUMNS` order.
RFM_COLUMNS = tuple(SUMMARY_COLUMNS)
#: Columns the engines read; ``order_id`` is optional.
NEEDED = ("customer_id", "order_date", "amount")
EPOCH = pd.Timestamp("1970-01-01")
#: Day number before any real date: the RFM window without a lookback.
FAR_PAST = -(10**6)


def day_number(value: object, name: str) -> int:
    """A date-like as days since 1970-01-01 (its time part ignored); InputError naming ``name`` if not a date."""
    return int((as_day(value, name) - EPOCH).days)


def day_timestamp(n: int) -> pd.Timestamp:
    """The midnight timestamp of day number ``n``."""
    return EPOCH + pd.Timedelta(days=int(n))


@dataclass(frozen=True)
class SummaryRequest:
    """One transaction → customer step: the day it is taken on and its options.

    ``as_of`` is the RFM day and the BTYD calibration end (both inclusive); ``lookback_days`` limits
    only the RFM columns (as in ``rfmkit score``); ``holdout_end`` adds the BTYD holdout columns;
    ``time_unit`` is 'D', 'W' or 'M'.
    """

    as_of: object
    lookback_days: int | None = None
    holdout_end: object | None = None
    time_unit: str = "W"
    #: params ``cleaning.timezone``: time-zoned order dates are assigned to days on its wall clock (:func:`local_days`)
    timezone: str | None = None

    @property
    def as_of_n(self) -> int:
        return day_number(self.as_of, "as_of")

    @property
    def end_n(self) -> int:
        if self.holdout_end is None:
            return self.as_of_n
        end = day_number(self.holdout_end, "holdout_end")
        if end <= self.as_of_n:
            raise InputError(
                f"holdout_end {day_timestamp(end).date()} must be after calibration_end "
                f"{day_timestamp(self.as_of_n).date()}"
            )
        return end

    @property
    def window_start_n(self) -> int:
        return FAR_PAST if self.lookback_days is None else self.as_of_n - int(self.lookback_days)


@dataclass(frozen=True)
class FolderResult:
    """What :meth:`Engine.summary_to_folder` wrote: ``path`` (a folder of Parquet files, or a URL) and ``rows``
    (customers)."""

    path: Path | str
    rows: int


@dataclass
class CustomerSummary:
    """The two per-customer frames, both indexed by ``customer_id`` and sorted.

    ``rfm``: customers with a purchase in the RFM window. ``btyd``: customers with a purchase on or
    before ``as_of`` (``attrs`` hold ``time_unit``, ``calibration_end``, ``holdout_end``).
    """

    rfm: pd.DataFrame
    btyd: pd.DataFrame | None

    def combined(self) -> pd.DataFrame:
        """One table for ``rfmkit summary``: the RFM customers, their RFM columns, then the BTYD columns
        with the BTYD ``frequency`` named ``repeat_frequency`` (repeat purchase days) so it cannot be
        confused with the RFM ``frequency`` (orders)."""
        if self.btyd is None:
            return self.rfm
        btyd = self.btyd.drop(columns="first_purchase").rename(columns={"frequency": "repeat_frequency"})
        return self.rfm.join(btyd, how="left")


@dataclass(frozen=True)
class ScoreRequest:
    """The score step of ``rfmkit score`` and the batch: the RFM summary as of ``as_of`` and as of
    ``previous_end`` (the day before the period; both with ``lookback_days``), the BTYD summary as of
    ``as_of`` in ``time_unit``, and the lifecycle facts up to both days. Only rows on or before ``as_of`` count.
    """

    as_of: object
    previous_end: object
    lookback_days: int | None = None
    time_unit: str = "W"
    #: params ``cleaning.timezone``: time-zoned order dates are assigned to days on its wall clock (:func:`local_days`)
    timezone: str | None = None

    @property
    def as_of_n(self) -> int:
        return day_number(self.as_of, "as_of")

    @property
    def prev_n(self) -> int:
        return day_number(self.previous_end, "previous_end")

    def sql_params(self) -> dict[str, int]:
        """The day numbers :data:`analysis.engines.sql.SCORE_STEP_SQL` binds."""
        as_of_n, prev_n = self.as_of_n, self.prev_n
        back = self.lookback_days
        return {
            "as_of_n": as_of_n,
            "window_start_n": FAR_PAST if back is None else as_of_n - int(back),
            "prev_n": prev_n,
            "prev_window_start_n": FAR_PAST if back is None else prev_n - int(back),
        }


#: Columns of :attr:`ScoreInputs.lifecycle` (see :func:`analysis.customers.lifecycle.purchase_facts`).
LIFECYCLE_FACTS = (
    "first_purchase", "last_purchase", "purchase_days", "usual_gap_days",
    "last_purchase_prev", "purchase_days_prev", "usual_gap_days_prev",
)  # fmt: skip


@dataclass
class ScoreInputs:
    """What the score step takes from the log, per customer (frames indexed by ``customer_id``, sorted; every engine
    gives the ids as :data:`SCORE_TEXT`).

    ``rfm`` / ``rfm_previous``: :func:`analysis.customers.rfm.rfm_summary` as of ``as_of`` / ``previous_end``
    (``rfm_previous`` is None when no row is on or before ``previous_end``). ``btyd``:
    :func:`analysis.clv.summary.summary_from_transactions` as of ``as_of``, or None with the reason in
    ``btyd_error`` (missing values, negative amounts). ``lifecycle``: the facts of
    :func:`analysis.customers.lifecycle.purchase_facts`. ``first_day`` / ``last_day``: the first and last
    purchase day of the whole input (None when it is empty). ``run_rate``: the facts of
    :func:`analysis.clv.run_rate.run_rate_facts` (what the CLV's run-rate fallback needs), None with ``btyd``.
    """

    rfm: pd.DataFrame
    rfm_previous: pd.DataFrame | None
    btyd: pd.DataFrame | None
    btyd_error: str | None
    lifecycle: pd.DataFrame
    first_day: pd.Timestamp | None
    last_day: pd.Timestamp | None
    run_rate: pd.DataFrame | None = None


#: :data:`analysis.clv.run_rate.RETENTION_WINDOW_DAYS` (not imported, as above; tests compare them).
RETENTION_WINDOW_DAYS = 365


def retention_base_n(first_n: int, as_of_n: int) -> tuple[int, int]:
    """The earlier retention window of :func:`analysis.clv.run_rate.retention_base_days` (``w`` from the first
    purchase day ``first_n`` to ``as_of_n``) as day numbers, both included; first > last when there is none."""
    w = min(RETENTION_WINDOW_DAYS, (as_of_n - first_n) // 2)
    if w < 1:
        return 1, 0
    return as_of_n - 2 * w, as_of_n - w


def resolve_files(path: str | os.PathLike) -> list[Path]:
    """The files behind a path, a folder (its ``*.parquet``/``*.csv`` files) or a glob, sorted.

    Raises InputError naming the path when nothing matches.
    """
    text = os.fspath(path)
    p = Path(text)
    if p.is_dir():
        files = sorted(q for q in p.rglob("*") if q.is_file() and file_format(q, strict=False))
    elif any(ch in text for ch in "*?["):
        files = sorted(Path(f) for f in glob.glob(text, recursive=True) if Path(f).is_file())
    else:
        files = [p] if p.is_file() else []
    if not files:
        raise InputError(f"{text}: no such file, or no Parquet/CSV file in that folder or glob")
    formats = {file_format(f) for f in files}
    if len(formats) > 1:
        raise InputError(f"{text}: mixes Parquet and CSV files; point at one kind")
    return files


def file_format(path: str | os.PathLike, strict: bool = True) -> str | None:
    """'parquet' or 'csv' from the file's extension (``.parquet``/``.pq``, ``.csv``/``.txt``/``.tsv``)."""
    ext = Path(path).suffix.lower()
    if ext in (".parquet", ".pq"):
        return "parquet"
    if ext in (".csv", ".txt", ".tsv"):
        return "csv"
    if strict:
        raise InputError(f"{path}: unknown file type {ext!r}; engines read clean Parquet or CSV files")
    return None


def check_columns(columns: list[str], origin: str) -> bool:
    """Raise MissingColumnError unless the needed columns are present; True when ``order_id`` is."""
    missing = [c for c in NEEDED if c not in columns]
    if missing:
        raise MissingColumnError(
            f"{origin}: lacks column(s) {missing}; the customer summary needs clean data with "
            f"{list(NEEDED)} (and optionally 'order_id'): run 'rfmkit clean' first and pass its clean.parquet"
        )
    return "order_id" in columns


def check_counts(n_missing: int, n_negative: int, origin: str) -> None:
    """The BTYD summary's data checks, with the messages of :func:`analysis.clv.summary.purchase_occasions`."""
    if n_missing:
        raise InputError(
            f"{origin}: {n_missing} transaction row(s) have a missing or unparsable 'customer_id', "
            "'order_date' or 'amount'; clean the log first ('rfmkit clean')"
        )
    if n_negative:
        raise InputError(
            f"{origin}: {n_negative} row(s) have a negative 'amount': remove returns before the CLV summary"
        )


class _Sorted:
    """The engine's per-customer aggregates (a pandas frame, or the Arrow table the engine returned, no pandas
    frame made of it) sorted by ``customer_id`` once (an Arrow sort, no frame copies): the ids as the
    ``customer_id`` index (of ``text``, pandas' Arrow-backed text type: ``string`` by default), each column as a
    NumPy array in that order."""

    def __init__(self, agg: pd.DataFrame | Any, text: pd.StringDtype | None = None) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(agg, pa.Table):
            ids = pc.cast(agg.column("customer_id"), pa.large_string())
        else:
            array = agg["customer_id"].array
            if isinstance(array, pd.arrays.ArrowStringArray):
                ids = pc.cast(array._pa_array, pa.large_string())  # the engine's text: no round trip through objects
            else:
                values = agg["customer_id"].astype(str).to_numpy(dtype=object)
                ids = pa.chunked_array([pa.array(values, pa.large_string())])
        self.order = pc.sort_indices(ids).to_numpy().astype(np.int64)  # byte order of UTF-8 = the text's order
        self.ids = pd.Index(pd.arrays.ArrowStringArray(pc.take(ids, self.order), dtype=text), name="customer_id")
        self.agg = agg
        self._cols: dict[tuple[str, str | None], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.order)

    def _raw(self, name: str, dtype: str | type | None) -> np.ndarray:
        """Column ``name`` in the engine's row order (NaN for a missing value of a float column)."""
        import pyarrow as pa

        if isinstance(self.agg, pa.Table):
            column = self.agg.column(name)
            if dtype is float:
                return column.cast(pa.float64()).to_numpy()  # nulls become NaN
            if column.null_count:
                raise ValueError(f"column {name} has missing values where {dtype} needs none")
            return column.to_numpy().astype(dtype if dtype is not None else column.to_numpy().dtype, copy=False)
        column = self.agg[name]
        return column.to_numpy(dtype=float, na_value=np.nan) if dtype is float else column.to_numpy(dtype=dtype)

    def col(self, name: str, dtype: str | type | None = None) -> np.ndarray:
        """Column ``name`` in customer order, as ``dtype`` (NaN for a missing value of a float column)."""
        key = (name, None if dtype is None else str(dtype))
        if key not in self._cols:
            self._cols[key] = self._raw(name, dtype)[self.order]
        return self._cols[key]

    def present(self, name: str) -> np.ndarray:
        """True where column ``name`` has a value, in customer order."""
        import pyarrow as pa

        if isinstance(self.agg, pa.Table):
            return self.agg.column(name).is_valid().to_numpy()[self.order]
        return self.agg[name].notna().to_numpy()[self.order]


def frames_from_aggregates(agg: pd.DataFrame | _Sorted, request: SummaryRequest) -> CustomerSummary:
    """Turn the per-customer aggregates of :data:`analysis.engines.sql.CUSTOMER_STEP_SQL` into the
    RFM and BTYD frames, with the pandas code's arithmetic (same operations, same rounding)."""
    rows = agg if isinstance(agg, _Sorted) else _Sorted(agg)
    return CustomerSummary(rfm=_rfm_frame(rows, request.as_of_n, orders_needed=True), btyd=_btyd_frame(rows, request))


def _btyd_frame(rows: _Sorted, request: SummaryRequest) -> pd.DataFrame:
    """The BTYD frame of :func:`frames_from_aggregates` (the score step needs only this one)."""
    length = unit_days(request.time_unit)
    as_of_n = request.as_of_n
    end_n = request.end_n
    ids = rows.ids

    def days(col: str) -> np.ndarray:
        return rows.col(col, "int64")

    first, last = days("first_n"), days("last_n")
    x = days("n_occasions") - 1
    total = rows.col("total_spend", float)
    first_spend = rows.col("first_spend", float)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary_value = (total - first_spend) / np.where(x > 0, x, np.nan)
    btyd = pd.DataFrame(
        {
            "frequency": x,
            "t_x": (last - first) / length,
            "T": (as_of_n - first) / length,
            "monetary_value": monetary_value,
            "first_purchase": _as_dates(first),
        },
        index=ids if ids.dtype == SCORE_TEXT else ids.astype(str),  # the btyd frame's ids are ``str``
    )
    if request.holdout_end is not None:
        n_hold = days("n_holdout")
        spend = rows.col("spend_holdout", float)
        with np.errstate(invalid="ignore", divide="ignore"):
            btyd["frequency_holdout"] = n_hold
            btyd["monetary_holdout"] = spend / np.where(n_hold > 0, n_hold, np.nan)
        btyd["spend_holdout"] = spend
        btyd["duration_holdout"] = (end_n - as_of_n) / length
        btyd = btyd[[*btyd.columns[:5], *HOLDOUT_COLUMNS]]
    btyd.attrs.update(
        time_unit=request.time_unit,
        calibration_end=str(day_timestamp(as_of_n).date()),
        holdout_end=None if request.holdout_end is None else str(day_timestamp(end_n).date()),
    )
    return btyd


def _as_dates(n: np.ndarray) -> np.ndarray:
    return (EPOCH.to_datetime64() + n.astype("timedelta64[D]")).astype("datetime64[ns]")


def _rfm_frame(rows: _Sorted, day_n: int, prefix: str = "", orders_needed: bool = False) -> pd.DataFrame:
    """The RFM columns from the window aggregates ``{prefix}first_purchase_n`` … of the customers with a
    purchase in the window (and, with ``orders_needed``, a window order count), as the pandas code computes them.
    All customers in the window: the ids' index itself (no copy)."""
    in_window = rows.present(f"{prefix}first_purchase_n")
    if orders_needed:
        in_window &= rows.present(f"{prefix}n_orders")
    everyone = bool(in_window.all())

    def take(values: np.ndarray) -> np.ndarray:
        return values if everyone else values[in_window]

    last_p = take(rows.col(f"{prefix}last_purchase_n", float)).astype("int64")
    rfm = pd.DataFrame(
        {
            "first_purchase": _as_dates(take(rows.col(f"{prefix}first_purchase_n", float)).astype("int64")),
            "last_purchase": _as_dates(last_p),
            "recency_days": (day_n - last_p).astype("int64"),
            "frequency": take(rows.col(f"{prefix}n_orders", float)).astype("int64"),
            "monetary": take(rows.col(f"{prefix}window_spend", float)).round(6),
        },
        index=rows.ids if everyone else rows.ids[in_window],
    )
    return rfm


#: pandas' Arrow-backed text type ``str``, that of the scored customers' ids (the data contract's,
#: :data:`analysis.contract.CUSTOMER_TYPES`): the score step's frames share one index of it, so nothing after
#: the engine converts or realigns 2M ids.
SCORE_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def score_frames_from_aggregates(
    agg: pd.DataFrame | Any, check: pd.Series, request: ScoreRequest, origin: str
) -> ScoreInputs:
    """Turn the rows of :data:`analysis.engines.sql.SCORE_STEP_SQL` (a pandas frame or an Arrow table) and
    :data:`~analysis.engines.sql.SCORE_CHECK_SQL` into :class:`ScoreInputs`, with the pandas code's arithmetic
    (that of :func:`frames_from_aggregates`); every frame is indexed by one ``customer_id`` index
    (:data:`SCORE_TEXT`)."""
    rows = _Sorted(agg, SCORE_TEXT)
    ids = rows.ids
    as_of_n, prev_n = request.as_of_n, request.prev_n
    summary_request = SummaryRequest(request.as_of, request.lookback_days, None, request.time_unit)
    btyd: pd.DataFrame | None = None
    error: str | None = None
    try:
        check_counts(int(check["n_missing"]), int(check["n_negative"]), origin)
        btyd = _btyd_frame(rows, summary_request)
        require_customers(btyd, summary_request)
    except InputError as err:
        btyd, error = None, str(err)
    days = rows.col("prev_days", "int64")
    prev_last = rows.col("prev_last_n", float)
    lifecycle = pd.DataFrame(
        {
            "first_purchase": _as_dates(rows.col("first_n", "int64")),
            "last_purchase": _as_dates(rows.col("last_n", "int64")),
            "purchase_days": rows.col("n_occasions", "int64"),
            "usual_gap_days": rows.col("median_gap", float),
            "last_purchase_prev": np.where(
                days > 0, _as_dates(np.nan_to_num(prev_last).astype("int64")), np.datetime64("NaT", "ns")
            ),
            "purchase_days_prev": days,
            "usual_gap_days_prev": rows.col("prev_median_gap", float),
        },
        index=ids,
    )
    first_day, last_day = check["first_day_n"], check["last_day_n"]
    run_rate: pd.DataFrame | None = None
    if btyd is not None and int(rows.col("first_n", "int64").min()) == int(first_day):  # base window in the pass
        run_rate = pd.DataFrame(
            {
                "first_purchase": lifecycle["first_purchase"],
                "last_purchase": lifecycle["last_purchase"],
                "purchase_days": lifecycle["purchase_days"],
                "spend": rows.col("total_spend", float),
                "in_retention_base": rows.col("in_retention_base", bool),
            },
            index=ids,
        )
    return ScoreInputs(
        rfm=_rfm_frame(rows, as_of_n),
        rfm_previous=_rfm_frame(rows, prev_n, "p_") if (days > 0).any() else None,
        btyd=btyd,
        btyd_error=error,
        lifecycle=lifecycle,
        first_day=None if pd.isna(first_day) else day_timestamp(int(first_day)),
        last_day=None if pd.isna(last_day) else day_timestamp(int(last_day)),
        run_rate=run_rate,
    )


def local_days(source: Source, timezone: str | None) -> Source:
    """``source`` with time-zoned order dates put on the wall clock of ``timezone`` (UTC when None), naive, before
    any engine assigns them to days (:func:`analysis.window.local_time`): every engine then gives the same days as
    cleaning. Naive dates (the cleaned log's, local already) and files are left as they are; a file's time-zoned
    column is cast on the engine's session time zone (DuckDB: :meth:`SQLEngine.use_timezone`; Spark: UTC)."""
    if not isinstance(source, pd.DataFrame) or "order_date" not in source.columns:
        return source
    stamps = source["order_date"]
    if not isinstance(stamps.dtype, pd.DatetimeTZDtype):
        return source
    return source.assign(order_date=local_time(stamps, timezone, naive="local"))


class Engine(ABC):
    """An engine by name (see :mod:`analysis.engines`); ``close`` releases its connection or session."""

    name: str = ""

    @abstractmethod
    def customer_summary(self, source: Source, request: SummaryRequest, *, btyd: bool = True) -> CustomerSummary:
        """The RFM and BTYD frames of ``source`` (see :class:`CustomerSummary`).

        With ``btyd`` (the default) the BTYD summary's data checks run first (no missing values, no
        negative amounts) and InputError is raised when they fail or when no customer bought on or
        before ``as_of``, as :func:`analysis.clv.summary.summary_from_transactions` does. With
        ``btyd=False`` only the RFM frame is made (``btyd`` is None), which accepts netted returns.
        """

    @abstractmethod
    def score_inputs(self, source: Source, request: ScoreRequest) -> ScoreInputs:
        """What the score step takes from ``source`` (see :class:`ScoreInputs`)."""

    def summary_to_folder(self, source: Source, request: SummaryRequest, out: str | os.PathLike) -> FolderResult:
        """The columns of :meth:`CustomerSummary.combined` written by the engine's workers as the folder of Parquet
        files ``out/customers/``, sorted by ``customer_id``; only for engines whose capabilities say ``folder_summary``
        (see :class:`analysis.engines.Capabilities`; callers check them first)."""
        raise NotImplementedError(f"the {self.name} engine does not write folders (capability folder_summary)")

    def score_to_folder(self, source: Source, as_of: object, out: str | os.PathLike, params: object) -> Any:
        """Every customer scored and written by the engine's workers into ``out`` (``customers/`` and
        ``models.json``); only for engines whose capabilities say ``folder_score``."""
        raise NotImplementedError(f"the {self.name} engine does not score into folders (capability folder_score)")

    def rfm_summary(self, source: Source, as_of: object, lookback_days: int | None = None) -> pd.DataFrame:
        """:func:`analysis.customers.rfm.rfm_summary` computed by this engine."""
        return self.customer_summary(source, SummaryRequest(as_of, lookback_days), btyd=False).rfm

    def btyd_summary(
        self, source: Source, calibration_end: object, holdout_end: object | None = None, time_unit: str = "W"
    ) -> pd.DataFrame:
        """:func:`analysis.clv.summary.summary_from_transactions` computed by this engine."""
        return self.customer_summary(source, SummaryRequest(calibration_end, None, holdout_end, time_unit)).btyd

    def close(self) -> None:  # noqa: B027 - engines without resources keep this no-op
        """Release the engine's connection or session (no-op by default)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SQLEngine(Engine):
    """An engine that runs :data:`analysis.engines.sql.CUSTOMER_STEP_SQL`: it only has to expose the
    input as the ``transactions`` view and run a query with bound parameters."""

    @abstractmethod
    def register(self, source: Source) -> str:
        """Expose ``source`` as the view ``transactions`` (canonical columns, see :mod:`analysis.engines.sql`);
        return a name for messages."""

    @abstractmethod
    def query(self, sql: str, params: dict[str, int]) -> pd.DataFrame:
        """Run ``sql`` with ``:name`` parameters bound; the result as a pandas frame."""

    def query_table(self, sql: str, params: dict[str, int]) -> pd.DataFrame | Any:
        """:meth:`query` for a large result that is only read column by column (:class:`_Sorted`): an engine may
        return its Arrow table instead of a pandas frame, saving a copy of every column (the DuckDB engine does)."""
        return self.query(sql, params)

    def use_timezone(self, timezone: str | None) -> None:
        """Cast the time-zoned order dates of files on ``timezone``'s wall clock (UTC when None); no-op by default."""

    def customer_summary(self, source: Source, request: SummaryRequest, *, btyd: bool = True) -> CustomerSummary:
        from analysis.engines.sql import CHECK_SQL, CUSTOMER_STEP_SQL

        self.use_timezone(request.timezone)
        origin = self.register(local_days(source, request.timezone))
        if btyd:
            c = self.query(CHECK_SQL, {}).iloc[0]
            check_counts(int(c["n_missing"]), int(c["n_negative"]), origin)
        params = {"as_of_n": request.as_of_n, "end_n": request.end_n, "window_start_n": request.window_start_n}
        out = frames_from_aggregates(self.query(CUSTOMER_STEP_SQL, params), request)
        if not btyd:
            return CustomerSummary(rfm=out.rfm, btyd=None)
        require_customers(out.btyd, request)
        return out

    def score_inputs(self, source: Source, request: ScoreRequest) -> ScoreInputs:
        from analysis.engines.sql import SCORE_CHECK_SQL, SCORE_STEP_SQL

        self.use_timezone(request.timezone)
        origin = self.register(local_days(source, request.timezone))
        params = request.sql_params()
        check = self.query(SCORE_CHECK_SQL, {"as_of_n": params["as_of_n"]}).iloc[0]
        first = check["first_day_n"]
        base = (1, 0) if pd.isna(first) else retention_base_n(int(first), params["as_of_n"])
        agg = self.query_table(SCORE_STEP_SQL, {**params, "base_from_n": base[0], "base_to_n": base[1]})
        return score_frames_from_aggregates(agg, check, request, origin)


def require_customers(btyd: pd.DataFrame, request: SummaryRequest) -> None:
    """InputError, as in the pandas summary, when no customer bought on or before ``as_of``."""
    if btyd.empty:
        raise InputError(
            f"no purchase on or before calibration_end {day_timestamp(request.as_of_n).date()}: choose a later date"
        )
