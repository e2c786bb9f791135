"""Engines by name: where the transaction → customer step runs (papermill's engine-registry pattern).

``pandas`` is the kit's own code and the reference; ``duckdb`` and ``spark`` run one shared SQL text
(:mod:`analysis.engines.sql`) and must give the same frames; ``auto`` picks pandas for inputs up to
``engine_options.auto_pandas_max_rows`` rows (a frame's length, the Parquet footers' row counts, or a
CSV's size / 40 bytes per row) and DuckDB above. Spark is used only when asked for by name.

>>> from analysis.engines import get_engine
>>> with get_engine("duckdb") as engine:                                     # doctest: +SKIP
...     summary = engine.customer_summary("out/clean/clean.parquet", SummaryRequest("2024-12-31"))
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.engines.base import (
    CustomerSummary,
    Engine,
    ScoreInputs,
    ScoreRequest,
    Source,
    SummaryRequest,
    file_format,
    resolve_files,
)
from analysis.errors import ParamsError
from analysis.params import EngineParams

__all__ = [
    "ENGINES",
    "CustomerSummary",
    "Engine",
    "EngineError",
    "ScoreInputs",
    "ScoreRequest",
    "SummaryRequest",
    "choose_engine",
    "customer_summary",
    "estimate_rows",
    "get_engine",
]

#: Bytes per row assumed for a CSV file when ``auto`` estimates its size.
CSV_BYTES_PER_ROW = 40


class EngineError(ParamsError):
    """An unknown engine name, or an engine whose library is not installed."""


class Engines:
    """A registry of engine factories by name; :meth:`get_engine` makes one from the engine params."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[EngineParams], Engine]] = {}

    def register(self, name: str, factory: Callable[[EngineParams], Engine]) -> None:
        """Register (or replace) the engine ``name``."""
        self._factories[name] = factory

    def names(self) -> list[str]:
        """Registered names, plus ``auto``."""
        return ["auto", *self._factories]

    def get_engine(self, name: str, params: EngineParams | None = None, source: Source | None = None) -> Engine:
        """The engine ``name`` (``auto``: chosen for ``source``), configured from ``params``.

        Raises EngineError naming the engine and the choices when it is unknown.
        """
        params = params or EngineParams()
        if name == "auto":
            name = choose_engine(source, params)
        if name not in self._factories:
            raise EngineError(f"unknown engine {name!r}: choose one of {self.names()}")
        return self._factories[name](params)


def _pandas(params: EngineParams) -> Engine:
    from analysis.engines.pandas_engine import PandasEngine

    return PandasEngine()


def _duckdb(params: EngineParams) -> Engine:
    from analysis.engines.duckdb_engine import DuckDBEngine

    return DuckDBEngine(params.duckdb)


def _spark(params: EngineParams) -> Engine:
    from analysis.engines.spark_engine import SparkEngine

    return SparkEngine(params.spark)


ENGINES = Engines()
ENGINES.register("pandas", _pandas)
ENGINES.register("duckdb", _duckdb)
ENGINES.register("spark", _spark)


def get_engine(name: str = "auto", params: EngineParams | None = None, source: Source | None = None) -> Engine:
    """The engine ``name`` from the registry :data:`ENGINES`; see :meth:`Engines.get_engine`."""
    return ENGINES.get_engine(name, params, source)


def estimate_rows(source: Source) -> int:
    """Rows of ``source``: a frame's length, the Parquet footers' counts, or CSV bytes / 40."""
    if isinstance(source, pd.DataFrame):
        return len(source)
    files = resolve_files(source)
    if file_format(files[0]) == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.read_metadata(f).num_rows for f in files)
    return sum(Path(f).stat().st_size for f in files) // CSV_BYTES_PER_ROW


def choose_engine(source: Source | None, params: EngineParams | None = None) -> str:
    """What ``auto`` picks: pandas up to ``auto_pandas_max_rows`` rows (or without a source), else DuckDB."""
    params = params or EngineParams()
    if source is None:
        return "pandas"
    return "pandas" if estimate_rows(source) <= params.auto_pandas_max_rows else "duckdb"


def customer_summary(
    source: Source | str | os.PathLike,
    request: SummaryRequest,
    engine: str = "auto",
    params: EngineParams | None = None,
) -> CustomerSummary:
    """The transaction → customer step on the engine ``engine`` (opened and closed here)."""
    with get_engine(engine, params, source) as eng:
        return eng.customer_summary(source, request)
