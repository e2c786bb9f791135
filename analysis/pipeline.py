"""The runner over the stages: one table of stages, each with what it needs and the one writer of its files.

A **stage** is registered once, with :func:`stage`, as a function ``f(run, <needed stages>…) -> result``: its
parameters after ``run`` *are* its dependencies (named after the stages whose results it takes, as in Hamilton), and
``write=`` names the one writer of its artifacts (:mod:`analysis.artifacts`). The same table is used to compute and
to write:

* :class:`Run` is one period × region run. It owns its cache (``results``): :meth:`Run.get` computes a stage once,
  after the stages it needs, and writes the stage's files into the run folder once; :meth:`Run.compute_all` does
  every stage, so a run leaves the same files whichever stages anybody asked for.
* The notebooks ask ``ctx.stage("score")`` (:mod:`analysis.context`), which is :meth:`Run.get` of the run the
  kernel has open. In a batch the notebooks run first, then the batch has the kernel finish the run
  (:func:`analysis.context.finish`: :meth:`Run.compute_all`), so ``headline.json`` is written even when no notebook
  shows the summary.

Adding a stage (see ``docs/architecture.md``)::

    @stage(write=artifacts.write_funnel)          # in this module, below the stages it needs
    def funnel(run: Run, clean: Cleaned) -> Funnel:
        return sales.funnel(clean.transactions, run.params, run.window)

Stages are registered in dependency order (a stage can only need stages registered before it), so the table has no
cycle by construction, and its order is a valid order to compute it in.

**Params as data.** The batch validates the params once (:func:`analysis.params.load_params`, with every flag of
``rfmkit run``), writes them to the run's ``_executed/params.json`` (:func:`write_run_params`) and hands that file
to every notebook, which reads it back without validating the YAML again (:func:`read_run_params`): the runs use
exactly the params the fingerprint describes. A notebook run by hand names the YAML file instead.
"""

from __future__ import annotations

import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis import artifacts, stages
from analysis.data.io import write_json
from analysis.data.store import load_clean, prepare_clean
from analysis.params import RunParams, dump_params, load_params
from analysis.regions import ALL_REGIONS, region_slug, run_rep
from analysis.stages import Cleaned, Evaluation, Scored, Segments, Strategy, Summary
from analysis.window import Window

if TYPE_CHECKING:
    from analysis.grading.stage import CustomerInputs, Grading
    from analysis.missing import Missing
    from analysis.privacy import PseudonymKey
    from analysis.sales.run import SalesRun

log = logging.getLogger(__name__)

#: The file a batch run's validated params are handed to its notebooks in, relative to the run folder.
RUN_PARAMS = "_executed/params.json"


@dataclass(frozen=True)
class Stage:
    """One registered stage: its ``name``, the function that computes it, the stages it ``needs`` (its
    parameters after ``run``) and the one writer of its files (``None``: a stage without files)."""

    name: str
    compute: Callable[..., Any]
    needs: tuple[str, ...]
    write: artifacts.Writer | None = None


#: Every stage of a run, in an order that computes each after the stages it needs.
STAGES: dict[str, Stage] = {}


def stage(name: str | None = None, *, write: artifacts.Writer | None = None) -> Callable[[Callable[..., Any]], Any]:
    """Register a stage function ``f(run, <needed stages>…)`` under ``name`` (default: the function's name), with
    ``write``, the one writer of its files (``writer(run_dir, result, language, pseudonym_key) -> [paths]``)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or fn.__name__
        args = list(inspect.signature(fn).parameters)
        if not args or args[0] != "run":
            raise TypeError(f"stage {key}: its first parameter must be 'run' (the Run), got {args}")
        needs = tuple(args[1:])
        unknown = [n for n in needs if n not in STAGES]
        if unknown:
            raise TypeError(f"stage {key} needs {unknown}, which are not registered (yet); stages are {list(STAGES)}")
        if key in STAGES:
            raise TypeError(f"stage {key} is registered twice")
        STAGES[key] = Stage(key, fn, needs, write)
        return fn

    return register


@dataclass(eq=False)
class Run:
    """One period × region run: its params, its folder and its stage results (the run's own cache).

    ``region`` is a data region or :data:`~analysis.regions.ALL_REGIONS`; ``clean_dir`` the cleaned data (the
    batch's shared folder; ``None``: the source cleaned once into ``<output_dir>/_data/``, see
    :mod:`analysis.data.store`). ``write``: whether computed stages write their files into ``run_dir``.
    """

    params: RunParams
    period: str
    region: str
    run_dir: Path
    clean_dir: Path | None = None
    write: bool = True
    results: dict[str, Any] = field(default_factory=dict, repr=False)
    written: dict[str, list[Path]] = field(default_factory=dict, repr=False)
    _pseudonym_key: PseudonymKey | None = field(default=None, repr=False)

    # ------------------------------------------------------------------------------------------ the runner

    def get(self, name: str) -> Any:
        """The result of stage ``name``: computed once (after the stages it needs), its files written once."""
        spec = STAGES.get(name)
        if spec is None:
            raise KeyError(f"unknown stage '{name}'; stages are {list(STAGES)}")
        if name not in self.results:
            needed = {n: self.get(n) for n in spec.needs}
            log.debug("stage %s of %s/%s", name, self.period, self.region)
            self.results[name] = spec.compute(self, **needed)
        if self.write and name not in self.written:
            self.written[name] = self._write(spec, self.results[name])
        return self.results[name]

    def compute_all(self) -> dict[str, Any]:
        """Every stage's result (computing what is not yet), every stage's files written."""
        return {name: self.get(name) for name in STAGES}

    def _write(self, spec: Stage, result: Any) -> list[Path]:
        if spec.write is None:
            return []
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return spec.write(self.run_dir, result, self.params.language, self.pseudonym_key)

    # ------------------------------------------------------------------------------------------ what stages use

    @property
    def data_dir(self) -> Path:
        """The cleaned data: ``clean_dir``, else the source cleaned once into ``<output_dir>/_data/clean-<key>/``."""
        if self.clean_dir is None:
            from analysis.engines.spark_clean import source_cleaner

            self.clean_dir = prepare_clean(self.params, clean=source_cleaner(self.params))[0]
            log.info("cleaned data in %s", self.clean_dir)
        return Path(self.clean_dir)

    @property
    def window(self) -> Window:
        """The period, the windows it is compared with and the data's first and last day (from the clean stage)."""
        return stages.run_window(self.period, self.get("clean"), self.params)

    @property
    def pseudonym_key(self) -> PseudonymKey:
        """The pseudonym key (:func:`analysis.privacy.load_key`), loaded once."""
        if self._pseudonym_key is None:
            from analysis.privacy import load_key

            self._pseudonym_key = load_key(self.params.privacy.key_file)
        return self._pseudonym_key

    def published_dir(self, period: str) -> Path:
        """The published batch run folder of ``period`` for this run's region (``<output_dir>/<period>/<region>``)."""
        return Path(self.params.output_dir) / period / region_slug(self.region)

    def same_run(self, params: RunParams, period: str, region: str, run_dir: Path, clean_dir: Path | None) -> bool:
        """Whether these are this run's params, period, region, folder and (when given) cleaned data."""
        if clean_dir is not None and (self.clean_dir is None or Path(clean_dir).resolve() != self.data_dir.resolve()):
            return False
        return (period, region, Path(run_dir).resolve()) == (self.period, self.region, self.run_dir.resolve()) and (
            dump_params(params) == dump_params(self.params)
        )


# ---------------------------------------------------------------------------------------------------- the stages


@stage(write=artifacts.write_transactions)
def clean(run: Run) -> Cleaned:
    """The cleaned data scoped to the run's period and region, or rep (:func:`analysis.stages.cleaned`)."""
    scoped_by = "sales_rep" if run_rep(run.region) is not None else "region"
    region_column = run.params.columns.get(scoped_by, scoped_by)
    return stages.cleaned(load_clean(run.data_dir), run.period, run.region, region_column)


@stage(write=artifacts.write_customers)
def score(run: Run, clean: Cleaned) -> Scored:
    """Every customer of the run scored as of its scoring day (:func:`analysis.stages.score`)."""
    w = run.window
    return stages.score(
        clean.transactions, run.params, w.as_of, w.start, data_start=clean.data_start, returns=clean.returns
    )


@stage()
def inputs(run: Run, clean: Cleaned, score: Scored) -> CustomerInputs:
    """The optional customer inputs (feedback, contacts, attributes, KANO) read once, and the satisfaction and
    contact measures of the run's customers (:func:`analysis.grading.stage.read_inputs`, docs/grading.md)."""
    from analysis.grading.stage import read_inputs

    return read_inputs(clean, score, run.params, run.window.start)


@stage()
def segments(run: Run, clean: Cleaned, score: Scored, inputs: CustomerInputs) -> Segments:
    """Segment summaries, tiers, lifecycle, migration, cohorts, KPIs, by customer attribute too with an attributes
    input (:func:`analysis.stages.segment_analysis`)."""
    return stages.segment_analysis(
        clean.transactions, score, run.params, run.period, window=run.window, attributes=inputs.clean("attributes"),
        region=run.region,
    )  # fmt: skip


@stage(write=artifacts.write_evaluation)
def evaluation(run: Run, clean: Cleaned) -> Evaluation:
    """The actions assigned ``experiment.window_months`` before, measured (:func:`analysis.stages.evaluation`)."""
    earlier = str(pd.Period(run.period, freq="M") - run.params.experiment.window_months)
    assigned = artifacts.read_assignments(run.published_dir(earlier))
    sent = artifacts.read_sent(run.published_dir(earlier))  # only what rfmkit confirm-actions recorded is measured
    return stages.evaluation(
        clean.transactions, assigned, run.params, run.period, as_of=run.window.as_of, sent=sent,
        data_end=run.window.data_end,
    )  # fmt: skip


@stage(write=artifacts.write_actions)
def strategy(run: Run, clean: Cleaned, score: Scored, evaluation: Evaluation, inputs: CustomerInputs) -> Strategy:
    """Churn warnings, the playbook's actions, the forecast and its backtest (:func:`analysis.stages.strategy`); the
    satisfaction measures target the service-recovery play and give churn reasons their scores and complaints."""
    return stages.strategy(
        clean.transactions,
        score,
        run.params,
        run.period,
        region=run.region,
        evaluation=evaluation,
        published=artifacts.read_assignments(run.published_dir(run.period)),
        returns=clean.returns,
        window=run.window,
        satisfaction=inputs.satisfaction,
    )


@stage(write=artifacts.write_headline)
def summary(run: Run, clean: Cleaned, score: Scored, segments: Segments, strategy: Strategy) -> Summary:
    """The executive summary and the index page's figures (:func:`analysis.stages.summary`)."""
    return stages.summary(
        clean, score, segments, strategy, run.params, run.period, window=run.window, region=run.region
    )


@stage(write=artifacts.write_grading)
def grading(run: Run, clean: Cleaned, score: Scored, strategy: Strategy, inputs: CustomerInputs) -> Grading:
    """Every customer's grades with the reason for each and what would move them up, satisfaction and contacts,
    the criterion review, attributes and KANO (:func:`analysis.grading.stage.grade`, docs/grading.md)."""
    from analysis.grading.stage import grade

    return grade(clean, score, strategy, run.params, run.window, run.region, inputs)


@stage(write=artifacts.write_sales)
def sales(run: Run, clean: Cleaned, score: Scored) -> SalesRun | Missing:
    """Funnel, stalled deals, rep scorecards against target and book (:func:`analysis.sales.run.sales_for_run`,
    docs/sales.md); a Missing without a CRM input. The log's purchases and the customers scored at the period's start
    give each rep's book."""
    from analysis.sales.run import sales_for_run

    return sales_for_run(run.params, run.period, run.region, transactions=clean.transactions, previous=score.previous)


# ---------------------------------------------------------------------------------------------------- params as data


def write_run_params(params_data: dict[str, Any], run_dir: Path) -> Path:
    """Write a run's validated params (:func:`analysis.params.dump_params`) to ``<run_dir>/_executed/params.json``,
    the file the batch hands its notebooks as ``params_path``. The file is published with the run, so the secrets of
    a connection string are redacted (:func:`analysis.logs.redact_secrets`): the kernels read the batch's cleaned
    data (``clean_dir``), never the source itself."""
    from analysis.logs import redact_secrets

    return write_json(redact_secrets(params_data), Path(run_dir) / RUN_PARAMS)


def read_run_params(path: str | Path) -> RunParams:
    """The params a notebook runs with: a run's ``params.json`` written by the batch (params validated once, with
    every flag of ``rfmkit run``: taken as they are), else a params YAML file (a hand run:
    :func:`analysis.params.load_params`)."""
    path = Path(path)
    if path.suffix == ".json":
        return RunParams.model_validate(json.loads(path.read_text(encoding="utf-8")))
    return load_params(path)


def open_run(
    params: RunParams,
    period: str,
    region: str = ALL_REGIONS,
    run_dir: Path | None = None,
    clean_dir: Path | None = None,
) -> Run:
    """A new :class:`Run` (``run_dir`` empty: the scratch folder ``<output_dir>/_scratch/<period>/<region>/``)."""
    if run_dir is None:
        run_dir = Path(params.output_dir) / "_scratch" / period / region_slug(region)
    return Run(params, str(period), region, Path(run_dir), Path(clean_dir) if clean_dir else None)
