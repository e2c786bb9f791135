"""The grading stage of a run and its files: one typed function over the clean, score and strategy stages.

:func:`read_inputs` reads the optional inputs once per run and measures satisfaction and contacts per customer
(the strategy stage takes the measures: the playbook's service-recovery play reaches valuable but unhappy
customers, and its CRM list is ``actions/service_recovery.csv``); :func:`grade` computes everything the grading
notebook shows; :func:`write_grading` writes ``grading.csv`` (every customer's grades, reasons and move-up
sentences, real ids and pseudonym). A result that needs an optional input the params do not name is a
:class:`~analysis.missing.Missing` whose sentence names the input that would enable it.

Windows: grades, reasons and the per-customer measures cover the scoring window (params ``rfm.lookback_days`` up to
``as_of``, else all history to ``as_of``); the criterion review looks back ``grading.review_horizon_days`` from
``as_of``; the KANO survey and the attributes are as read (fixed, not dated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.grading import attributes as attrs
from analysis.grading import kano, review, satisfaction
from analysis.grading.inputs import InputResult, read_input
from analysis.grading.table import grading_rules, grading_table
from analysis.missing import Missing
from analysis.params import RunParams
from analysis.regions import ALL_REGIONS

INPUTS: tuple[str, ...] = ("feedback", "interactions", "attributes", "kano")


@dataclass(frozen=True)
class CustomerInputs:
    """The optional inputs of a run read and cleaned once (``inputs``: name → InputResult or Missing) and the
    satisfaction and contact measures of its customers over the scoring window (``measures``, index
    ``customer_id`` as text; :func:`analysis.grading.satisfaction.customer_measures`). ``since``/``as_of`` bound the
    window (``since`` exclusive, None = all history)."""

    inputs: dict[str, InputResult | Missing]
    measures: pd.DataFrame
    as_of: pd.Timestamp
    since: pd.Timestamp | None
    #: the customers by their attributes (:func:`analysis.grading.attributes.attribute_tables`), a Missing without
    #: an attributes input; the report's segment section and the grading section both show them
    attributes: attrs.AttributeTables | Missing = field(default_factory=lambda: Missing("grading_no_attributes"))

    def clean(self, name: str) -> pd.DataFrame | None:
        """The clean rows of input ``name``, None when the params name none."""
        got = self.inputs.get(name)
        return got.clean if isinstance(got, InputResult) else None

    @property
    def satisfaction(self) -> pd.DataFrame | None:
        """The measures when there is a feedback input (they carry the ``satisfaction`` band), else None."""
        return self.measures if "satisfaction" in self.measures.columns else None


def read_inputs(
    cleaned: Any, scored: Any, params: RunParams, period_start: pd.Timestamp | None = None
) -> CustomerInputs:
    """The optional inputs of a run (``cleaned``: its clean stage, ``scored``: its score stage), the measures of
    its customers over the scoring window (params ``rfm.lookback_days`` up to ``as_of``, else all history) and,
    with an attributes input, the attribute tables of its customers (params ``grading.dimensions``; retention from
    ``period_start``, default the first day of ``as_of``'s month; cells under ``report.min_customers`` suppressed).
    """
    as_of = pd.Timestamp(scored.as_of).normalize()
    lookback = params.rfm.lookback_days
    since = as_of - pd.Timedelta(days=lookback) if lookback else None
    read: dict[str, InputResult | Missing] = {}
    for name in INPUTS:
        got = read_input(name, params, cleaned.result.clean, as_of)
        read[name] = got if got is not None else Missing(f"grading_no_{name}")
    fb = read["feedback"].clean if isinstance(read["feedback"], InputResult) else None
    it = read["interactions"].clean if isinstance(read["interactions"], InputResult) else None
    measures = satisfaction.customer_measures(
        scored.customers.index, fb, it, as_of, since, params.grading.unhappy_below
    )
    tables: attrs.AttributeTables | Missing = Missing("grading_no_attributes")
    if isinstance(read["attributes"], InputResult):
        start = pd.Timestamp(period_start) if period_start is not None else as_of.to_period("M").start_time
        tables = attrs.attribute_tables(
            scored.customers, read["attributes"].clean, start, params.grading.dimensions, params.report.min_customers
        )
    return CustomerInputs(read, measures, as_of, since, tables)


@dataclass(frozen=True)
class Grading:
    """The grading stage: ``table`` (index ``customer_id``: grades, reasons, move-up sentences in the run's language
    and the other, the overall grade and the satisfaction/contact measures), the inputs as cleaned (``inputs``:
    name → :class:`~analysis.grading.inputs.InputResult` or Missing), and the optional results (a Missing each when
    their input is absent): ``measures``, ``grid`` (value × satisfaction), ``by_segment``, ``complaints`` (by
    product line), ``recovery`` (the customers of the playbook's service-recovery action, as the strategy assigned
    them: its treatment group; a Missing saying why when it reaches nobody), ``leads`` (contacts without purchases),
    ``review``, ``attributes`` (per dimension: profile and segment shares; ``drill``: province → city), ``kano`` and
    ``kano_by_segment``. ``since``/``as_of`` bound the scoring window (``since`` exclusive, None = all history)."""

    table: pd.DataFrame
    as_of: pd.Timestamp
    since: pd.Timestamp | None
    inputs: dict[str, InputResult | Missing] = field(default_factory=dict)
    measures: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_feedback"))
    grid: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_feedback"))
    by_segment: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_feedback"))
    complaints: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_feedback"))
    recovery: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_feedback"))
    leads: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_interactions"))
    review: Any = field(default_factory=lambda: Missing("grading_no_review"))
    attributes: dict[str, dict[str, pd.DataFrame]] | Missing = field(
        default_factory=lambda: Missing("grading_no_attributes")
    )
    drill: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_attributes"))
    kano: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_kano"))
    kano_by_segment: pd.DataFrame | Missing = field(default_factory=lambda: Missing("grading_no_kano"))
    #: respondents behind ``kano`` (a region's run: its customers who answered)
    kano_respondents: int = 0


def grade(
    cleaned: Any,
    scored: Any,
    strategy: Any,
    params: RunParams,
    window: Any,
    region: str = ALL_REGIONS,
    inputs: CustomerInputs | None = None,
) -> Grading:
    """The grading stage of one run (see :class:`Grading`).

    ``cleaned``, ``scored``, ``strategy``: the run's clean, score and strategy stages; ``window``: its
    :class:`~analysis.window.Window`; ``region``: the run's region (a region's run shows only its customers, so its
    KANO table counts only the answers of its customers); ``inputs``: the run's optional inputs and measures
    (:func:`read_inputs`; read here when not given).
    """
    g = params.grading
    language, currency = params.language, params.currency
    inputs = inputs if inputs is not None else read_inputs(cleaned, scored, params, window.start)
    as_of, since = inputs.as_of, inputs.since
    customers = scored.customers
    tx = cleaned.transactions
    rules = grading_rules(params, scored.cut_points, window.start, as_of, window.next[1], scored.left_censored)
    profile = scored.clusters.profile if hasattr(scored.clusters, "profile") else None
    table = grading_table(customers, tx, rules, language, currency, profile)
    read = inputs.inputs
    fb, it, at = inputs.clean("feedback"), inputs.clean("interactions"), inputs.clean("attributes")
    out: dict[str, Any] = {}
    measures = inputs.measures
    overall = satisfaction.overall_grade(customers, measures, g.weights)
    words = satisfaction.grade_sentences(overall, g.weights, language)
    table = table.join(overall[["grade_score", "grade", "grade_next"]]).join(words)
    m = measures.copy()
    m.index = customers.index
    table = table.join(m)
    if fb is not None:
        out["measures"] = measures
        out["grid"] = satisfaction.value_satisfaction_grid(customers, measures)
        out["by_segment"] = satisfaction.satisfaction_by_segment(customers, measures)
        fb_run = fb[fb["customer_id"].isin(customers.index.astype(str))]
        out["complaints"] = satisfaction.complaints_by_product_line(fb_run, tx, as_of, since)
        out["recovery"] = _recovery(strategy, measures)
        warnings = getattr(strategy, "warnings", None)
        if warnings is not None and "complained" in warnings.columns:  # the strategy's warnings, with satisfaction
            from analysis.strategy.churn import satisfaction_reasons

            flagged = warnings[warnings["churn_warning"]]
            why = satisfaction_reasons(flagged, language)
            table["churn_satisfaction_reason"] = why.reindex(table.index).fillna("")
    if it is not None:
        out["leads"] = satisfaction.contacts_without_purchases(it, customers.index, as_of, since)
    run_ids = set(customers.index.astype(str))
    res = review.review(
        tx, as_of, horizon_days=g.review_horizon_days, feedback=fb, interactions=it, attributes=at,
        folds=g.review_folds, seed=g.seed, min_gain=g.review_min_gain,
    )  # fmt: skip
    if res is None:
        cutoff = as_of - pd.Timedelta(days=g.review_horizon_days)
        from analysis.text import t

        detail = t("grading.review.none", language, cutoff=cutoff.date())
        out["review"] = Missing("grading_no_review", {"detail": detail})
    else:
        out["review"] = res
    if isinstance(inputs.attributes, attrs.AttributeTables):
        out["attributes"] = inputs.attributes.tables
        if inputs.attributes.drill is not None:
            out["drill"] = inputs.attributes.drill
    if isinstance(read["kano"], InputResult):
        survey = read["kano"].clean
        if region != ALL_REGIONS:
            survey = survey[survey["customer_id"].isin(run_ids)]
        if len(survey):
            out["kano"] = kano.kano_table(survey)
            out["kano_respondents"] = int(survey["respondent_id"].nunique())
        else:
            out["kano"] = out["kano_by_segment"] = Missing("grading_no_kano_answers")
        seg = survey["customer_id"].map(customers["segment"].rename(index=str)) if len(survey) else None
        if seg is not None and seg.notna().any():
            out["kano_by_segment"] = kano.kano_table(survey.assign(segment=seg), by="segment")
        elif seg is not None:
            out["kano_by_segment"] = Missing("grading_no_kano_customers")
    return Grading(table, as_of, since, read, **out)


def _recovery(strategy: Any, measures: pd.DataFrame) -> pd.DataFrame | Missing:
    """The service-recovery action's customers from the strategy's plan (:func:`satisfaction.service_recovery`),
    or a Missing saying why it reaches nobody (no such play in the playbook, nobody in its audience)."""
    plan = getattr(strategy, "plan", None)
    play = plan.playbook.warnings.get("service_recovery") if plan is not None and plan.playbook else None
    if play is None:
        return Missing("grading_no_recovery_play")
    rec = satisfaction.service_recovery(plan.assignments, measures, play.id)
    held = getattr(strategy, "groups", None)
    control = 0
    if isinstance(held, pd.DataFrame) and {"group", "action"} <= set(held.columns):
        control = int(((held["action"] == play.id) & (held["group"] == "control")).sum())
    if not len(rec):
        return Missing("grading_recovery_all_control", {"n": control}) if control else Missing("grading_no_recovery")
    rec.attrs["control"] = control
    rec.attrs["action_id"] = play.id
    return rec


def write_grading(run_dir: Path, result: Grading, language: str, key: Any = None) -> list[Path]:
    """``grading.csv`` (real ids, each customer's ``pseudonym`` when a key is given). The service-recovery list is
    the strategy's CRM list ``actions/service_recovery.csv`` (one writer: :func:`analysis.artifacts.write_actions`)."""
    from analysis.data.spreadsheet import write_spreadsheet_csv

    table = result.table
    if key is not None:
        from analysis.privacy import pseudonyms

        table = table.copy()
        table.insert(0, "pseudonym", pseudonyms(table.index, key).to_numpy())
    return [write_spreadsheet_csv(table, run_dir / "grading.csv")]
