"""Typed parameters for every rfmkit run, loaded from YAML and validated before any work starts.

Every model forbids unknown keys (``extra="forbid"``): a misspelt key fails at once, naming the key
and the file, instead of being silently ignored the way papermill ignores unknown parameters.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from analysis.errors import ParamsError

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
    ``sample`` generates the built-in synthetic log, so the default run needs no download.
    """

    format: Literal["auto", "csv", "parquet", "excel", "sql", "sample"] = "auto"
    path: str | None = None
    url: str | None = None
    query: str | None = None
    sep: str = ","
    header: bool = True
    names: list[str] | None = None
    encoding: str = "utf-8"
    sheet: str | int = 0
    sample: SampleParams = SampleParams()

    @model_validator(mode="after")
    def _check_complete(self) -> SourceParams:
        if self.format == "sql" and not (self.url and self.query):
            raise ValueError("format 'sql' needs both 'url' (a SQLAlchemy URL) and 'query'")
        if self.format not in ("sql", "sample") and not self.path:
            raise ValueError(f"format '{self.format}' needs 'path' (the file to read)")
        return self


class CleaningParams(_Model):
    """How raw rows are cleaned; see :func:`analysis.data.clean.clean_transactions`."""

    date_format: str | None = None
    dayfirst: bool = False
    decimal: Literal[".", ","] = "."
    cancelled_prefix: str | None = "C"
    drop_duplicates: bool = True
    zero_amount: Literal["quarantine", "keep"] = "quarantine"
    outlier_mad: Annotated[float, Field(gt=0)] | None = 5.0
    id_strip_float_suffix: bool = True


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
    """RFM scoring; see :mod:`analysis.customers.rfm` and :mod:`analysis.customers.segments`."""

    lookback_days: Annotated[int, Field(gt=0)] | None = None
    thresholds: ScoreThresholds = ScoreThresholds()
    segment_rules: dict[str, SegmentRule] | None = None


class ClusterParams(_Model):
    """k-means on log R, F, M (and CLV); k chosen over ``k_min..k_max`` by silhouette."""

    enabled: bool = True
    k_min: Annotated[int, Field(ge=2)] = 3
    k_max: Annotated[int, Field(ge=2)] = 8
    n_init: Annotated[int, Field(ge=1)] = 10
    seed: int = 0
    sample_size: Annotated[int, Field(ge=100)] = 5000
    stability_seeds: Annotated[int, Field(ge=2)] = 5


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
    """Customer lifetime value (BG/NBD + Gamma-Gamma); every time and rate is in ``time_unit``."""

    enabled: bool = True
    time_unit: Literal["D", "W", "M"] = "W"
    horizon: Annotated[float, Field(gt=0)] = 52
    discount_rate: Annotated[float, Field(ge=0)] = 0.0019  # per time unit: ~10 % a year in weeks
    penalizer: Annotated[float, Field(ge=0)] = 0.0


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
    """An inclusive range of calendar months, ``YYYY-MM``."""

    start: str
    end: str

    @field_validator("start", "end", mode="before")
    @classmethod
    def _month(cls, v: object) -> str:
        if isinstance(v, dt.date):  # YAML reads 2024-06-01 as a date: take its month
            v = v.strftime("%Y-%m")
        v = str(v)
        if not PERIOD_RE.match(v) or not 1 <= int(v[5:7]) <= 12:
            raise ValueError(f"'{v}' is not a month; write it as YYYY-MM, e.g. 2024-06")
        return v

    @model_validator(mode="after")
    def _ordered(self) -> PeriodRange:
        if self.end < self.start:
            raise ValueError(f"period end {self.end} is before start {self.start}")
        return self

    def months(self) -> list[str]:
        """Every month of the range, oldest first."""
        return [str(p) for p in pd.period_range(self.start, self.end, freq="M")]


class RunParams(_Model):
    """One ``params/*.yaml`` file: what to read, how to clean and score, which reports to make."""

    title: str = "Customer value report"
    language: Literal["en", "zh"] = "en"
    currency: str = "$"
    source: SourceParams = SourceParams(format="sample")
    columns: dict[str, str] = Field(default_factory=dict)
    cleaning: CleaningParams = CleaningParams()
    rfm: RFMParams = RFMParams()
    segmentation: SegmentationParams = SegmentationParams()
    clv: CLVParams = CLVParams()
    periods: PeriodRange
    regions: list[str] | Literal["all"] = "all"
    include_all_regions: bool = True
    playbook: str | None = None  # None: the bundled playbook (analysis/strategy/playbook.yaml)
    output_dir: str = "../reports"
    notebooks_dir: str = "../notebooks"
    notebooks: list[str] = Field(
        default_factory=lambda: ["01_cleaning", "02_scoring", "03_segmentation", "04_strategy", "05_summary"]
    )
    execution: ExecutionParams = ExecutionParams()
    engine: Literal["auto", "pandas", "duckdb", "spark"] = "auto"
    engine_options: EngineParams = EngineParams()

    @field_validator("regions", mode="before")
    @classmethod
    def _region_list(cls, v: object) -> object:
        return [v] if isinstance(v, str) and v != "all" else v

    @field_validator("columns")
    @classmethod
    def _known_canonical(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - set(CANONICAL_COLUMNS))
        if unknown:
            raise ValueError(
                f"unknown canonical column(s) {unknown}; the mapping is canonical name -> your column "
                f"name, with canonical names among {list(CANONICAL_COLUMNS)}"
            )
        return v


def _format_validation_error(err: ValidationError, origin: str) -> str:
    lines = [f"{origin}: invalid parameters"]
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key (check its spelling; see params/monthly.yaml for the keys)"
        lines.append(f"  - {loc}: {msg}")
    return "\n".join(lines)


def parse_params(data: dict[str, Any], origin: str = "parameters") -> RunParams:
    """Validate a parameter mapping, raising :class:`ParamsError` that names every bad key."""
    try:
        return RunParams.model_validate(data)
    except ValidationError as err:
        raise ParamsError(_format_validation_error(err, origin)) from None


def load_params(path: str | Path, overrides: dict[str, Any] | None = None) -> RunParams:
    """Read and validate a YAML parameter file.

    Relative paths inside the file (``source.path``, ``playbook``, ``output_dir``) are resolved
    against the file's folder, so a run gives the same result from any working directory.
    """
    path = Path(path)
    if not path.is_file():
        raise ParamsError(f"{path}: parameter file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ParamsError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: expected a mapping of keys to values at the top level")
    data = _deep_merge(data, overrides or {})
    params = parse_params(data, origin=str(path))
    return resolve_paths(params, path.parent)


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
    return params.model_copy(
        update={
            "source": source,
            "playbook": _abs(params.playbook),
            "output_dir": _abs(params.output_dir),
            "notebooks_dir": _abs(params.notebooks_dir),
        }
    )


def dump_params(params: RunParams) -> dict[str, Any]:
    """The effective parameters as plain JSON-able data (for manifests and notebook parameters)."""
    return params.model_dump(mode="json")
