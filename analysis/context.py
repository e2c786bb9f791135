"""What a notebook needs to run one period × region: validated params, the run folder and the stages.

Each notebook starts with a ``parameters`` cell (papermill replaces it in batch runs) and then calls
:func:`setup`. Cells then ask for a stage's result, ``ctx.stage("score")``: that is
:meth:`analysis.pipeline.Run.get` of the run the kernel has open, which computes the stage (and the stages it needs)
once and writes its files into the run folder through the stage's one writer (:mod:`analysis.pipeline`).

**The open run.** The kernel holds one open run (:data:`KERNEL`), the cache of its stage results owned by that
:class:`~analysis.pipeline.Run` object. :func:`setup` reuses it when its params, period, region and folders are
the run's (the batch runs all notebooks of a run in one kernel, so each stage is computed once per run), else opens
a new one in its place; a notebook opened alone in JupyterLab so computes what it needs. The batch then has the
kernel :func:`finish` the run (every stage computed, every file written, whichever notebooks ran) and, before a
reused kernel's next run, :func:`close_run`.

``params_path`` is the run's validated ``params.json`` in a batch (params validated once by ``rfmkit run``, every
flag included: :func:`analysis.pipeline.read_run_params`), or a params YAML file in a hand run. A hand run
(``run_dir`` empty) writes to ``<output_dir>/_scratch/<period>/<region>/``, never over a published batch run; with
no ``clean_dir`` it cleans the source into ``<output_dir>/_data/clean-<key>/`` as the batch does, and reuses that
folder next time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

import pandas as pd

from analysis.missing import Missing
from analysis.params import RunParams
from analysis.pipeline import Run, open_run, read_run_params
from analysis.regions import ALL_REGIONS, parse_region, region_name
from analysis.window import Window, period_bounds

if TYPE_CHECKING:
    from analysis.grading.stage import Grading
    from analysis.privacy import PseudonymKey
    from analysis.stages import Cleaned, Evaluation, Scored, Segments, Strategy, Summary

__all__ = ["KERNEL", "RunContext", "close_run", "finish", "setup"]

log = logging.getLogger(__name__)


class Kernel:
    """What a kernel keeps between its notebooks: the one open :class:`~analysis.pipeline.Run` (``None``: none)."""

    run: Run | None = None

    def open(self, params: RunParams, period: str, region: str, run_dir: Path | None, clean_dir: Path | None) -> Run:
        """The open run when it is this one, else a new run opened in its place."""
        if run_dir is None:
            run_dir = open_run(params, period, region).run_dir
        held = self.run
        if held is not None and held.same_run(params, period, region, run_dir, clean_dir):
            return held
        self.run = open_run(params, period, region, run_dir, clean_dir)
        return self.run


#: This kernel's open run.
KERNEL = Kernel()


def close_run() -> None:
    """Forget the open run and its stage results (the batch calls it before a reused kernel's next run)."""
    KERNEL.run = None


@dataclass
class RunContext:
    """One run as a notebook sees it: the :class:`~analysis.pipeline.Run` (params, ``period`` ``YYYY-MM``,
    ``region`` — a data region or :data:`~analysis.regions.ALL_REGIONS` — and ``run_dir``) and how to show it."""

    run: Run

    @property
    def params(self) -> RunParams:
        """The run's validated params."""
        return self.run.params

    @property
    def period(self) -> str:
        """The month reported on, ``YYYY-MM``."""
        return self.run.period

    @property
    def region(self) -> str:
        """The run's region (a data region, or :data:`~analysis.regions.ALL_REGIONS`)."""
        return self.run.region

    @property
    def run_dir(self) -> Path:
        """The run folder the stages write their files into."""
        return self.run.run_dir

    @property
    def clean_dir(self) -> Path | None:
        """The cleaned data the run reads (``None`` until the source is cleaned in a hand run)."""
        return self.run.clean_dir

    @property
    def window(self) -> Window:
        """The period, the windows it is compared with and the data's first and last day (from the clean stage):
        a period the data ends inside is scored as of the data's last day (params ``rfm.partial_period``)."""
        return self.run.window

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
    def pseudonym_key(self) -> PseudonymKey:
        """The pseudonym key (:func:`analysis.privacy.load_key`: environment, ``privacy.key_file`` or the kit's own
        key file, made when missing); loaded once per run. The CRM lists carry pseudonyms even when reports show
        ids."""
        return self.run.pseudonym_key

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
        id_column = self.params.columns.get("customer_id", "customer_id")

        def short(column: pd.Series) -> pd.Series:  # a 1 MB region name set aside must not make a 1 MB report
            if column.name == id_column:
                return column  # shown as pseudonyms (or as it is, when raw ids are allowed)
            return column.map(lambda v: v[:79] + "…" if isinstance(v, str) and len(v) > 80 else v)

        return self.ids(rows[shown].apply(short), id_column)

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

    @overload
    def stage(self, name: Literal["clean"]) -> Cleaned: ...
    @overload
    def stage(self, name: Literal["score"]) -> Scored: ...
    @overload
    def stage(self, name: Literal["segments"]) -> Segments: ...
    @overload
    def stage(self, name: Literal["evaluation"]) -> Evaluation: ...
    @overload
    def stage(self, name: Literal["strategy"]) -> Strategy: ...
    @overload
    def stage(self, name: Literal["summary"]) -> Summary: ...
    @overload
    def stage(self, name: Literal["grading"]) -> Grading: ...
    @overload
    def stage(self, name: str) -> Any: ...

    def stage(self, name: str) -> Any:
        """The result of stage ``name`` (``clean``, ``score``, ``segments``, ``evaluation``, ``strategy``,
        ``summary``, or any stage registered in :mod:`analysis.pipeline`).

        Computed once per run (with the stages it needs), its files written to the run folder by its one writer.
        """
        return self.run.get(name)

    def published_dir(self, period: str) -> Path:
        """The published batch run folder of ``period`` for this run's region (``<output_dir>/<period>/<region>``).

        A run reads the assignments of an earlier period from there, and keeps its own published ones.
        """
        return self.run.published_dir(period)

    @property
    def region_name(self) -> str:
        """The run's region as people write it (``all``, ``region:all`` for a region named ``all``, else the name)."""
        return region_name(self.region)


def setup(
    params_path: str | Path,
    period: str,
    region: str = ALL_REGIONS,
    run_dir: str | Path | None = None,
    clean_dir: str | Path | None = None,
) -> RunContext:
    """Read the notebook's parameters and prepare plotting; returns the run's context (on the kernel's open run).

    ``params_path``: the run's ``params.json`` written by the batch, or a params YAML file (a hand run).
    ``region``: ``all`` (or empty) for all regions together, ``region:all`` for a data region literally named
    ``all``, else the data region's name (:func:`analysis.regions.parse_region`). ``run_dir`` empty means a hand
    run: ``<output_dir>/_scratch/<period>/<region folder>/`` of the params file, so a notebook run in JupyterLab
    never overwrites a published batch run.
    """
    params = read_run_params(params_path)
    period_bounds(period)
    run = KERNEL.open(
        params,
        str(period),
        parse_region(region),
        Path(run_dir) if run_dir not in (None, "") else None,
        Path(clean_dir) if clean_dir else None,
    )
    run.run_dir.mkdir(parents=True, exist_ok=True)
    from analysis.report.plots.style import use_report_style

    use_report_style(params.language)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.width", 160)
    return RunContext(run)


def finish(
    params_path: str | Path,
    period: str,
    region: str = ALL_REGIONS,
    run_dir: str | Path | None = None,
    clean_dir: str | Path | None = None,
) -> list[str]:
    """Finish a run (the batch calls it in the kernel after the run's notebooks): every stage computed, on the open
    run when it is this one, and every stage's files written, whichever notebooks ran. Returns the stages."""
    run = KERNEL.open(
        read_run_params(params_path),
        str(period),
        parse_region(region),
        Path(run_dir) if run_dir not in (None, "") else None,
        Path(clean_dir) if clean_dir else None,
    )
    return list(run.compute_all())
