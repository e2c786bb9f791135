"""The files of a run folder: one writer per artifact, registered with its stage in :mod:`analysis.pipeline`.

=========================================  =================================================================
``transactions.parquet``                   the run's clean transactions (region, up to the period's last day)
``customers.parquet`` / ``customers.csv``  scored customers, index ``customer_id``
``customers_previous.parquet``             the same customers scored as of the previous period's last day
``cut_points.csv``                         RFM cut points
``cluster_profile.csv`` …                  ``cluster_silhouette.csv``, ``cluster_snake.csv``, when clusters exist
``actions.csv``, ``recommendations.csv``   the playbook's actions and recommendations
``actions/<action>.csv``                   one customer list per action, for CRM import (its treatment group)
``actions/assignments.parquet``            every assigned customer: action, group (treatment/control), period
``actions/sent.parquet``                   who was sent their action: added by ``rfmkit confirm-actions`` only
``action_results.csv``                     what the earlier period's sent actions earned (treatment vs control)
``headline.json``                          the index page's figures, written once by the summary stage
``headline.csv``                           every headline measure × window (this, previous, year_ago): days, value
``grading.csv``                            grades, reasons, move-up sentences (service recovery: an action's list)
=========================================  =================================================================

Every writer is atomic (:mod:`analysis.data.io`), so a killed run never leaves a half-written file. Every CSV a
person may open in a spreadsheet (``customers.csv``, ``actions.csv``, ``recommendations.csv``, the CRM lists,
``action_results.csv``, the cluster tables) is written by the kit's one CSV writer,
:func:`analysis.data.spreadsheet.write_spreadsheet_csv`: cells a spreadsheet would read as a formula neutralised,
UTF-8 with a BOM, money in cents (the command line writes its CSVs with it too). The CRM lists keep the real
customer ids (they are the deliverable) and carry each customer's pseudonym in column ``customer``, the name
reports show them by (:mod:`analysis.privacy`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.data.io import write_json, write_parquet
from analysis.data.spreadsheet import write_spreadsheet_csv

if TYPE_CHECKING:
    from analysis.grading.stage import Grading
    from analysis.missing import Missing
    from analysis.privacy import PseudonymKey
    from analysis.sales.run import SalesRun
    from analysis.stages import Cleaned, Evaluation, Scored, Strategy, Summary

#: A writer: (run folder, stage result, language, pseudonym key) → files written. Each stage names its one writer
#: where it is registered (:func:`analysis.pipeline.stage`); the runner calls it once per run.
Writer = Callable[[Path, Any, str, Any], list[Path]]


def write_transactions(run_dir: Path, cleaned: Cleaned, language: str, key: PseudonymKey | None = None) -> list[Path]:
    """``transactions.parquet`` of the clean stage."""
    return [write_parquet(cleaned.transactions, run_dir / "transactions.parquet")]


def write_customers(run_dir: Path, scored: Scored, language: str, key: PseudonymKey | None = None) -> list[Path]:
    """``customers.parquet``/``.csv``, ``customers_previous.parquet``, ``cut_points.csv`` and the cluster files."""
    from analysis.stages import Clusters, Missing

    out = [
        write_parquet(scored.customers, run_dir / "customers.parquet"),
        write_spreadsheet_csv(scored.customers, run_dir / "customers.csv"),
        write_spreadsheet_csv(scored.cut_points, run_dir / "cut_points.csv"),
    ]
    if not isinstance(scored.previous, Missing):
        out.append(write_parquet(scored.previous, run_dir / "customers_previous.parquet"))
    if isinstance(scored.clusters, Clusters):
        c = scored.clusters
        out += [
            write_spreadsheet_csv(c.profile, run_dir / "cluster_profile.csv"),
            write_spreadsheet_csv(c.silhouette, run_dir / "cluster_silhouette.csv"),
            write_spreadsheet_csv(c.snake, run_dir / "cluster_snake.csv"),
        ]
    return out


def write_actions(run_dir: Path, strategy: Strategy, language: str, key: PseudonymKey | None = None) -> list[Path]:
    """``actions.csv``, ``recommendations.csv`` and one ``actions/<action>.csv`` per action (real ids, plus each
    customer's pseudonym in column ``customer`` when a pseudonym ``key`` is given)."""
    from analysis.privacy import pseudonyms
    from analysis.strategy.actions import write_action_csvs

    plan = strategy.plan
    assignments = plan.assignments
    if key is not None:
        assignments = assignments.assign(customer=pseudonyms(assignments.index, key).to_numpy())
    files = write_action_csvs(assignments, run_dir / "actions", playbook=plan.playbook, language=language)
    out = [
        write_spreadsheet_csv(plan.actions, run_dir / "actions.csv"),
        write_spreadsheet_csv(plan.recommendations, run_dir / "recommendations.csv", index=False),
        *files.values(),
    ]
    if isinstance(strategy.groups, pd.DataFrame):
        groups = strategy.groups
        if key is not None and "pseudonym" not in groups.columns:  # published assignments keep theirs
            groups = groups.assign(pseudonym=pseudonyms(groups.index, key).to_numpy())
        out.append(write_parquet(groups, run_dir / ASSIGNMENTS))
    return out


#: Where a run keeps its control-group assignments, relative to the run folder.
ASSIGNMENTS = "actions/assignments.parquet"


def read_assignments(run_dir: Path) -> pd.DataFrame | None:
    """The ``actions/assignments.parquet`` of a run folder, or None when it has none."""
    path = Path(run_dir) / ASSIGNMENTS
    return pd.read_parquet(path) if path.is_file() else None


#: Where ``rfmkit confirm-actions`` records which treatment customers were sent their action, relative to the run
#: folder of the period they were assigned in (a file the user's command adds: a re-run of that period keeps it).
SENT = "actions/sent.parquet"


def read_sent(run_dir: Path) -> pd.DataFrame | None:
    """The ``actions/sent.parquet`` of a run folder (index ``customer_id``, as text), or None when nothing of that
    run was confirmed as sent."""
    path = Path(run_dir) / SENT
    if not path.is_file():
        return None
    sent = pd.read_parquet(path)
    sent.index = sent.index.astype(str)
    return sent


def write_sent(run_dir: Path, record: pd.DataFrame) -> Path:
    """``actions/sent.parquet``: the record of sent customers (:func:`analysis.strategy.experiment.confirm_sent`)."""
    return write_parquet(record, Path(run_dir) / SENT)


def write_evaluation(
    run_dir: Path, evaluation: Evaluation, language: str, key: PseudonymKey | None = None
) -> list[Path]:
    """``action_results.csv``: the earlier period's actions measured, when there were any."""
    from analysis.strategy.experiment import results_table

    if not isinstance(evaluation.results, pd.DataFrame):
        return []
    table = results_table(evaluation.results, evaluation.learned)
    return [write_spreadsheet_csv(table, run_dir / "action_results.csv", index=False)]


def write_headline(run_dir: Path, summary: Summary, language: str, key: PseudonymKey | None = None) -> list[Path]:
    """``headline.json`` (the summary's figures for the index page) and ``headline.csv`` (every headline measure per
    window with its first and last day, the value or why there is none)."""
    out = [write_json(summary.headline, run_dir / "headline.json")]
    if len(summary.measures):
        out.append(write_spreadsheet_csv(summary.measures, run_dir / "headline.csv", index=False))
    return out


def write_grading(run_dir: Path, grading: Grading, language: str, key: PseudonymKey | None = None) -> list[Path]:
    """``grading.csv`` (every customer's grades, the reason for each and what would move them up, in both languages;
    real ids and the pseudonym), written by :func:`analysis.grading.stage.write_grading`. The service-recovery list is
    the strategy's ``actions/service_recovery.csv`` (:func:`write_actions`)."""
    from analysis.grading.stage import write_grading as write

    return write(run_dir, grading, language, key)


def write_sales(run_dir: Path, sales: SalesRun | Missing, language: str, key: PseudonymKey | None = None) -> list[Path]:
    """``sales/``: ``funnel.csv``, ``rep_scorecard.csv``, ``stalled_deals.csv`` (a CRM list: real account ids and the
    pseudonym), ``sales_quality.json`` and the CRM quarantine, written by :func:`analysis.sales.run.write_sales` (the
    one writer of those files, which ``rfmkit funnel`` uses too); nothing without a CRM input."""
    from analysis.sales.run import write_stage

    return write_stage(run_dir, sales, language, key)
