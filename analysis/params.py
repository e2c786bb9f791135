"""Typed parameters for every rfmkit run, loaded from YAML and validated before any work starts.

Every model forbids unknown keys (``extra="forbid"``): a misspelt key fails at once, naming the key
and the file, instead of being silently ignored the way papermill ignores unknown parameters.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from analysis.errors import ParamsError, format_validation_error

#: Canonical transaction columns. ``amount`` may instead be derived from ``quantity`` × ``unit_price``.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "order_id",
    "order_date",
    "amount",
    "quantity",
    "unit_price",
    "region",
    "channel",
    "product_line",
    "sales_rep",
    "cost",
)
REQUIRED_COLUMNS: tuple[str, ...] = ("customer_id", "order_date")
#: The message for a misspelt or unknown key in a params file.
UNKNOWN_KEY = "unknown key (check its spelling; see params/monthly.yaml for the keys)"


def mapped_twice(mapping: dict[str, str]) -> str | None:
    """A sentence naming each source column mapped to more than one canonical column, or None."""
    seen: dict[str, list[str]] = {}
    for canonical, theirs in mapping.items():
        seen.setdefault(theirs, []).append(canonical)
    twice = {theirs: names for theirs, names in seen.items() if len(names) > 1}
    if not twice:
        return None
    parts = "; ".join(f"'{theirs}' is mapped to {' and '.join(names)}" for theirs, names in twice.items())
    return f"{parts}. Map each of your columns to one canonical column (fix 'columns:' or --map)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SampleParams(_Model):
    """The built-in synthetic transaction log (see :mod:`analysis.data.sample`)."""

    customers: Annotated[int, Field(ge=10, le=5_000_000)] = 20_000
    start: dt.date = dt.date(2023, 1, 1)
    end: dt.date = dt.date(2024, 12, 31)
    seed: int = 42
    dirty: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> SampleParams:
        if self.end <= self.start:
            raise ValueError(f"sample end {self.end} must be after start {self.start}")
        return self


class SourceParams(_Model):
    """Where the raw transaction log comes from.

    ``format: auto`` picks the reader from the file's extension (``.csv``/``.txt``/``.tsv``,
    ``.parquet``/``.pq``, ``.xlsx``/``.xls``); ``sql`` runs ``query`` on the SQLAlchemy ``url``;
    ``sample`` generates the built-in synthetic log, so the default run needs no download; ``dataset``
    reads a data set shipped in the package by its ``name`` (``cdnow_sample``, see :mod:`analysis.datasets`),
    and ``path`` is then filled in with the bundled file (any ``path`` given is replaced).
    """

    format: Literal["auto", "csv", "parquet", "excel", "sql", "sample", "dataset"] = "auto"
    name: str | None = None
    path: str | None = None
    url: str | None = None
    query: str | None = None
    sep: str = ","
    header: bool = True
    names: list[str] | None = None
    encoding: str = "utf-8"
    sheet: str | int = 0
    skiprows: Annotated[int, Field(ge=0)] = 0  # rows above the header (a title, notes), skipped in CSV and Excel
    #: Limits on what an Excel workbook may cost, checked before reading it (analysis.data.io.check_excel_size).
    max_unpacked_mb: Annotated[int, Field(gt=0)] = 512
    max_cells: Annotated[int, Field(gt=0)] = 20_000_000
    sample: SampleParams = SampleParams()

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, v: str) -> str:
        import codecs

        try:
            codecs.lookup(v)
        except LookupError:
            raise ValueError(
                f"unknown encoding '{v}'; use a Python codec name such as utf-8, utf-8-sig, latin-1, cp1252 or gbk"
            ) from None
        return v

    @field_validator("sep")
    @classmethod
    def _separator(cls, v: str) -> str:
        if not v:
            raise ValueError("the separator is empty; use ',', ';', '\\t' (tab), '|' or '\\s+' (whitespace)")
        return v

    @model_validator(mode="before")
    @classmethod
    def _dataset_path(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("format") == "dataset":
            from analysis.datasets import DATASETS

            name = data.get("name")
            if name not in DATASETS:
                raise ValueError(f"format 'dataset' needs 'name', one of {sorted(DATASETS)}; got {name!r}")
            data = {**data, "path": str(DATASETS[name].path())}
        return data

    @model_validator(mode="after")
    def _check_complete(self) -> SourceParams:
        if self.name is not None and self.format != "dataset":
            raise ValueError(f"'name' is for format 'dataset' (a bundled data set), not format '{self.format}'")
        if self.format == "sql" and not (self.url and self.query):
            raise ValueError("format 'sql' needs both 'url' (a SQLAlchemy URL) and 'query'")
        if self.format not in ("sql", "sample") and not self.path:
            raise ValueError(f"format '{self.format}' needs 'path' (the file to read)")
        return self


#: Cell values that mean "no value" in common exports, matched after trimming and case-folding.
DEFAULT_MISSING_TOKENS: tuple[str, ...] = (
    "", "(blank)", "NULL", "null", "N/A", "NA", "#N/A", "nan", "None", "-", "?", "<NA>", "NaT",
)  # fmt: skip


class CleaningParams(_Model):
    """How raw rows are cleaned; see :func:`analysis.data.clean.clean_transactions`.

    ``missing_tokens``: values meaning "no value" in ids and text fields (trimmed, case-folded before
    matching); a customer id among them is ``missing_customer_id``. ``min_date``/``max_date``: the plausible
    order dates (inclusive; ``max_date`` empty = one year after today); others are ``bad_date``.
    ``max_amount``: the largest plausible absolute amount, quantity, unit price or cost, in the source's
    currency; beyond it (or not finite) a row is ``bad_amount``.
    """

    date_format: str | None = None
    dayfirst: bool = False
    decimal: Literal[".", ","] = "."
    cancelled_prefix: str | None = "C"
    drop_duplicates: bool = True
    zero_amount: Literal["quarantine", "keep"] = "quarantine"
    outlier_mad: Annotated[float, Field(gt=0)] | None = 5.0
    id_strip_float_suffix: bool = True
    missing_tokens: list[str] = Field(default_factory=lambda: list(DEFAULT_MISSING_TOKENS))
    min_date: dt.date = dt.date(1970, 1, 1)
    max_date: dt.date | None = None
    max_amount: Annotated[float, Field(gt=0, allow_inf_nan=False)] = 1e12
    #: The longest id or label (customer and order ids, region, channel, product line, sales rep), in characters;
    #: a longer one sets its row aside (``bad_customer_id`` or ``text_too_long``): reports stay within their budget.
    max_text_length: Annotated[int, Field(ge=1, le=10_000)] = 200
    #: The business's time zone (IANA name, e.g. ``Europe/London``): timestamps are converted to it before they are
    #: assigned to days (a time-zoned stamp from its zone, a naive one read as UTC). None: they are local already.
    timezone: str | None = None

    @field_validator("date_format")
    @classmethod
    def _strptime_format(cls, v: str | None) -> str | None:
        if v is None:
            return v
        if "%" not in v:
            raise ValueError(f"'{v}' has no %-directive; write a strftime format such as %Y-%m-%d, %d/%m/%Y or %Y%m%d")
        try:
            dt.datetime.strptime(dt.datetime(2001, 2, 3, 4, 5, 6).strftime(v), v)
        except ValueError as err:
            if "directive" in str(err):
                raise ValueError(
                    f"'{v}' is not a strftime format ({err}); use directives such as %Y %m %d %H %M %S"
                ) from None
        return v

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"cleaning.timezone '{v}' is not an IANA time zone name; write one such as Europe/London, "
                "America/New_York or Asia/Shanghai, or leave it out when the timestamps are local already"
            ) from None
        return v.strip()

    @model_validator(mode="after")
    def _date_range(self) -> CleaningParams:
        if self.max_date is not None and self.max_date < self.min_date:
            raise ValueError(f"cleaning.max_date {self.max_date} is before cleaning.min_date {self.min_date}")
        return self

    def date_range(self, today: dt.date | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The plausible order dates, first and last day inclusive (``max_date`` empty: today + one year)."""
        today = today or dt.date.today()
        last = self.max_date or (pd.Timestamp(today) + pd.DateOffset(years=1)).date()
        return pd.Timestamp(self.min_date), pd.Timestamp(last)


class ScoreThresholds(_Model):
    """User-given cut points (4 ascending numbers each) used instead of quantiles."""

    recency_days: list[float] | None = None
    frequency: list[float] | None = None
    monetary: list[float] | None = None

    @field_validator("recency_days", "frequency", "monetary")
    @classmethod
    def _four_ascending(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and (len(v) != 4 or any(b < a for a, b in itertools.pairwise(v))):
            raise ValueError(f"needs exactly 4 non-decreasing cut points, got {v}")
        return v


class SegmentRule(_Model):
    """Inclusive score ranges; ``fm`` is the mean of the F and M scores (1, 1.5, …, 5)."""

    r: tuple[float, float] = (1, 5)
    f: tuple[float, float] = (1, 5)
    m: tuple[float, float] = (1, 5)
    fm: tuple[float, float] = (1, 5)


class RFMParams(_Model):
    """RFM scoring; see :mod:`analysis.customers.rfm` and :mod:`analysis.customers.segments`.

    ``partial_period``: when the data ends before the period does (the log's last day, over the whole input, is
    inside the month), ``data_end`` (default) scores the customers as of the data's last day and compares the
    same number of days of the previous period and of a year before; ``period_end`` scores as of the month's
    last day regardless (every customer then looks at least as many days silent as the data is short).
    """

    lookback_days: Annotated[int, Field(gt=0)] | None = None
    partial_period: Literal["data_end", "period_end"] = "data_end"
    #: the minimum-data rule (analysis.window.too_short): a period whose data cover fewer days gets no growth
    #: figures, backtests or action evaluation, and says why (docs/figures.md)
    min_period_days: Annotated[int, Field(ge=1, le=31)] = 7
    thresholds: ScoreThresholds = ScoreThresholds()
    segment_rules: dict[str, SegmentRule] | None = None


class ClusterParams(_Model):
    """k-means on log R, F, M (and CLV); k chosen over ``k_min..k_max`` by silhouette.

    ``sample_size`` is the number of customers the silhouette is computed on (a ``seed``-drawn sample).
    ``fit_sample_size`` caps the customers k-means is fitted on: with more customers, every start for
    every k and the ``stability_seeds`` refits use a ``seed``-drawn sample of that many, and every customer
    is then assigned to the nearest centre (see :mod:`analysis.customers.cluster`).
    """

    enabled: bool = True
    k_min: Annotated[int, Field(ge=2)] = 3
    k_max: Annotated[int, Field(ge=2)] = 8
    n_init: Annotated[int, Field(ge=1)] = 10
    seed: int = 0
    sample_size: Annotated[int, Field(ge=100)] = 5000  # customers; silhouette sample
    stability_seeds: Annotated[int, Field(ge=2)] = 5
    fit_sample_size: Annotated[int, Field(ge=1000)] = 50_000  # customers; k-means fit sample


class LifecycleParams(_Model):
    """Lifecycle stage thresholds; see :mod:`analysis.customers.lifecycle` for the definitions."""

    dormant_multiple: Annotated[float, Field(gt=0)] = 2.0
    dormant_days: Annotated[int, Field(gt=0)] = 180
    lost_multiple: Annotated[float, Field(gt=0)] = 4.0
    lost_days: Annotated[int, Field(gt=0)] = 365
    lost_p_alive: Annotated[float, Field(ge=0, le=1)] = 0.2


class SegmentationParams(_Model):
    """ABC tiers (cumulative revenue share limits of A and B), lifecycle and clustering."""

    abc: tuple[float, float] = (0.80, 0.95)
    lifecycle: LifecycleParams = LifecycleParams()
    cluster: ClusterParams = ClusterParams()

    @field_validator("abc")
    @classmethod
    def _abc_ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] < v[1] <= 1:
            raise ValueError(f"abc limits must satisfy 0 < A < B <= 1, got {list(v)}")
        return v


class CLVParams(_Model):
    """Customer lifetime value (BG/NBD + Gamma-Gamma, with fallbacks; see :mod:`analysis.clv.pipeline`).

    ``horizon`` is in ``time_unit`` units and defaults to one year in that unit (365 D, 52 W, 12 M).
    The discount rate is given per year (``annual_discount_rate``, default 10 %) and converted to the unit
    (``(1 + annual) ** (unit_days / 365.25) - 1``); ``discount_rate`` (per time unit) may be given instead,
    not both. After validation ``horizon`` and ``discount_rate`` always hold the values used. ``penalizer``
    weighs a penalty on log parameters that means the same in any currency or time unit (0 = none); ``auto``
    (default) chooses it, none included, by the error on the run's own held-out purchases
    (:mod:`analysis.clv.selection`).
    """

    enabled: bool = True
    time_unit: Literal["D", "W", "M"] = "W"
    horizon: Annotated[float, Field(gt=0)] | None = None  # time units; None: one year in time_unit
    annual_discount_rate: Annotated[float, Field(ge=0, lt=10)] = 0.10
    discount_rate: Annotated[float, Field(ge=0)] | None = None  # per time unit; None: from annual_discount_rate
    penalizer: Annotated[float, Field(ge=0)] | Literal["auto"] = "auto"

    @model_validator(mode="before")
    @classmethod
    def _unit_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        unit_days = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}.get(data.get("time_unit", "W"))
        if unit_days is None:
            return data  # the Literal check names the bad unit
        out = dict(data)
        if out.get("horizon") is None:
            out["horizon"] = float(round(365.25 / unit_days))
        annual = out.get("annual_discount_rate", 0.10)
        if not (isinstance(annual, int | float) and not isinstance(annual, bool) and 0 <= annual < 10):
            return out  # the field check names the bad value
        per_unit = (1.0 + float(annual)) ** (unit_days / 365.25) - 1.0
        given = out.get("discount_rate")
        if given is None:
            out["discount_rate"] = per_unit
        elif "annual_discount_rate" in out and isinstance(given, int | float) and abs(given - per_unit) > 1e-9:
            raise ValueError(
                f"annual_discount_rate {annual} and discount_rate {given} per time unit disagree: give only one "
                "(the annual rate is converted to the time unit)"
            )
        return out


class ExperimentParams(_Model):
    """Control groups in the action lists and the measurement of earlier actions (:mod:`analysis.strategy.experiment`).

    Each action's customers are split at random (per play ``control_share`` of the playbook, stratified by
    segment, seeded by ``seed`` + period + region); the CRM lists hold the treatment group. A run reads the
    assignments of the run ``window_months`` periods before it (same region, same ``output_dir``) and measures
    them over the ``window_months`` periods ending with its own. Once an action has enough evidence
    (``min_group_customers`` in each group and a 95 % interval narrower than ``max(assumed uplift,
    min_halfwidth)``), its expected return uses the measured uplift shrunk towards the playbook's assumption
    with a prior standard deviation ``prior_sd`` (response-rate units). ``keep_published``: a re-run of a
    published run (``--force``) keeps its published assignments. ``min_group_orders``: an action whose treatment
    or control group holds fewer orders (or customers) in the window is marked not reliable, and its uplift and
    ROI are not shown as figures.
    """

    enabled: bool = True
    seed: int = 0
    window_months: Annotated[int, Field(ge=1, le=12)] = 1
    keep_published: bool = True
    prior_sd: Annotated[float, Field(gt=0, le=1)] = 0.05
    min_group_customers: Annotated[int, Field(ge=2)] = 30
    min_halfwidth: Annotated[float, Field(gt=0, le=1)] = 0.02
    min_group_orders: Annotated[int, Field(ge=1)] = 5


class PrivacyParams(_Model):
    """How customers are shown in reports (:mod:`analysis.privacy`).

    By default a report shows each customer by a pseudonym, a keyed hash of the id (HMAC-SHA256); the CRM action
    lists keep the real ids and carry the pseudonym. ``show_customer_ids: true`` shows raw ids in reports.
    ``key_file``: a file holding the pseudonym key (at least 16 bytes); the environment variable
    ``RFMKIT_PSEUDONYM_KEY`` takes precedence, and with neither the kit makes a key in the user's configuration
    folder (``~/.config/rfmkit/pseudonym.key``). Only the path is kept in manifests, never the key.
    """

    show_customer_ids: bool = False
    #: Input columns the analysis does not use that reports may show in rows set aside (others are only named).
    show_columns: list[str] = Field(default_factory=list)
    key_file: str | None = None


class ReportParams(_Model):
    """What a report's first screen shows (docs/reports.md, *The first screen*).

    ``flagged_change_points``: when flagged orders (``is_outlier``) move a change by at least this many points of
    growth, a KPI card shows the figure without them and a sentence says so. ``min_customers``: a figure resting
    on fewer customers is marked unreliable, with the count.
    """

    flagged_change_points: Annotated[float, Field(ge=0)] = 10.0
    min_customers: Annotated[int, Field(ge=1)] = 20


class ExecutionParams(_Model):
    """How notebooks are executed by the batch.

    ``timeout_seconds`` limits one cell, ``notebook_timeout_seconds`` one whole notebook (default
    3 × the cell limit); a run past its limit, or whose kernel dies, is killed and reported failed.
    """

    timeout_seconds: Annotated[int, Field(gt=0)] = 600
    notebook_timeout_seconds: Annotated[int, Field(gt=0)] | None = None  # whole notebook; default 3 × per cell
    kernel: str = "python3"
    jobs: Annotated[int, Field(ge=1)] | None = None


class DuckDBParams(_Model):
    """Settings of the DuckDB engine (see :mod:`analysis.engines.duckdb_engine`).

    ``memory_limit`` caps DuckDB's memory (a size such as ``"3GB"``; None: DuckDB's default, 80 % of
    RAM); past it, joins and aggregations spill to ``temp_directory`` (None: DuckDB's default
    ``.tmp`` folder, or no spilling for an in-memory database). ``threads``: None uses every core.
    """

    memory_limit: str | None = None
    temp_directory: str | None = None
    threads: Annotated[int, Field(ge=1)] | None = None


class SparkParams(_Model):
    """Settings of the Spark engine (see :mod:`analysis.engines.spark_engine`).

    ``master`` is the cluster URL (``local[2]``, ``spark://host:7077``, ``yarn``, ``k8s://…``); None
    takes ``$SPARK_MASTER``, else ``local[*]``. ``config`` entries are passed to the session builder
    as they are, e.g. ``{"spark.executor.memory": "8g"}``.
    """

    master: str | None = None
    app_name: str = "rfmkit"
    config: dict[str, str] = Field(default_factory=dict)


class EngineParams(_Model):
    """Where the transaction → customer step runs; ``engine: auto`` uses pandas up to
    ``auto_pandas_max_rows`` input rows and DuckDB above."""

    auto_pandas_max_rows: Annotated[int, Field(ge=0)] = 2_000_000
    duckdb: DuckDBParams = DuckDBParams()
    spark: SparkParams = SparkParams()


PERIOD_RE = re.compile(r"^\d{4}-\d{2}$")


class PeriodRange(_Model):
    """An inclusive range of calendar months, ``YYYY-MM``, of at most ``max_months`` months.

    A longer range is refused (it would plan a run per month × region) unless validation is told
    ``allow_large`` (``rfmkit run --allow-large``, :func:`load_params` ``allow_large=True``).
    """

    start: str
    end: str
    max_months: Annotated[int, Field(ge=1)] = 120

    @field_validator("start", "end", mode="before")
    @classmethod
    def _month(cls, v: object) -> str:
        if isinstance(v, dt.date):  # YAML reads 2024-06-01 as a date: take its month
            v = v.strftime("%Y-%m")
        v = str(v)
        if not PERIOD_RE.match(v) or not 1 <= int(v[5:7]) <= 12 or int(v[:4]) < 1:
            raise ValueError(f"'{v}' is not a month; write it as YYYY-MM, e.g. 2024-06")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> PeriodRange:
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before start {self.start}")
        return self

    def check_size(self, allow_large: bool = False, origin: str = "parameters") -> None:
        """Refuse a range of more than ``max_months`` months unless ``allow_large``.

        Raises
        ------
        ParamsError
            Naming the range, its length, the cap and the three ways out.
        """
        n = self.n_months
        if n > self.max_months and not allow_large:
            raise ParamsError(
                f"{origin}: periods {self.start}..{self.end} is {n:,} months, more than periods.max_months "
                f"({self.max_months}); narrow the range, raise periods.max_months, or pass --allow-large to "
                "'rfmkit run'"
            )

    @property
    def n_months(self) -> int:
        """Number of months in the range."""
        (y0, m0), (y1, m1) = (map(int, p.split("-")) for p in (self.start, self.end))
        return (y1 - y0) * 12 + (m1 - m0) + 1

    def months(self) -> list[str]:
        """Every month of the range, oldest first."""
        return [str(p) for p in pd.period_range(self.start, self.end, freq="M")]


# --- the sales side (issue 20): CRM inputs and the funnel block; see analysis/sales and docs/sales.md -----------

#: Canonical columns of each CRM input (canonical name -> your column via the input's ``columns``); the first ones of
#: each tuple in :data:`SALES_REQUIRED` must be present after mapping.
SALES_COLUMNS: dict[str, tuple[str, ...]] = {
    "opportunities": (
        "opportunity_id", "customer_id", "sales_rep", "created_date", "stage", "close_date", "amount",
        "product", "source", "region", "lost_reason",
    ),
    "stage_history": ("opportunity_id", "stage", "entered_at"),
    "targets": ("sales_rep", "team", "period", "revenue_target", "new_customer_target", "deal_target"),
    "sales_teams": ("sales_rep", "manager", "team", "region"),
}  # fmt: skip


class MappedInputParams(_Model):
    """An input file mapped like the transaction log: where it is (``source``) and its column mapping
    (canonical name -> your column name; no column mapped twice). The CRM inputs and the optional customer inputs
    extend it."""

    source: SourceParams
    columns: dict[str, str] = Field(default_factory=dict)

    @field_validator("columns")
    @classmethod
    def _no_double_mapping(cls, v: dict[str, str]) -> dict[str, str]:
        twice = mapped_twice(v)
        if twice:
            raise ValueError(twice)
        return v


SALES_REQUIRED: dict[str, tuple[str, ...]] = {
    "opportunities": ("opportunity_id", "sales_rep", "stage"),
    "stage_history": ("opportunity_id", "stage", "entered_at"),
    "targets": ("period", "revenue_target"),
    "sales_teams": ("sales_rep",),
}


class SalesInputParams(MappedInputParams):
    """One CRM input file: where it is (``source``, any format of the transaction log's source), its column
    mapping (canonical name -> your column name; see :data:`SALES_COLUMNS`) and ``aliases``: per canonical
    column, spellings to read as another value (``{stage: {Engagng: Engaging}}``) for typos in categories.
    ``format: sample`` generates the bundled CRM sample (:mod:`analysis.sales.generate`) from ``source.sample``."""

    aliases: dict[str, dict[str, str]] = Field(default_factory=dict)


class FunnelParams(_Model):
    """The sales funnel (:mod:`analysis.sales.funnel`).

    ``stages``: the ordered stages a deal passes through, ending with the won stage (``won``; added at the end when
    not listed); ``lost``: the stages meaning a lost deal. Stage names are matched ignoring case, spaces and
    punctuation. ``stalled_days``: an open deal older than this many days in its stage is stalled (None: older than
    the 90th percentile of the days deals spent in that stage, all history up to the run's last day, once at least
    ``min_exits`` deals have left it). ``history_months``: the rep scorecard's retention looks this many months
    back for a rep's customers. ``export_date``: the day the CRM export was taken (default: the last date found in
    it); a period reaching past it is partial.
    """

    stages: Annotated[list[str], Field(min_length=1)]
    won: str
    lost: list[str] = Field(default_factory=list)
    stalled_days: Annotated[float, Field(gt=0)] | None = None
    min_exits: Annotated[int, Field(ge=1)] = 10
    history_months: Annotated[int, Field(ge=1, le=120)] = 12
    export_date: dt.date | None = None

    @model_validator(mode="after")
    def _consistent(self) -> FunnelParams:
        def key(s: str) -> str:
            return re.sub(r"[\W_]+", "", s).casefold()

        stages = list(self.stages)
        if key(stages[-1]) != key(self.won):
            if any(key(s) == key(self.won) for s in stages):
                raise ValueError(f"the won stage '{self.won}' must be the last of funnel.stages {stages}")
            stages.append(self.won)
        keys = [key(s) for s in stages]
        if len(set(keys)) != len(keys) or "" in keys:
            raise ValueError(f"funnel.stages {stages} name a stage twice (or an empty one)")
        clash = [s for s in self.lost if key(s) in keys]
        if clash:
            raise ValueError(f"funnel.lost {clash} is also a stage of funnel.stages; a lost stage is not a step")
        if len(stages) < 2:
            raise ValueError("funnel.stages needs at least one open stage before the won stage")
        object.__setattr__(self, "stages", stages)
        return self


# --- customer grading (issue 21): optional customer inputs and the grade's weights; see analysis/grading ---------

#: Canonical columns of each optional customer input (canonical name -> your column via the input's ``columns``).
GRADING_COLUMNS: dict[str, tuple[str, ...]] = {
    "feedback": ("customer_id", "date", "score", "scale", "complaint", "order_id", "product_line", "text"),
    "interactions": ("customer_id", "date", "type", "direction", "sales_rep", "outcome"),
    "attributes": (
        "customer_id", "birth_year", "age_band", "gender", "country", "province", "city", "postcode", "industry",
        "employees", "revenue_band",
    ),
    "kano": ("respondent_id", "customer_id", "feature", "functional", "dysfunctional"),
}  # fmt: skip
#: Columns each input must have after mapping.
GRADING_REQUIRED: dict[str, tuple[str, ...]] = {
    "feedback": ("customer_id", "date", "score"),
    "interactions": ("customer_id", "date"),
    "attributes": ("customer_id",),
    "kano": ("respondent_id", "feature", "functional", "dysfunctional"),
}


class CustomerInputParams(MappedInputParams):
    """One optional customer input file (feedback, interactions, attributes, a KANO survey): where it is
    (``source``, any format of the transaction log's source; ``format: sample`` generates the bundled sample from
    the run's own ``source.sample``), its column mapping (canonical name -> your column name, see
    :data:`GRADING_COLUMNS`) and, for feedback, ``scale``: the scale of scores without a ``scale`` column
    (``csat`` 1–5, ``nps`` 0–10, ``stars`` 1–5, or ``LO-HI`` such as ``1-7``)."""

    scale: str | None = None

    @field_validator("scale")
    @classmethod
    def _known_scale(cls, v: str | None) -> str | None:
        m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*[-–~]\s*(-?\d+(?:\.\d+)?)\s*", v or "")
        if v is None or v.strip().casefold() in ("csat", "nps", "stars") or (m and float(m[1]) < float(m[2])):
            return v
        raise ValueError(f"scale '{v}' is not csat (1–5), nps (0–10), stars (1–5) or LO-HI such as 1-7")


class GradeWeights(_Model):
    """Weights of the criteria in the overall grade (:mod:`analysis.grading.satisfaction`): each criterion is put on
    0–1 (R, F, M scores; mean satisfaction; contacts in the window as a percentile) and the grade score is their
    weighted mean over the criteria a customer has (0 leaves a criterion out)."""

    recency: Annotated[float, Field(ge=0)] = 1.0
    frequency: Annotated[float, Field(ge=0)] = 1.0
    monetary: Annotated[float, Field(ge=0)] = 1.0
    satisfaction: Annotated[float, Field(ge=0)] = 1.0
    contacts: Annotated[float, Field(ge=0)] = 0.5


class GradingParams(_Model):
    """Customer grading (:mod:`analysis.grading`): the optional inputs, the weights of the overall grade, what counts
    as unhappy, the criterion review and the sample's known structure.

    ``unhappy_below``: a customer whose mean score in the window, on 0–1, is below this (or who complained) is
    unhappy. ``review_horizon_days``: the criterion review predicts purchases in this many days after a past cut-off
    from what was known at it; ``review_folds`` cross-validation folds (seeded by ``seed``); a criterion that adds
    less than ``review_min_gain`` (AUC of purchase and R² of spend) is called droppable.
    ``sample_satisfaction_predicts``: in the bundled sample, whether scores foretell who keeps buying.
    ``shown_customers``: the report's per-customer grading table shows at most this many customers (those with the
    most spend; ``grading.csv`` holds everyone), so that a report of many customers stays small enough to e-mail.
    ``dimensions``: the customer attributes the report's segment section breaks the segment tables by (None: every
    attribute the input has, among ``age_band``, ``gender``, ``country``, ``province``, ``industry``,
    ``revenue_band``).
    """

    feedback: CustomerInputParams | None = None
    interactions: CustomerInputParams | None = None
    attributes: CustomerInputParams | None = None
    kano: CustomerInputParams | None = None
    weights: GradeWeights = GradeWeights()
    unhappy_below: Annotated[float, Field(gt=0, le=1)] = 0.5
    review_horizon_days: Annotated[int, Field(ge=7, le=730)] = 90
    review_folds: Annotated[int, Field(ge=2, le=20)] = 5
    review_min_gain: Annotated[float, Field(ge=0, le=1)] = 0.01
    seed: int = 0
    sample_satisfaction_predicts: bool = True
    shown_customers: Annotated[int, Field(ge=0, le=5000)] = 300
    dimensions: list[Literal["age_band", "gender", "country", "province", "industry", "revenue_band"]] | None = None

    @model_validator(mode="after")
    def _known_columns(self) -> GradingParams:
        for name in GRADING_COLUMNS:
            given: CustomerInputParams | None = getattr(self, name)
            if given is None:
                continue
            unknown = sorted(set(given.columns) - set(GRADING_COLUMNS[name]))
            if unknown:
                raise ValueError(
                    f"grading.{name}: unknown canonical column(s) {unknown}; the mapping is canonical name -> your "
                    f"column name, with canonical names among {list(GRADING_COLUMNS[name])}"
                )
        return self


#: The longest title or region name, in characters (a report names them many times: its size budget).
MAX_LABEL = 200
#: The longest currency symbol or code, in characters (it is printed beside every amount).
MAX_CURRENCY = 12


class RunParams(_Model):
    """One ``params/*.yaml`` file: what to read, how to clean and score, which reports to make."""

    title: Annotated[str, Field(max_length=MAX_LABEL)] = "Customer value report"
    language: Literal["en", "zh"] = "en"
    currency: Annotated[str, Field(max_length=MAX_CURRENCY)] = "$"
    source: SourceParams = SourceParams(format="sample")
    columns: dict[str, str] = Field(default_factory=dict)
    cleaning: CleaningParams = CleaningParams()
    rfm: RFMParams = RFMParams()
    segmentation: SegmentationParams = SegmentationParams()
    clv: CLVParams = CLVParams()
    periods: PeriodRange
    regions: list[str] | Literal["all"] = "all"
    #: ``regions: all`` plans one run per region and month: more regions than this stop the batch before any run
    #: (``rfmkit run --allow-large`` accepts them)
    max_regions: Annotated[int, Field(ge=1)] = 50
    include_all_regions: bool = True
    reps: list[str] | Literal["all"] | None = None  # one report per sales rep (rep:<name>), see docs/sales.md
    playbook: str | None = None  # None: the bundled playbook (analysis/strategy/playbook.yaml)
    output_dir: str = "../reports"
    notebooks_dir: str | None = None  # None: the notebooks shipped with the package (analysis.resources)
    notebooks: list[str] = Field(
        default_factory=lambda: ["01_cleaning", "02_scoring", "03_segmentation", "04_strategy", "05_summary"]
    )
    execution: ExecutionParams = ExecutionParams()
    engine: Literal["auto", "pandas", "duckdb", "spark"] = "auto"
    engine_options: EngineParams = EngineParams()
    experiment: ExperimentParams = ExperimentParams()
    privacy: PrivacyParams = PrivacyParams()
    report: ReportParams = ReportParams()  # the first screen (docs/reports.md)
    opportunities: SalesInputParams | None = None  # the sales side (analysis.sales, docs/sales.md)
    stage_history: SalesInputParams | None = None
    targets: SalesInputParams | None = None
    sales_teams: SalesInputParams | None = None
    funnel: FunnelParams | None = None
    grading: GradingParams = GradingParams()  # customer grading (analysis.grading, docs/grading.md)

    @model_validator(mode="after")
    def _sales_inputs(self) -> RunParams:
        for name in ("opportunities", "stage_history", "targets", "sales_teams"):
            given: SalesInputParams | None = getattr(self, name)
            if given is None:
                continue
            unknown = sorted((set(given.columns) | set(given.aliases)) - set(SALES_COLUMNS[name]))
            if unknown:
                raise ValueError(
                    f"{name}: unknown canonical column(s) {unknown}; the mapping is canonical name -> your column "
                    f"name, with canonical names among {list(SALES_COLUMNS[name])}"
                )
        crm = [n for n in ("stage_history", "targets", "sales_teams") if getattr(self, n) is not None]
        if crm and self.opportunities is None:
            raise ValueError(f"{', '.join(crm)} given without 'opportunities' (the deals they describe)")
        if self.opportunities is not None and self.funnel is None:
            raise ValueError(
                "'opportunities' needs a 'funnel' block naming the stages, e.g. "
                "funnel: {stages: [Prospecting, Engaging, Won], won: Won, lost: [Lost]}"
            )
        return self

    @field_validator("reps", mode="before")
    @classmethod
    def _rep_list(cls, v: object) -> object:
        """One rep may be written as a name (``reps: N-rep1``); ``all`` is every rep of the log."""
        return [v] if isinstance(v, str) and v != "all" else v

    @field_validator("regions", mode="before")
    @classmethod
    def _region_list(cls, v: object) -> object:
        """Regions are names: a number (``367``, from Python or JSON; YAML files keep the text as written, see
        :func:`read_params_file`) is the region of that name; true/false is refused (YAML reads ``NO``, ``yes``,
        ``off`` so): quote such a name."""

        def name(x: object) -> object:
            if isinstance(x, bool):
                raise ValueError(
                    f"{x} is not a region name: YAML reads NO, yes, on, off as true/false; quote the name ('NO')"
                )
            if isinstance(x, int | float):
                return str(x)
            if not isinstance(x, str):
                raise ValueError(
                    f"{str(x)[:40]!r} is not a region name; list the names as text, e.g. regions: [North, '367']"
                )
            if len(x) > MAX_LABEL:  # a report and the index name the region many times: keep them within budget
                raise ValueError(
                    f"a region name of {len(x):,} characters ({x[:40]!r}…) is longer than {MAX_LABEL}; "
                    "use a shorter name"
                )
            return x

        if isinstance(v, list | tuple):
            return [name(x) for x in v]
        v = name(v)
        return [v] if isinstance(v, str) and v != "all" else v

    def check_regions(self, found: list[str], allow_large: bool = False, origin: str = "parameters") -> None:
        """Refuse ``regions: all`` on data with more than ``max_regions`` regions unless ``allow_large``.

        Raises
        ------
        ParamsError
            Naming how many regions the data hold, the cap and the three ways out.
        """
        if self.regions == "all" and len(found) > self.max_regions and not allow_large:
            shown = ", ".join(str(r) for r in found[:5])
            raise ParamsError(
                f"{origin}: regions: all would make a report per month for each of the data's {len(found):,} "
                f"regions ({shown}, …), more than max_regions ({self.max_regions}); list the regions you want "
                "(regions: [North, South]), raise max_regions, or pass --allow-large to 'rfmkit run'"
            )

    @field_validator("columns")
    @classmethod
    def _known_canonical(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(CANONICAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown canonical column(s) {unknown}; the mapping is canonical name -> your column "
                f"name, with canonical names among {list(CANONICAL_COLUMNS)}"
            )
        twice = mapped_twice(v)
        if twice:
            raise ValueError(twice)
        return v


def parse_params(data: dict[str, Any], origin: str = "parameters") -> RunParams:
    """Validate a parameter mapping, raising :class:`ParamsError` that names every bad key."""
    try:
        return RunParams.model_validate(data)
    except ValidationError as err:
        raise ParamsError(format_validation_error(err, origin, "parameters", UNKNOWN_KEY)) from None


def load_params(path: str | Path, overrides: dict[str, Any] | None = None, allow_large: bool = False) -> RunParams:
    """Read and validate a YAML parameter file.

    Relative paths inside the file (``source.path``, ``playbook``, ``output_dir``) are resolved
    against the file's folder, so a run gives the same result from any working directory. A period
    range longer than ``periods.max_months`` is refused unless ``allow_large``.
    """
    path = Path(path)
    data = _deep_merge(read_params_file(path), overrides or {})
    params = parse_params(data, origin=str(path))
    params.periods.check_size(allow_large, origin=str(path))
    return resolve_paths(params, path.parent)


#: Deepest nesting of mappings and lists a params file may have (the kit's own keys go 4 levels deep).
MAX_PARAMS_DEPTH = 16
#: Largest integer a params file may hold (seeds, counts and amounts all fit in 64 bits).
MAX_PARAMS_INT = 2**63 - 1
#: Largest params file read (a params file is a page of settings).
MAX_PARAMS_BYTES = 1 << 20


def read_params_file(path: str | Path) -> dict[str, Any]:
    """The mapping of a YAML params file, or a :class:`ParamsError` of one line naming the file, what is wrong and
    the fix — never a traceback — for a file that is missing, not UTF-8 text (latin-1, UTF-16, binary), not
    YAML, nested deeper than :data:`MAX_PARAMS_DEPTH`, holding an integer beyond :data:`MAX_PARAMS_INT` (or too
    long for Python to read), or not a mapping at the top level (see :func:`read_yaml_file`).

    ``regions`` entries keep the text as written: ``[367, 0406, NO]`` are the regions ``"367"``, ``"0406"`` and
    ``"NO"`` (YAML would read the number 367, the octal 262 and false). The one reader of params files.
    """
    data = read_yaml_file(path, "params file", text_keys=("regions",))
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of keys to values at the top level")
    return data


def read_yaml_file(path: str | Path, what: str = "params file", text_keys: tuple[str, ...] = ()) -> Any:
    """The data of a YAML settings file a person wrote (a params file, a playbook), or a :class:`ParamsError` of
    one line naming the file, what is wrong and the fix: missing or unreadable, over :data:`MAX_PARAMS_BYTES`, not
    UTF-8 text (latin-1 or another code page, UTF-16 with or without a BOM, binary), not YAML, nested deeper than
    :data:`MAX_PARAMS_DEPTH`, or holding an integer beyond :data:`MAX_PARAMS_INT`. Aliases (``*name``) are followed
    once per node, so a file of nested aliases costs what its text costs. Plain scalars under the top-level keys
    ``text_keys`` are read as the text written (``367`` stays ``"367"``)."""
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: {what} not found")
    try:
        size = path.stat().st_size
        if size > MAX_PARAMS_BYTES:
            raise ParamsError(f"{path}: {size:,} bytes is not a {what} (at most {MAX_PARAMS_BYTES:,} bytes)")
        raw = path.read_bytes()
    except OSError as err:
        raise ParamsError(f"{path}: cannot be read ({err.strerror or err}); check its permissions") from None
    stream = io.StringIO(_yaml_text(raw, path, what))
    stream.name = str(path)  # YAML's messages name the file
    loader = yaml.SafeLoader(stream)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_depth(node, path, what)
            _as_text(node, text_keys)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {' '.join(str(err).split())}") from None
    except RecursionError:
        raise ParamsError(f"{path}: nested too deeply to read; a {what} is a few levels of keys") from None
    except ParamsError:
        raise
    except ValueError:  # an integer with more digits than Python converts (sys.get_int_max_str_digits)
        raise ParamsError(
            f"{path}: holds a number of thousands of digits; no setting needs more than "
            f"{len(str(MAX_PARAMS_INT))} digits (seeds, counts, amounts)"
        ) from None
    finally:
        loader.dispose()
    _check_numbers(data, path)
    return data


def _yaml_text(raw: bytes, path: Path, what: str) -> str:
    """The bytes of a YAML file as text: UTF-8 (a BOM is allowed), else a one-line error saying what it is."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")) or _ascii_as_utf16(raw):
        raise ParamsError(
            f"{path}: the file is UTF-16 text, not UTF-8; save it as UTF-8 (in most editors: Save as… → "
            "Encoding: UTF-8)"
        )
    if b"\x00" in raw:
        raise ParamsError(f"{path}: a binary file, not a YAML {what}; name the .yaml file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ParamsError(
            f"{path}: not UTF-8 text (byte 0x{raw[err.start]:02x} at position {err.start}; latin-1 or another "
            "code page?); save the file as UTF-8 (in most editors: Save as… → Encoding: UTF-8)"
        ) from None
    bad = next((c for c in text if (ord(c) < 0x20 and c not in "\t\n\r") or 0x7F <= ord(c) < 0xA0), None)
    if bad is not None:
        raise ParamsError(
            f"{path}: holds the control character U+{ord(bad):04X}, which YAML text cannot hold; a binary file? "
            "name the .yaml file"
        )
    return text


def _ascii_as_utf16(raw: bytes) -> bool:
    """Whether ``raw`` looks like ASCII text saved as UTF-16 without a BOM: every other byte zero."""
    head = raw[:200]
    if len(head) < 4:
        return False
    even, odd = head[0::2], head[1::2]
    return (odd.count(0) == len(odd) and 0 not in even) or (even.count(0) == len(even) and 0 not in odd)


def _check_depth(node: yaml.Node, path: Path, what: str) -> None:
    """Refuse YAML nested deeper than :data:`MAX_PARAMS_DEPTH` (walked without recursion; a node reached again
    through an alias is walked again only when reached deeper, so nested aliases cost no more than their text)."""
    deepest: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int]] = [(node, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > MAX_PARAMS_DEPTH:
            raise ParamsError(
                f"{path}: nested more than {MAX_PARAMS_DEPTH} levels deep; a {what} is a few levels of keys"
            )
        if deepest.get(id(current), 0) >= depth:
            continue
        deepest[id(current)] = depth
        if isinstance(current, yaml.MappingNode):
            stack.extend((n, depth + 1) for pair in current.value for n in pair)
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((n, depth + 1) for n in current.value)


_STR_TAG = "tag:yaml.org,2002:str"


def _as_text(node: yaml.Node, keys: tuple[str, ...]) -> None:
    """Make the plain scalars under the top-level ``keys`` text, as written (see :func:`read_params_file`); true
    and false stay booleans (the text may have been ``yes``, ``NO`` or ``off``: the model asks to quote it)."""
    if not keys or not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        if not (isinstance(key, yaml.ScalarNode) and key.value in keys):
            continue
        items = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for item in items:
            if isinstance(item, yaml.ScalarNode) and item.tag not in (
                "tag:yaml.org,2002:null",
                "tag:yaml.org,2002:bool",
            ):
                item.tag = _STR_TAG


def _check_numbers(data: Any, path: Path) -> None:
    """Refuse integers beyond :data:`MAX_PARAMS_INT` in absolute value, naming their key (each container once)."""
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_PARAMS_INT:
            raise ParamsError(
                f"{path}: {where or 'a value'} is a number of {len(str(abs(value))):,} digits; no setting needs "
                f"more than {len(str(MAX_PARAMS_INT))} digits (seeds, counts, amounts)"
            )


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_paths(params: RunParams, base: Path) -> RunParams:
    """Return ``params`` with its relative file paths made absolute against ``base``."""

    def _abs(p: str | None) -> str | None:
        if p is None or "://" in p:
            return p
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (base / q).resolve())

    source = params.source.model_copy(update={"path": _abs(params.source.path)})
    privacy = params.privacy.model_copy(update={"key_file": _abs(params.privacy.key_file)})
    sales = {
        name: given.model_copy(update={"source": given.source.model_copy(update={"path": _abs(given.source.path)})})
        for name in ("opportunities", "stage_history", "targets", "sales_teams")
        if (given := getattr(params, name)) is not None
    }
    return params.model_copy(
        update={
            **sales,
            "source": source,
            "privacy": privacy,
            "playbook": _abs(params.playbook),
            "output_dir": _abs(params.output_dir),
            "notebooks_dir": _abs(params.notebooks_dir),
        }
    )


def dump_params(params: RunParams) -> dict[str, Any]:
    """The effective parameters as plain JSON-able data (for manifests and notebook parameters)."""
    return params.model_dump(mode="json")
