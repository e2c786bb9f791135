"""Engines by name: where the transaction → customer step runs (papermill's engine-registry pattern).

``pandas`` is the kit's own code and the reference; ``duckdb`` and ``spark`` run one shared SQL text
(:mod:`analysis.engines.sql`) and must give the same frames; ``auto`` picks pandas for inputs up to
``engine_options.auto_pandas_max_rows`` rows (a frame's length, the Parquet footers' row counts, or a
CSV's size / 40 bytes per row) and DuckDB above. Spark is used only when asked for by name.

What each engine can do is declared with it in the registry (:class:`Capabilities`), so a caller asks
:meth:`Engines.capabilities` or :meth:`Engines.resolve` before it starts anything, never by trying the
engine and catching an error, and no code outside this package tests an engine's name:

========  =======  =====  ==============  ============  =============
engine    summary  score  folder_summary  folder_score  remote_paths
========  =======  =====  ==============  ============  =============
pandas    yes      yes    no              no            no
duckdb    yes      yes    no              no            no
spark     yes      yes    yes             yes           yes
========  =======  =====  ==============  ============  =============

>>> from analysis.engines import get_engine
>>> with get_engine("duckdb") as engine:                                     # doctest: +SKIP
...     summary = engine.customer_summary("out/clean/clean.parquet", SummaryRequest("2024-12-31"))
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
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
    "TASKS",
    "Capabilities",
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

log = logging.getLogger(__name__)

#: Bytes per row assumed for a CSV file when ``auto`` estimates its size.
CSV_BYTES_PER_ROW = 40


class EngineError(ParamsError):
    """An unknown engine name, or an engine whose library is not installed."""


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do, declared when it is registered (its library need not be importable to ask).

    Attributes
    ----------
    summary : bool
        :meth:`Engine.customer_summary`: the RFM and BTYD frames on this machine (``rfmkit summary`` to a file).
    score : bool
        :meth:`Engine.score_inputs`: the score step's one pass (``rfmkit score``, the batch's score stage).
    folder_summary : bool
        :meth:`Engine.summary_to_folder`: the customer table written as a folder of Parquet files by the engine's
        own workers, nothing per customer on this machine (``rfmkit summary --out FOLDER/``).
    folder_score : bool
        :meth:`Engine.score_to_folder`: every customer scored (RFM scores, segment, value class, CLV) and written
        by the engine's workers (``rfmkit summary --clv --out FOLDER/``).
    remote_paths : bool
        Reads and writes URLs of a cluster's storage (``hdfs://``, ``s3a://``, …) as well as local paths.
    """

    summary: bool = True
    score: bool = True
    folder_summary: bool = False
    folder_score: bool = False
    remote_paths: bool = False

    def can(self, task: str) -> bool:
        """Whether the engine can do ``task`` (a field name, e.g. ``"score"``)."""
        if task not in TASKS:
            raise ValueError(f"unknown engine task {task!r}: one of {list(TASKS)}")
        return bool(getattr(self, task))


#: The tasks of :class:`Capabilities`, with what a user asked for (for messages).
TASKS = {
    "summary": "the customer summary",
    "score": "scoring (rfmkit score, the batch's score stage)",
    "folder_summary": "writing the customer summary as a folder of Parquet files (rfmkit summary --out FOLDER/)",
    "folder_score": "scoring every customer into a folder (rfmkit summary --clv --out FOLDER/)",
    "remote_paths": "reading and writing cluster storage URLs (hdfs://, s3a://)",
}


class Engines:
    """A registry of engine factories by name, each with its declared :class:`Capabilities`;
    :meth:`get_engine` makes one from the engine params."""

    def __init__(self) -> None:
        self._factories: dict[str, Callable[[EngineParams], Engine]] = {}
        self._capabilities: dict[str, Capabilities] = {}

    def register(
        self, name: str, factory: Callable[[EngineParams], Engine], capabilities: Capabilities | None = None
    ) -> None:
        """Register (or replace) the engine ``name`` with what it can do (default: summary and score)."""
        self._factories[name] = factory
        self._capabilities[name] = capabilities or Capabilities()

    def names(self, task: str | None = None) -> list[str]:
        """Registered names, plus ``auto``; with ``task`` only the engines that can do it (no ``auto``)."""
        if task is None:
            return ["auto", *self._factories]
        return [n for n in self._factories if self._capabilities[n].can(task)]

    def capabilities(self, name: str) -> Capabilities:
        """What the engine ``name`` can do (``auto`` can do what both of its choices can).

        Raises EngineError naming the engine and the choices when it is unknown."""
        if name == "auto":
            picks = [self._capabilities[n] for n in AUTO_CHOICES if n in self._capabilities]
            return Capabilities(**{f.name: all(getattr(c, f.name) for c in picks) for f in fields(Capabilities)})
        if name not in self._capabilities:
            raise EngineError(f"unknown engine {name!r}: choose one of {self.names()}")
        return self._capabilities[name]

    def require(self, name: str, task: str) -> None:
        """EngineError, naming the engines that can, unless the engine ``name`` can do ``task``."""
        if not self.capabilities(name).can(task):
            raise EngineError(
                f"{TASKS[task]} does not run on the {name} engine: use engine {' or '.join(self.names(task))}"
            )

    def resolve(
        self,
        task: str,
        name: str | None,
        params: EngineParams | None = None,
        source: Source | None = None,
        *,
        default: str | None = None,
    ) -> str:
        """The engine that runs ``task``: ``name`` (asked for explicitly: EngineError if it cannot do the task),
        else ``default`` (from the params: when it cannot do the task, ``auto`` is used and the switch logged),
        else ``auto``; ``auto`` is resolved for ``source`` (see :func:`choose_engine`)."""
        if name is not None:
            self.require(name, task)
            chosen = name
        elif default is not None and self.capabilities(default).can(task):
            chosen = default
        else:
            if default is not None:
                log.info("engine %r in the params cannot do %s: %s runs on engine auto", default, TASKS[task], task)
            chosen = "auto"
        return choose_engine(source, params) if chosen == "auto" else chosen

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
    from analysis.engines.spark_score import SparkScoreEngine  # SparkEngine with the folder capabilities

    return SparkScoreEngine(params.spark)


#: What ``auto`` chooses between (see :func:`choose_engine`).
AUTO_CHOICES = ("pandas", "duckdb")

ENGINES = Engines()
ENGINES.register("pandas", _pandas, Capabilities())
ENGINES.register("duckdb", _duckdb, Capabilities())
ENGINES.register("spark", _spark, Capabilities(folder_summary=True, folder_score=True, remote_paths=True))


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
