"""What a notebook needs to run one period × region: validated params, the run folder and the stages.

Each notebook starts with a ``parameters`` cell (papermill replaces it in batch runs) and then calls
:func:`setup`. Cells then ask for a stage's result, ``ctx.stage("score")``: the stage (and the stages it
needs) is computed once per kernel and cached in-process, keyed by the params, period, region and data. The
batch runs all notebooks of a run in one kernel, so each stage is computed once per run; a notebook opened
alone in JupyterLab computes what it needs. When a stage is computed its artifacts are written to the run
folder by :mod:`analysis.artifacts`.

A hand run (``run_dir`` empty) writes to ``<output_dir>/_scratch/<period>/<region>/``, never over a
published batch run; with no ``clean_dir`` it cleans the source into ``<output_dir>/_data/clean-<key>/`` as
the batch does, and reuses that folder next time.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import stages
from analysis.data.store import load_clean, prepare_clean
from analysis.missing import Missing
from analysis.params import RunParams, load_params
from analysis.regions import ALL_REGIONS, parse_region, region_name, region_slug
from analysis.window import period_bounds

__all__ = ["RunContext", "setup"]

log = logging.getLogger(__name__)

#: Stages in pipeline order, each with the stages it needs.
STAGES: dict[str, tuple[str, ...]] = {
    "clean": (),
    "score": ("clean",),
    "segments": ("clean", "score"),
    "evaluation": ("clean",),
    "strategy": ("clean", "score", "evaluation"),
    "summary": ("clean", "score", "segments", "strategy"),
}

#: Stage results computed in this process, by (params, period, region, data key, stage).
_CACHE: dict[tuple[str, str, str, str, str], Any] = {}
#: (cache key, run folder) pairs whose artifacts are written.
_WRITTEN: set[tuple[tuple[str, str, str, str, str], str]] = set()


def clear_cache() -> None:
    """Forget every stage result computed in this process."""
    _CACHE.clear()
    _WRITTEN.clear()


@dataclass
class RunContext:
    """One run: ``params``, the ``period`` (``YYYY-MM``), ``region`` (a data region, or :data:`ALL_REGIONS`) and
    ``run_dir``.

    ``clean_dir`` holds the cleaned data (the batch's shared folder); ``None`` means clean the source here
    (cached on disk under ``<output_dir>/_data/``).
    """

    params: RunParams
    period: str
    region: str
    run_dir: Path
    clean_dir: Path | None = None
    _data_key: str | None = field(default=None, repr=False)
    _pseudonym_key: Any = field(default=None, repr=False)

    @property
    def window(self) -> stages.Window:
        """The period, the windows it is compared with and the data's first and last day (from the clean stage):
        a period the data ends inside is scored as of the data's last day (params ``rfm.partial_period``)."""
        return stages.run_window(self.period, self.stage("clean"), self.params)

    @property
    def period_start(self) -> pd.Timestamp:
        """First day of the period."""
        return self.window.start

    @property
    def as_of(self) -> pd.Timestamp:
        """The day customers are scored on: the last day of the period (inclusive), or of the data when it ends
        inside the period."""
        return self.window.as_of

    @property
    def language(self) -> str:
        """The report's language (``en`` or ``zh``)."""
        return self.params.language

    @property
    def currency(self) -> str:
        """The currency symbol of money columns."""
        return self.params.currency

    @property
    def title(self) -> str:
        """The report title: params title · period · region."""
        where = self.text("run.all_regions") if self.region == ALL_REGIONS else self.region
        return f"{self.params.title} · {self.period} · {where}"

    @property
    def subtitle(self) -> str:
        """The line under each report's title: what, where, as of when."""
        from analysis.report.markdown import escape_markdown
        from analysis.text import format as fmt

        w = self.window
        if w.is_partial:  # "data to 9 Dec 2011 (9 of 31 days)"
            return self.text(
                "run.subtitle_partial",
                title=escape_markdown(self.title),
                data_end=fmt.date_long(w.data_end, self.language),
                days=w.data_days,
                period_days=w.period_days,
                as_of=str(w.as_of.date()),
            )
        return self.text("run.subtitle", title=escape_markdown(self.title), as_of=str(w.as_of.date()))

    # ------------------------------------------------------------------------------------------ privacy

    @property
    def show_customer_ids(self) -> bool:
        """Whether reports show raw customer ids (params ``privacy.show_customer_ids``); else pseudonyms."""
        return bool(self.params.privacy.show_customer_ids)

    @property
    def pseudonym_key(self) -> Any:
        """The pseudonym key (:func:`analysis.privacy.load_key`: environment, ``privacy.key_file`` or the kit's own
        key file, made when missing); loaded once. The CRM lists carry pseudonyms even when reports show ids."""
        if self._pseudonym_key is None:
            from analysis.privacy import load_key

            self._pseudonym_key = load_key(self.params.privacy.key_file)
        return self._pseudonym_key

    def ids(self, frame: pd.DataFrame, column: str = "customer_id") -> pd.DataFrame:
        """``frame`` as a report shows it: customer ids (index or column ``customer_id``) replaced by pseudonyms,
        unless ``privacy.show_customer_ids``. Every table that shows customers goes through this.

        ``column`` names the id column of raw rows (the source's name, e.g. rows set aside by cleaning, see
        :meth:`raw_ids`); empty cells stay empty there.
        """
        from analysis.privacy import display_ids

        if self.show_customer_ids:
            return frame
        if column not in frame.columns:
            return display_ids(frame, self.pseudonym_key)
        blank = frame[column].isna().to_numpy() | frame[column].astype("string").str.strip().eq("").fillna(True)
        shown = display_ids(frame.rename(columns={column: "customer_id"}), self.pseudonym_key)
        shown["customer"] = shown["customer"].where(~blank.to_numpy(dtype=bool), frame[column].to_numpy())
        return shown

    def raw_ids(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Raw input rows (their own column names, as in ``quarantine.csv``) as a report shows them: the column
        mapped to ``customer_id`` holds pseudonyms (see :meth:`ids`). Columns the analysis does not use (an e-mail,
        a name) are left out and named in a sentence shown here, unless listed in ``privacy.show_columns``
        (:func:`analysis.privacy.report_columns`)."""
        from analysis.params import CANONICAL_COLUMNS
        from analysis.privacy import report_columns

        shown, hidden = report_columns(
            rows.columns, self.params.columns, self.params.privacy.show_columns, canonical=CANONICAL_COLUMNS
        )
        if hidden:
            self.say("privacy.columns_hidden", n=len(hidden), names=", ".join(hidden))
        return self.ids(rows[shown], self.params.columns.get("customer_id", "customer_id"))

    def privacy_note(self) -> None:
        """Say how customers are shown: by pseudonym (and that the CRM lists keep real ids), or by raw id."""
        self.say("privacy.raw_ids" if self.show_customer_ids else "privacy.pseudonyms")

    def text(self, key: str, **values: Any) -> str:
        """The catalog text ``key`` in the run's language, formatted with ``values``."""
        from analysis.text import t

        return t(key, self.language, **values)

    def say(self, key: str, **values: Any) -> None:
        """Show the catalog sentence ``key`` (in the run's language) as Markdown; string values are escaped."""
        from IPython.display import Markdown, display

        from analysis.report.markdown import markdown_values

        display(Markdown(self.text(key, **markdown_values(values))))  # data shown literally, never as markup

    @staticmethod
    def has(result: Any) -> bool:
        """Whether an optional stage result is there (not a :class:`~analysis.stages.Missing`)."""
        return not isinstance(result, Missing)

    def note(self, missing: Missing) -> None:
        """Show why an optional result is missing, in italics."""
        from IPython.display import Markdown, display

        from analysis.report.markdown import markdown_values

        # the reason's values (model messages, names) escaped like every value shown: data never becomes markup
        display(Markdown(f"*{self.text(f'run.missing.{missing.key}', **markdown_values(missing.values))}*"))

    def path(self, name: str) -> Path:
        """A file in the run folder."""
        return self.run_dir / name

    # ------------------------------------------------------------------------------------------ stages

    @property
    def data_dir(self) -> Path:
        """The cleaned data: ``clean_dir``, else the source cleaned once into ``<output_dir>/_data/clean-<key>/``."""
        if self.clean_dir is None:
            self.clean_dir = prepare_clean(self.params)[0]
            log.info("cleaned data in %s", self.clean_dir)
        return Path(self.clean_dir)

    @property
    def data_key(self) -> str:
        """What identifies the cleaned data: its folder."""
        if self._data_key is None:
            self._data_key = str(self.data_dir.resolve())
        return self._data_key

    def _key(self, name: str) -> tuple[str, str, str, str, str]:
        params = json.dumps(self.params.model_dump(mode="json"), sort_keys=True, default=str)
        return (params, self.period, self.region, self.data_key, name)

    def stage(self, name: str) -> Any:
        """The result of stage ``name`` (``clean``, ``score``, ``segments``, ``strategy``, ``summary``).

        Computed once per process (with the stages it needs) and its artifacts written to the run folder.
        """
        if name not in STAGES:
            raise KeyError(f"unknown stage '{name}'; stages are {list(STAGES)}")
        key = self._key(name)
        if key not in _CACHE:
            needed = {n: self.stage(n) for n in STAGES[name]}
            _CACHE[key] = self._compute(name, needed)
        result = _CACHE[key]
        written = (key, str(self.run_dir.resolve()))
        if written not in _WRITTEN:
            from analysis.artifacts import write_stage

            write_stage(name, result, self.run_dir, self.language, self.pseudonym_key)
            _WRITTEN.add(written)
        return result

    def published_dir(self, period: str) -> Path:
        """The published batch run folder of ``period`` for this run's region (``<output_dir>/<period>/<region>``).

        A run reads the assignments of an earlier period from there, and keeps its own published ones.
        """
        return Path(self.params.output_dir) / period / region_slug(self.region)

    @property
    def region_name(self) -> str:
        """The run's region as people write it (``all``, ``region:all`` for a region named ``all``, else the name)."""
        return region_name(self.region)

    def _compute(self, name: str, needed: dict[str, Any]) -> Any:
        from analysis.artifacts import read_assignments

        p, period = self.params, self.period
        if name == "clean":
            region_column = p.columns.get("region", "region")
            return stages.cleaned(load_clean(self.data_dir), period, self.region, region_column)
        tx = needed["clean"].transactions
        if name == "score":
            return stages.score(tx, p, self.as_of, self.period_start, data_start=needed["clean"].data_start)
        if name == "segments":
            return stages.segment_analysis(tx, needed["score"], p, period, window=self.window)
        if name == "evaluation":
            earlier = str(pd.Period(period, freq="M") - p.experiment.window_months)
            return stages.evaluation(tx, read_assignments(self.published_dir(earlier)), p, period, as_of=self.as_of)
        if name == "strategy":
            return stages.strategy(
                tx,
                needed["score"],
                p,
                period,
                region=self.region,
                evaluation=needed["evaluation"],
                published=read_assignments(self.published_dir(period)),
                returns=needed["clean"].returns,
                window=self.window,
            )
        return stages.summary(
            needed["clean"], needed["score"], needed["segments"], needed["strategy"], p, period, window=self.window
        )


def setup(
    params_path: str | Path,
    period: str,
    region: str = ALL_REGIONS,
    run_dir: str | Path | None = None,
    clean_dir: str | Path | None = None,
) -> RunContext:
    """Validate the notebook's parameters and prepare plotting; returns the run's context.

    ``region``: ``all`` (or empty) for all regions together, ``region:all`` for a data region literally named
    ``all``, else the data region's name (:func:`analysis.stages.parse_region`). ``run_dir`` empty means a hand
    run: ``<output_dir>/_scratch/<period>/<region folder>/`` of the params file, so a notebook run in JupyterLab
    never overwrites a published batch run.
    """
    params = load_params(params_path)
    period_bounds(period)
    region = parse_region(region)
    if run_dir in (None, ""):
        run_dir = Path(params.output_dir) / "_scratch" / period / region_slug(region)
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    from analysis.report.plots.style import use_report_style

    use_report_style(params.language)
    warnings.filterwarnings("ignore", category=FutureWarning)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    return RunContext(params, str(period), region, run, Path(clean_dir) if clean_dir else None)
