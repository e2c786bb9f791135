"""The pipeline's steps, one typed function each: clean → score → segment analysis → strategy → summary.

These are the only functions that compute a run. ``rfmkit score``/``clv``, the batch and the notebooks all call
them (the notebooks through :meth:`analysis.context.RunContext.stage`). Each returns a frozen dataclass of frames
and values; per-customer frames are indexed by ``customer_id`` and checked against :mod:`analysis.contract`.

A result that cannot be computed for a good reason (clustering off, too few customers, CLV not identifiable,
no previous period) is a :class:`Missing` value with a catalog key for the reason, which the notebook shows;
it is never a missing file that a later step trips over.

Time: a run covers one **period** (a calendar month ``YYYY-MM``); customers are scored as of its last day,
inclusive. Money is in the currency of the source; recency in whole days.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.contract import validate_clean, validate_customers
from analysis.data.clean import CleanResult, clean_transactions
from analysis.data.io import read_transactions
from analysis.errors import InputError, ModelError, ParamsError
from analysis.params import PERIOD_RE, RunParams

log = logging.getLogger(__name__)

ALL_REGIONS = "all"
#: Length of the holdout of the CLV model check: the model is refitted up to this long before ``as_of``.
CLV_HOLDOUT = pd.Timedelta(weeks=26)
#: Periods shown in the lifecycle-over-time chart.
LIFECYCLE_PERIODS = 6
#: Months of cohorts shown.
COHORT_MONTHS = 12


@dataclass(frozen=True)
class Missing:
    """An optional result that was not computed, with the reason (a ``run.missing.*`` catalog key).

    A notebook asks ``ctx.has(result)`` (an optional result may be a DataFrame, whose truth is ambiguous) and shows
    ``ctx.note(result)`` otherwise; ``reason(language)`` is the sentence.
    """

    key: str
    values: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return False

    def reason(self, language: str) -> str:
        """The reason in ``language``."""
        from analysis.text import t

        return t(f"run.missing.{self.key}", language, **self.values)


# ---------------------------------------------------------------------------------------------------- the window


def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of a ``YYYY-MM`` period."""
    if not PERIOD_RE.match(str(period)):
        raise ParamsError(f"period '{period}' is not a month; write it as YYYY-MM, e.g. 2024-06")
    p = pd.Period(period, freq="M")
    return p.start_time.normalize(), p.end_time.normalize()


@dataclass(frozen=True)
class Window:
    """The days a run looks at: ``period`` (``YYYY-MM``) and the periods it is compared with."""

    period: str

    @property
    def start(self) -> pd.Timestamp:
        """First day of the period."""
        return period_bounds(self.period)[0]

    @property
    def as_of(self) -> pd.Timestamp:
        """Last day of the period (inclusive): the scoring day."""
        return period_bounds(self.period)[1]

    @property
    def days(self) -> int:
        """Length of the period in days."""
        return int((self.as_of - self.start).days) + 1

    @property
    def previous(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the previous period."""
        return period_bounds(str(pd.Period(self.period, freq="M") - 1))

    @property
    def year_ago(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the same period a year before."""
        return period_bounds(str(pd.Period(self.period, freq="M") - 12))

    @property
    def next(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the next period."""
        return period_bounds(str(pd.Period(self.period, freq="M") + 1))

    def recent_ends(self, n: int = LIFECYCLE_PERIODS) -> list[pd.Timestamp]:
        """The last days of the ``n`` periods up to and including this one, oldest first."""
        p = pd.Period(self.period, freq="M")
        return [(p - k).end_time.normalize() for k in range(n - 1, -1, -1)]


# ---------------------------------------------------------------------------------------------------- clean


def clean(params: RunParams) -> CleanResult:
    """Read the source named in ``params`` and clean it (rows in = clean + quarantined)."""
    raw = read_transactions(params.source)
    origin = params.source.path or params.source.url or f"sample(seed={params.source.sample.seed})"
    return clean_transactions(raw, params.columns, params.cleaning, origin=origin)


def load_clean(clean_dir: str | Path) -> CleanResult:
    """Read the cleaned data written by :meth:`analysis.data.clean.CleanResult.write`."""
    d = Path(clean_dir)
    try:
        return CleanResult(
            clean=pd.read_parquet(d / "clean.parquet"),
            quarantine=pd.read_csv(d / "quarantine.csv", dtype=str, keep_default_na=False),
            returns=pd.read_parquet(d / "returns.parquet"),
            quality=json.loads((d / "quality.json").read_text(encoding="utf-8")),
        )
    except FileNotFoundError as err:
        raise InputError(
            f"{d}: cleaned data not found ({err.filename}); run 'rfmkit clean' or the cleaning notebook"
        ) from None


def scope(clean_tx: pd.DataFrame, as_of: pd.Timestamp, region: str = ALL_REGIONS) -> pd.DataFrame:
    """The transactions a run looks at: its ``region`` (unless ``all``), up to ``as_of`` (inclusive)."""
    tx = clean_tx[clean_tx["order_date"].dt.normalize() <= as_of]
    if region != ALL_REGIONS:
        if "region" not in clean_tx:
            raise InputError("region filter asked for, but the data has no 'region' column; map one under 'columns:'")
        known = sorted(clean_tx["region"].dropna().unique())
        if region not in known:
            raise ParamsError(f"region '{region}' is not in the data; regions are {known}")
        tx = tx[tx["region"] == region]
    return validate_clean(tx.reset_index(drop=True), f"transactions of {region} up to {as_of.date()}")


@dataclass(frozen=True)
class Cleaned:
    """The clean stage of one run: the whole cleaned log and the run's transactions.

    ``result`` covers the whole input (cleaning runs once for all regions); ``transactions`` is the run's
    region up to the period's last day; ``revenue_period`` the revenue of those in the period (currency).
    """

    result: CleanResult
    transactions: pd.DataFrame
    revenue_period: float


def cleaned(result: CleanResult, period: str, region: str = ALL_REGIONS) -> Cleaned:
    """The clean stage: ``result`` scoped to ``period`` and ``region``."""
    start, as_of = period_bounds(period)
    tx = scope(result.clean, as_of, region)
    revenue = round(float(tx.loc[tx["order_date"] >= start, "amount"].sum()), 2)
    return Cleaned(result, tx, revenue)


# ---------------------------------------------------------------------------------------------------- score


@dataclass(frozen=True)
class CLVCheck:
    """The CLV model refitted up to ``calibration_end`` and compared with the known holdout purchases."""

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    fit: Any  # analysis.clv.pipeline.CLVResult

    @property
    def errors(self) -> dict[str, float]:
        """Holdout errors of the purchase model the predictions use (BG/NBD unless it could not be estimated,
        see ``fit.method``): ``expected_total``, ``actual_total``, ``total_error_pct``, ``mae``."""
        return self.fit.holdout_errors[self.fit.method]


@dataclass(frozen=True)
class Clusters:
    """k-means clusters: ``k``, ``stability`` (adjusted Rand index across seeds), ``profile`` per cluster,
    ``silhouette`` per k and the ``snake`` data (mean standardised R, F, M per cluster)."""

    k: int
    stability: float
    profile: pd.DataFrame
    silhouette: pd.DataFrame
    snake: pd.DataFrame


@dataclass(frozen=True)
class Scored:
    """The score stage: every customer of the run as of the period's last day.

    ``customers`` (index ``customer_id``): RFM values and scores, segment, value class, CLV columns when
    the models ran, ``abc_class``, ``lifecycle_stage`` (the period is the lifecycle's window) and ``cluster``.
    ``previous``: the same scoring as of the previous period's last day. ``cut_points``: the RFM cut points.
    """

    as_of: pd.Timestamp
    customers: pd.DataFrame
    previous: pd.DataFrame | Missing
    cut_points: pd.DataFrame
    clv: Missing | None  # None when the CLV columns are there
    clusters: Clusters | Missing
    clv_check: CLVCheck | Missing


def score(
    transactions: pd.DataFrame,
    params: RunParams,
    as_of: str | pd.Timestamp,
    period_start: str | pd.Timestamp | None = None,
    *,
    clv_check: bool = True,
) -> Scored:
    """Score the customers of ``transactions`` as of ``as_of`` (inclusive).

    ``period_start`` is the first day of the period (default: the first day of ``as_of``'s month): the lifecycle
    calls a customer *new* or *reactivated* for a purchase from that day on, and ``previous`` scores the customers
    as of the day before. ``clv_check`` refits the CLV model on the data up to :data:`CLV_HOLDOUT` before ``as_of``
    and predicts the rest (the report's model check); ``rfmkit score`` leaves it out.
    """
    from analysis.customers.enrich import add_segmentation, clv_columns, min_cluster_customers
    from analysis.customers.rfm import score_customers

    as_of = pd.Timestamp(as_of).normalize()
    start = pd.Timestamp(period_start).normalize() if period_start is not None else as_of.replace(day=1)
    previous_end = start - pd.Timedelta(days=1)
    res = score_customers(transactions, as_of, params.rfm)
    customers = res.customers
    clv_missing: Missing | None = None
    if not params.clv.enabled:
        clv_missing = Missing("clv_disabled")
    elif customers.empty:
        clv_missing = Missing("no_customers")
    else:
        try:
            customers = customers.join(clv_columns(transactions, as_of, params.clv), how="left")
        except (ModelError, InputError) as err:
            clv_missing = Missing("clv_not_identifiable", {"detail": str(err)})
            log.info("CLV skipped as of %s: %s", as_of.date(), err)
    seg = add_segmentation(customers, transactions, as_of, previous_end, params.segmentation)
    customers = validate_customers(seg.customers, f"customers scored as of {as_of.date()}")
    if seg.clusterer is None:
        floor = min_cluster_customers(params.segmentation)
        clusters: Clusters | Missing = Missing(seg.skipped or "too_few_customers", {"n": len(customers), "min": floor})
    else:
        c = seg.clusterer
        clusters = Clusters(
            int(c.k_), float(c.stability_), c.profile_, c.silhouette_scores_.to_frame(), c.snake_data(customers)
        )
    before = transactions[transactions["order_date"].dt.normalize() <= previous_end]
    previous: pd.DataFrame | Missing = (
        score_customers(before, previous_end, params.rfm).customers if len(before) else Missing("no_previous")
    )
    check: CLVCheck | Missing = _clv_check(transactions, as_of, params) if clv_check else Missing("clv_check_off")
    return Scored(as_of, customers, previous, res.cut_points, clv_missing, clusters, check)


def clv_models(
    transactions: pd.DataFrame,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
    *,
    time_unit: str = "W",
    penalizer: float = 0.0,
    horizon: float | None = None,
    discount_rate: float | None = None,
) -> Any:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma on the purchases up to ``calibration_end`` and predict every
    customer; with ``holdout_end``, compare with the purchases after it (``rfmkit clv`` and the model check).

    Times, horizon and discount rate are in ``time_unit`` (``D``, ``W`` or ``M``). Returns
    :class:`analysis.clv.pipeline.CLVResult`; raises :class:`ModelError` when the data cannot identify the models.
    """
    from analysis.clv.pipeline import fit_clv

    return fit_clv(
        transactions,
        calibration_end,
        holdout_end,
        time_unit=time_unit,
        penalizer=penalizer,
        horizon=horizon,
        discount_rate=discount_rate,
    )


def _clv_check(transactions: pd.DataFrame, as_of: pd.Timestamp, params: RunParams) -> CLVCheck | Missing:
    if not params.clv.enabled:
        return Missing("clv_disabled")
    calibration_end = as_of - CLV_HOLDOUT
    try:
        fit = clv_models(
            transactions, calibration_end, as_of, time_unit=params.clv.time_unit, penalizer=params.clv.penalizer
        )
    except (ModelError, InputError) as err:
        return Missing("clv_check_skipped", {"detail": str(err)})
    return CLVCheck(calibration_end, as_of, fit)


# ---------------------------------------------------------------------------------------------------- segments

#: KPI columns of the graded sales report, in the order shown.
KPI_COLUMNS: tuple[str, ...] = (
    "revenue", "revenue_share", "orders", "customers", "new_customers", "aov", "repeat_rate",
    "retention_rate", "revenue_growth", "revenue_yoy_growth", "gross_margin_pct",
)  # fmt: skip


@dataclass(frozen=True)
class Segments:
    """The segment-analysis stage.

    ``segments`` / ``value_classes``: customers, revenue, shares and means per RFM segment / value class.
    ``abc``: per-customer tiers (index ``customer_id``) and ``abc_summary`` per tier. ``lifecycle``: stage
    counts at the ends of the last :data:`LIFECYCLE_PERIODS` periods. ``migration`` / ``value_class_migration``:
    previous period → this one. ``cohorts``: monthly acquisition cohorts. ``kpi_by_segment`` and
    ``kpi_by_dimension`` (ABC tier × region/channel/product line, when the data has them): this period's graded
    KPIs with growth against the previous period and a year before. ``sales_reps`` when the data has reps.
    """

    segments: pd.DataFrame
    value_classes: pd.DataFrame
    abc: pd.DataFrame
    abc_summary: pd.DataFrame
    lifecycle_stages: pd.DataFrame
    lifecycle: pd.DataFrame
    migration: Any  # MigrationResult | Missing
    value_class_migration: Any  # MigrationResult | Missing
    cohorts: Any  # CohortTable | Missing
    kpi_by_segment: pd.DataFrame
    kpi_by_dimension: dict[str, pd.DataFrame]
    sales_reps: pd.DataFrame | Missing


def _kpi_columns(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    return frame[[c for c in (*extra, *KPI_COLUMNS) if c in frame.columns]]


def segment_analysis(transactions: pd.DataFrame, scored: Scored, params: RunParams, period: str) -> Segments:
    """Summaries, tiers, lifecycle over time, migration, cohorts and graded KPIs of a scored run."""
    from analysis.customers import kpi, tiers
    from analysis.customers.cohorts import cohort_table
    from analysis.customers.lifecycle import lifecycle_over_periods, stage_counts
    from analysis.customers.migration import migration
    from analysis.report.tables import segment_summary, value_class_summary

    window = Window(period)
    customers = scored.customers
    abc = tiers.abc_classes(customers, params.segmentation.abc)
    lc = params.segmentation.lifecycle
    wide = lifecycle_over_periods(
        transactions,
        window.recent_ends(),
        dormant_multiple=lc.dormant_multiple,
        dormant_days=lc.dormant_days,
        lost_multiple=lc.lost_multiple,
        lost_days=lc.lost_days,
    )
    if isinstance(scored.previous, Missing) or customers.empty:
        mig: Any = scored.previous if isinstance(scored.previous, Missing) else Missing("no_customers")
        vc_mig: Any = mig
    else:
        mig = migration(scored.previous, customers, "segment")
        vc_mig = migration(scored.previous, customers, "value_class")
    cohorts: Any = (
        cohort_table(transactions, as_of=window.as_of, max_months=COHORT_MONTHS)
        if len(transactions)
        else Missing("no_customers")
    )
    by_segment = kpi.sales_report(transactions, window.start, window.as_of, by=("segment",), customers=customers)
    dims = [d for d in ("region", "channel", "product_line") if d in transactions.columns]
    by_dim = {
        d: _kpi_columns(
            kpi.sales_report(transactions, window.start, window.as_of, by=("abc_class", d), customers=customers)
        )
        for d in dims
    }
    reps: pd.DataFrame | Missing = Missing("no_sales_reps")
    if "sales_rep" in transactions.columns:
        reps = _kpi_columns(kpi.sales_rep_report(transactions, window.start, window.as_of), ("rank",))
    return Segments(
        segments=segment_summary(customers),
        value_classes=value_class_summary(customers),
        abc=abc,
        abc_summary=tiers.abc_summary(abc),
        lifecycle_stages=customers["lifecycle_stage"].value_counts().rename("customers").to_frame(),
        lifecycle=stage_counts(wide),
        migration=mig,
        value_class_migration=vc_mig,
        cohorts=cohorts,
        kpi_by_segment=_kpi_columns(by_segment),
        kpi_by_dimension=by_dim,
        sales_reps=reps,
    )


# ---------------------------------------------------------------------------------------------------- strategy


@dataclass(frozen=True)
class Strategy:
    """The strategy stage.

    ``warnings``: per customer (index ``customer_id``), the churn-warning flag and its reason. ``plan``: the
    playbook applied (assignments, actions, per-segment view, recommendations). ``forecast``: expected purchases
    and revenue per segment over the next period (run-rate: purchases per day of tenure × the next period's
    days). ``backtest``: the same method applied at the previous period's end, compared with this period's actual
    purchases. ``groups``: every assigned customer's action and group (``treatment``/``control``; see
    :func:`analysis.strategy.experiment.assign_groups`), and ``held_out`` the customers in control groups: ``plan``
    (the CRM lists, budgets and expected returns) covers the treatment groups only.
    """

    warnings: pd.DataFrame
    plan: Any  # analysis.strategy.actions.StrategyResult
    forecast: pd.DataFrame | Missing
    forecast_window: tuple[pd.Timestamp, pd.Timestamp]
    backtest: pd.DataFrame | Missing
    groups: pd.DataFrame | Missing = Missing("experiment_disabled")
    held_out: int = 0


def strategy(
    transactions: pd.DataFrame,
    scored: Scored,
    params: RunParams,
    period: str,
    *,
    region: str = ALL_REGIONS,
    evaluation: Evaluation | None = None,
    published: pd.DataFrame | None = None,
) -> Strategy:
    """Churn warnings, the playbook's actions and recommendations, the next period's forecast and its backtest.

    With ``params.experiment.enabled``, each action's customers are split into treatment and control groups
    (seeded by ``experiment.seed``, ``period`` and ``region``); ``published`` (the assignments of this run as
    published before) are kept unless ``experiment.keep_published`` is false. With an ``evaluation`` that has
    enough evidence for an action, the action's expected return uses the learned uplift.
    """
    from analysis.strategy import experiment
    from analysis.strategy.actions import apply_playbook
    from analysis.strategy.churn import churn_warnings
    from analysis.strategy.forecast import backtest, segment_forecast
    from analysis.strategy.forecast import customer_forecast as per_customer
    from analysis.strategy.playbook import load_playbook

    window = Window(period)
    customers = scored.customers
    warnings = churn_warnings(customers, transactions=transactions, as_of=window.as_of)
    assumed = load_playbook(params.playbook)
    playbook = assumed
    if evaluation is not None and isinstance(evaluation.learned, pd.DataFrame):
        playbook = experiment.learned_playbook(assumed, evaluation.learned)

    def plan_for(who: pd.DataFrame) -> Any:
        return apply_playbook(
            who, playbook, stages=who["lifecycle_stage"], warnings=warnings, currency=params.currency
        )

    plan = plan_for(customers)
    ex = params.experiment
    groups: pd.DataFrame | Missing = Missing("experiment_disabled")
    held_out = 0
    if ex.enabled:
        split = experiment.assign_groups(
            plan.assignments, experiment.control_shares(assumed), seed=ex.seed, period=period, region=region
        )
        split["uplift_rate"] = split["action"].map({p.id: p.uplift_rate for p in assumed.plays()})
        if published is not None and ex.keep_published and len(published):
            split = experiment.keep_published(published, split)
        groups = split
        treated = experiment.treatment_list(split, plan.assignments).index
        held_out = len(customers) - len(treated)
        plan = plan_for(customers.loc[treated])
    nxt = window.next
    run_rate = customers.drop(columns=["expected_purchases", "expected_spend"], errors="ignore")
    forecast: pd.DataFrame | Missing = Missing("no_customers")
    if len(run_rate):
        forecast = segment_forecast(run_rate, horizon_days=int((nxt[1] - nxt[0]).days) + 1)
    bt: pd.DataFrame | Missing = Missing("no_previous")
    if not isinstance(scored.previous, Missing) and len(scored.previous):
        in_period = transactions[transactions["order_date"].dt.normalize() >= window.start]
        if in_period.empty:
            bt = Missing("no_sales_in_period")
        else:
            bt = backtest(
                per_customer(scored.previous, horizon_days=window.days), transactions, window.start, window.as_of
            )
    return Strategy(warnings, plan, forecast, nxt, bt, groups, held_out)


# ---------------------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """The measurement of an earlier period's actions (:mod:`analysis.strategy.experiment`).

    ``period_assigned``: the period whose assignments are measured (``experiment.window_months`` before this
    run's); ``window``: the first and last day measured (the months after ``period_assigned`` up to this run's
    last day). ``results``: one row per action (``action_results.csv``); ``learned``: per action, which uplift the
    recommendations use (the playbook's assumption, or the measurement shrunk towards it) and why. Both are
    :class:`Missing` when there is nothing to measure.
    """

    period_assigned: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    results: pd.DataFrame | Missing
    learned: pd.DataFrame | Missing


def evaluation(
    transactions: pd.DataFrame, earlier: pd.DataFrame | None, params: RunParams, period: str
) -> Evaluation:
    """Measure the actions assigned ``experiment.window_months`` periods before ``period``.

    ``earlier`` is that run's ``actions/assignments.parquet`` (None when it has none); ``transactions`` the run's
    (its region, up to the period's last day).
    """
    from analysis.strategy.experiment import learn_uplift, measure_uplift, measurement_window

    ex = params.experiment
    assigned = str(pd.Period(period, freq="M") - ex.window_months)
    window = measurement_window(assigned, ex.window_months)
    missing: Missing
    if not ex.enabled:
        missing = Missing("experiment_disabled")
    elif earlier is None or earlier.empty:
        missing = Missing("no_earlier_assignments", {"period": assigned})
    else:
        results = measure_uplift(earlier, transactions, *window)
        learned = learn_uplift(
            results,
            prior_sd=ex.prior_sd,
            min_group_customers=ex.min_group_customers,
            min_halfwidth=ex.min_halfwidth,
        )
        return Evaluation(assigned, window, results, learned)
    return Evaluation(assigned, window, missing, missing)


# ---------------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Summary:
    """The summary stage: headline KPIs (this period vs the previous one and a year ago), the top actions,
    customers at a glance and ``headline``, the figures of the index page (``headline.json``)."""

    headline_kpis: pd.DataFrame
    top_actions: pd.DataFrame
    glance: pd.DataFrame
    headline: dict[str, Any]


def summary(cleaned_: Cleaned, scored: Scored, segments: Segments, strategy_: Strategy, params: RunParams,
            period: str) -> Summary:  # fmt: skip
    """The executive summary of a run and the index page's figures."""
    from analysis.customers import kpi
    from analysis.strategy.executive import headline_kpis, top_actions

    window = Window(period)
    tx = cleaned_.transactions
    totals = kpi.kpi_totals(tx, window.start, window.as_of)
    head = headline_kpis(totals, kpi.kpi_totals(tx, *window.previous), kpi.kpi_totals(tx, *window.year_ago))
    plan = strategy_.plan
    top = top_actions(plan, 5, params.language)
    glance = segments.segments[["customers", "customer_share", "revenue", "revenue_share"]]
    customers = scored.customers
    headline: dict[str, Any] = {
        "rows": len(tx),
        "revenue_period": cleaned_.revenue_period,
        "customers": len(customers),
        "revenue": round(float(customers["monetary"].sum()), 2),
    }
    if scored.clv is None:
        headline["clv_total"] = round(float(customers["clv"].sum()), 2)
    if isinstance(scored.clusters, Clusters):
        headline["cluster_k"] = scored.clusters.k
        headline["cluster_stability"] = round(scored.clusters.stability, 3)
    return Summary(head, top, glance, headline)
