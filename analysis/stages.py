"""The pipeline's steps, one typed function each: clean → score → segment analysis → strategy → summary.

These are the only functions that compute a run. ``rfmkit score``/``clv``, the batch and the notebooks all call
them (the notebooks through :meth:`analysis.context.RunContext.stage`). Each returns a frozen dataclass of frames
and values; per-customer frames are indexed by ``customer_id`` and checked against :mod:`analysis.contract`.

A result that cannot be computed for a good reason (clustering off, too few customers, CLV not identifiable,
no previous period) is a :class:`Missing` value with a catalog key for the reason, which the notebook shows;
it is never a missing file that a later step trips over.

Time: a run covers one **period** (a calendar month ``YYYY-MM``); customers are scored as of its last day,
inclusive — or, when the data ends inside the period, as of the data's last day (params ``rfm.partial_period``,
see :class:`Window`). Money is in the currency of the source; recency in whole days.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.contract import validate_clean, validate_customers
from analysis.data.clean import CleanResult
from analysis.errors import InputError, ModelError, ParamsError
from analysis.missing import Missing
from analysis.params import RunParams
from analysis.privacy import public_message
from analysis.regions import ALL_REGIONS, region_name, run_rep
from analysis.window import Window, as_day, period_bounds, previous_end, too_short

if TYPE_CHECKING:
    from analysis.clv.pipeline import CLVResult, CustomerValue
    from analysis.customers.cohorts import CohortTable
    from analysis.customers.migration import MigrationResult
    from analysis.engines.base import ScoreInputs
    from analysis.strategy.actions import StrategyResult
    from analysis.strategy.cards import KpiCard
    from analysis.strategy.value import ValueAtStake

log = logging.getLogger(__name__)

#: Longest holdout of the CLV model check: the model is refitted up to this long before ``as_of`` (half the history in
#: whole weeks when shorter; :func:`analysis.clv.selection.holdout_window`).
CLV_HOLDOUT = pd.Timedelta(weeks=26)
#: Months of cohorts shown.
COHORT_MONTHS = 12


# ---------------------------------------------------------------------------------------------------- the window


def run_window(period: str, cleaned_: Cleaned, params: RunParams) -> Window:
    """The window of a run: ``period`` with the data's first and last day (whole input) and the params'
    ``rfm.partial_period`` rule."""
    return Window(period, cleaned_.data_start, cleaned_.data_end, params.rfm.partial_period, params.rfm.min_period_days)


# ---------------------------------------------------------------------------------------------------- clean


def scope(clean_tx: pd.DataFrame, as_of: pd.Timestamp, region: str = ALL_REGIONS) -> pd.DataFrame:
    """The transactions a run looks at: its ``region`` (unless ``all``; a rep's run: the rows sold by the rep,
    :func:`analysis.regions.rep_run`), up to ``as_of`` (inclusive)."""
    tx = clean_tx[clean_tx["order_date"].dt.normalize() <= as_of]
    if (rep := run_rep(region)) is not None:
        if "sales_rep" not in clean_tx:
            raise InputError("a rep's report asked for (reps:), but the data has no 'sales_rep' column; map one")
        tx = tx[tx["sales_rep"] == rep]
    elif region != ALL_REGIONS:
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

    ``result`` covers the whole input (cleaning runs once for all regions): a report shows its *counts* only
    (``quality``), labelled as the whole input's. ``transactions`` is the run's region up to the period's last
    day, **net**: the net log (:meth:`CleanResult.net`: each purchase lowered by the returns matched to it up to
    that day, fully cancelled lines gone), which every stage reads; ``gross`` the same purchases before netting.
    ``revenue_period`` the period's net revenue (currency): net purchases minus the returns matched to no purchase
    that occurred in it (:meth:`money`); ``outliers`` the flagged purchases among ``transactions``.
    ``quarantined``: the rows set aside that belong to the run's region (every row set aside for the all-regions
    run), as they came in; ``quarantined_elsewhere`` counts the other rows set aside
    (other regions' rows, and rows without a usable region, which a region's run cannot claim).
    """

    result: CleanResult
    transactions: pd.DataFrame
    revenue_period: float
    quarantined: pd.DataFrame = field(default_factory=pd.DataFrame)
    quarantined_elsewhere: int = 0
    #: the run's returns and cancellations (positive amounts, as cleaned): its region, up to the period's last day
    returns: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: first purchase day and last day (purchase or return) of the whole cleaned input (every region); None when
    #: it has no purchase
    data_start: pd.Timestamp | None = None
    data_end: pd.Timestamp | None = None
    #: the run's sales without a customer id (CleanResult.anonymous): its region, up to the period's last day
    anonymous: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the run's purchases before netting returns (its region, up to the period's last day)
    gross: pd.DataFrame = field(default_factory=pd.DataFrame)

    def money(self, first: pd.Timestamp, last: pd.Timestamp, outliers: bool = True) -> dict[str, float]:
        """``gross`` (purchases as placed), ``returns`` and ``net`` (= gross − returns) revenue from ``first`` to
        ``last`` (inclusive days; currency), see docs/cancellations.md: returns are those matched to the window's
        orders plus those matched to no purchase that occurred in the window. ``outliers=False``: without the
        flagged purchases (``is_outlier``)."""
        from analysis.data.cancellations import unmatched

        def total(frame: pd.DataFrame) -> float:
            if frame.empty:
                return 0.0
            day = frame["order_date"].dt.normalize()
            keep = (day >= first) & (day <= last)
            if not outliers and "is_outlier" in frame.columns:
                keep &= ~frame["is_outlier"].fillna(False).astype(bool)
            return float(frame.loc[keep, "amount"].sum())

        gross = total(self.gross if len(self.gross) or self.transactions.empty else self.transactions)
        net = total(self.transactions) - total(unmatched(self.returns).assign(is_outlier=False))
        return {"gross": round(gross, 2), "returns": round(gross - net, 2), "net": round(net, 2)}

    @property
    def outliers(self) -> pd.DataFrame:
        """The run's purchases flagged as unusually large or small (``is_outlier``)."""
        tx = self.transactions
        return tx[tx["is_outlier"]] if "is_outlier" in tx.columns else tx.iloc[:0]


def quarantined_in(quarantine: pd.DataFrame, region: str, region_column: str = "region") -> pd.DataFrame:
    """The rows of ``quarantine`` (raw rows, with ``row_id`` and ``reason``) that belong to ``region``.

    A raw row belongs to a region when its region cell, read as cleaning reads text (trimmed, control characters
    removed), is the region's name; the all-regions run gets every row. ``region_column`` is the source's name of
    the region column (the params' ``columns.region``).
    """
    if region == ALL_REGIONS:
        return quarantine
    if region_column not in quarantine.columns:
        return quarantine.iloc[:0]
    from analysis.data.clean import normalise_ids

    cells = normalise_ids(quarantine[region_column].astype("string"))
    return quarantine[(cells == region).fillna(False).to_numpy(dtype=bool)]


def cleaned(result: CleanResult, period: str, region: str = ALL_REGIONS, region_column: str = "region") -> Cleaned:
    """The clean stage: ``result`` scoped to ``period`` and ``region`` (see :class:`Cleaned`)."""
    start, as_of = period_bounds(period)
    gross = scope(result.clean, as_of, region)
    tx = result.net(as_of, gross).reset_index(drop=True)  # the net log: what every stage reads
    rep = run_rep(region)
    mine = quarantined_in(result.quarantine, region if rep is None else rep, region_column)
    ret = result.returns
    if len(ret):
        keep = ret["order_date"].dt.normalize() <= as_of
        if rep is not None:
            keep &= ret["sales_rep"] == rep if "sales_rep" in ret.columns else False
        elif region != ALL_REGIONS:
            keep &= ret["region"] == region if "region" in ret.columns else False
        ret = ret[keep].reset_index(drop=True)
    anon = result.anonymous
    if len(anon):
        keep = anon["order_date"].dt.normalize() <= as_of
        if rep is not None:
            keep &= anon["sales_rep"] == rep if "sales_rep" in anon.columns else False
        elif region != ALL_REGIONS:
            keep &= anon["region"] == region if "region" in anon.columns else False
        anon = anon[keep].reset_index(drop=True)
    days = result.clean["order_date"].dropna().dt.normalize()
    first, last = (days.min(), days.max()) if len(days) else (None, None)
    if last is not None and len(result.returns) and "order_date" in result.returns.columns:
        # the data end on their last row, purchase or return: a cancellation on the last day of the export lowers
        # that window's net revenue (docs/cancellations.md)
        last_return = result.returns["order_date"].dropna().dt.normalize().max()
        last = max(last, last_return) if pd.notna(last_return) else last
    quarantined = mine.reset_index(drop=True)
    out = Cleaned(
        result, tx, 0.0, quarantined, len(result.quarantine) - len(mine), ret, first, last, anonymous=anon, gross=gross
    )
    return replace(out, revenue_period=out.money(start, as_of)["net"])


# ---------------------------------------------------------------------------------------------------- score


@dataclass(frozen=True)
class CLVCheck:
    """The CLV model refitted up to ``calibration_end`` and compared with the known holdout purchases."""

    calibration_end: pd.Timestamp
    holdout_end: pd.Timestamp
    fit: CLVResult | None  # None: no purchase model could be fitted up to calibration_end (the run rate is checked)
    #: the run-rate estimate's table and errors when ``fit`` is None (else they are in ``fit``)
    run_rate_only: tuple[pd.DataFrame, dict[str, float]] | None = None

    @property
    def errors(self) -> dict[str, float]:
        """Holdout errors of the purchase model the predictions use (BG/NBD unless it could not be estimated,
        see ``fit.method``): ``expected_total``, ``actual_total``, ``total_error_share`` (a fraction),
        ``total_error_pct``, ``mae``."""
        return self.fit.holdout_errors[self.fit.method]

    @property
    def holdout_start(self) -> pd.Timestamp:
        """First day of the held-back purchases (the day after ``calibration_end``)."""
        return self.calibration_end + pd.Timedelta(days=1)

    @property
    def run_rate_errors(self) -> dict[str, float]:
        """The same errors of the run-rate estimate made at ``calibration_end`` (the fallback, backtested)."""
        return self.run_rate_only[1] if self.fit is None else self.fit.holdout_errors["run_rate"]

    def by_frequency(self) -> pd.DataFrame:
        """Holdout purchases per customer by calibration frequency bucket (``0`` … ``7+`` repeat purchases):
        ``customers``, ``holdout_actual``, ``holdout_expected`` (the purchase model the run uses) and
        ``holdout_expected_run_rate`` (the run-rate estimate made at ``calibration_end``)."""
        t = self.run_rate_only[0] if self.fit is None else self.fit.holdout_by_frequency
        out = {"customers": t["customers"].astype(int), "holdout_actual": t["actual"]}
        if self.fit is not None:
            out["holdout_expected"] = t[f"expected_{self.fit.method}"]
        out["holdout_expected_run_rate"] = t["expected_run_rate"]
        return pd.DataFrame(out)


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
    #: how the CLV columns were obtained (analysis.clv.pipeline.CustomerValue: method, reason_text(language),
    #: p_alive_informative); None when they are missing
    clv_value: CustomerValue | None = None
    #: the period is the data's first (it starts on or after the period's first day): nobody is called *new*,
    #: customers who first bought in it are ``active`` (their earlier purchases, if any, are not in the data)
    left_censored: bool = False
    #: the returns matched to no purchase per customer over the scoring window (currency, positive; index
    #: ``customer_id``): the ABC tier's net spend is ``monetary`` − this (:func:`analysis.customers.tiers.net_abc`)
    returned: pd.Series | None = None


def score_inputs(
    source: pd.DataFrame | str | Path,
    params: RunParams,
    as_of: str | pd.Timestamp,
    period_start: str | pd.Timestamp | None = None,
    engine: str | None = None,
) -> ScoreInputs:
    """What :func:`score` takes from the log (:class:`analysis.engines.base.ScoreInputs`), computed by the engine
    ``engine`` (default ``params.engine``; ``auto`` picks by the input's size; the registry says which engines can
    score, see :mod:`analysis.engines`).

    ``source`` is the clean transactions: a frame, or a clean Parquet/CSV file, folder or glob that the engine
    reads itself. Only rows on or before ``as_of`` count.
    """
    from analysis.engines import ENGINES, ScoreRequest, get_engine

    # what each engine can do is declared in the registry: an engine named here that cannot score is an error
    # naming those that can; one from the params that cannot is replaced by auto (logged)
    name = ENGINES.resolve("score", engine, params.engine_options, source, default=params.engine)
    as_of = as_day(as_of)
    request = ScoreRequest(
        as_of, previous_end(as_of, period_start), params.rfm.lookback_days, params.clv.time_unit,
        params.cleaning.timezone,
    )  # fmt: skip
    with get_engine(name, params.engine_options) as eng:
        log.debug("score inputs as of %s on the %s engine", as_of.date(), name)
        return eng.score_inputs(source, request)


def score(
    transactions: pd.DataFrame | str | Path,
    params: RunParams,
    as_of: str | pd.Timestamp,
    period_start: str | pd.Timestamp | None = None,
    *,
    clv_check: bool = True,
    data_start: str | pd.Timestamp | None = None,
    engine: str | None = None,
    inputs: ScoreInputs | None = None,
    previous_scores: bool = True,
    returns: pd.DataFrame | None = None,
) -> Scored:
    """Score the customers of ``transactions`` as of ``as_of`` (inclusive).

    ``period_start`` is the first day of the period (default: the first day of ``as_of``'s month): the lifecycle
    calls a customer *new* or *reactivated* for a purchase from that day on, and ``previous`` scores the customers
    as of the day before. ``clv_check`` refits the CLV model on the data up to :data:`CLV_HOLDOUT` before ``as_of``
    and predicts the rest (the report's model check); ``rfmkit score`` leaves it out, and the previous period's
    scores (``previous_scores=False``: ``previous`` is then ``Missing("previous_off")``). ``data_start``, the first
    day of the data (whole input): when it is on or after ``period_start`` the period is left-censored and the
    lifecycle calls nobody *new* (see :attr:`Scored.left_censored`).

    The per-customer summaries (RFM now and at the previous period's end, BTYD, lifecycle facts) come from one
    pass of the engine ``engine`` (default ``params.engine``) over ``transactions`` — a frame, or a clean
    Parquet/CSV file, folder or glob that the engine reads itself (:func:`score_inputs`; ``inputs`` when they
    were computed already). Every engine gives the same customers.

    ``returns`` (the run's :attr:`Cleaned.returns`; only those matched to no purchase count) decides the ABC tier
    once, on net spend over the scoring window (:func:`analysis.customers.tiers.net_tiers`: net spend at or below
    zero is tier C), in customers.csv, the segments' tables and the actions alike.
    """
    from analysis.customers.enrich import add_segmentation, clv_value, min_cluster_customers
    from analysis.customers.rfm import score_summary

    as_of = as_day(as_of)
    prev_end = previous_end(as_of, period_start)
    start = prev_end + pd.Timedelta(days=1)
    if inputs is None:
        inputs = score_inputs(transactions, params, as_of, start, engine)
    log_frame = _log_loader(transactions, as_of)
    res = score_summary(inputs.rfm, as_of, params.rfm)
    customers = res.customers
    clv_missing: Missing | None = None
    value = None
    if not params.clv.enabled:
        clv_missing = Missing("clv_disabled")
    elif customers.empty:
        clv_missing = Missing("no_customers")
    else:
        try:
            if inputs.btyd is None:
                raise InputError(inputs.btyd_error or "no BTYD summary")
            value = clv_value(log_frame, as_of, params.clv, summary=inputs.btyd, run_rate_facts=inputs.run_rate)
            customers = customers.join(value.customers, how="left")
        except (ModelError, InputError) as err:
            value = None
            # read only when the message quotes a literal (arrays: no per-element walk of an Arrow index)
            ids = chain(
                customers.index.to_numpy(dtype=object),
                () if inputs.btyd is None else inputs.btyd.index.to_numpy(dtype=object),
            )
            detail = public_message(err, ids, params.privacy.key_file)  # no raw id in a report or log
            clv_missing = Missing("clv_not_identifiable", {"detail": detail})
            log.info("CLV skipped as of %s: %s", as_of.date(), detail)
    seg = add_segmentation(customers, None, as_of, prev_end, params.segmentation, lifecycle=inputs.lifecycle)
    censored = data_start is not None and as_day(data_start) >= start
    segmented = seg.customers
    if censored and "lifecycle_stage" in segmented.columns:
        segmented = segmented.assign(lifecycle_stage=segmented["lifecycle_stage"].replace("new", "active"))
    customers = validate_customers(segmented, f"customers scored as of {as_of.date()}")
    returned = None
    if returns is not None and len(returns) and len(customers) and "abc_class" in customers.columns:
        from analysis.customers.tiers import net_tiers
        from analysis.strategy.value import returns_by_customer

        lookback = params.rfm.lookback_days  # the window of RFM monetary
        since = as_of - pd.Timedelta(days=lookback) if lookback else None
        returned = returns_by_customer(returns, as_of, since)
        if len(returned):
            tiers = net_tiers(customers, returned, tuple(params.segmentation.abc))
            customers = customers.assign(abc_class=tiers)
    if seg.clusterer is None:
        floor = min_cluster_customers(params.segmentation)
        clusters: Clusters | Missing = Missing(seg.skipped or "too_few_customers", {"n": len(customers), "min": floor})
    else:
        c = seg.clusterer
        clusters = Clusters(
            int(c.k_), float(c.stability_), c.profile_, c.silhouette_scores_.to_frame(), c.snake_data(customers)
        )
    previous: pd.DataFrame | Missing = (
        Missing("previous_off")
        if not previous_scores
        else score_summary(inputs.rfm_previous, prev_end, params.rfm).customers
        if inputs.rfm_previous is not None
        else Missing("no_previous")
    )
    choice = getattr(value, "penalizer_choice", None)
    check: CLVCheck | Missing = (
        _clv_check(log_frame(), as_of, params, choice) if clv_check else Missing("clv_check_off")
    )
    return Scored(as_of, customers, previous, res.cut_points, clv_missing, clusters, check, value, censored, returned)


def _log_loader(source: pd.DataFrame | str | Path, as_of: pd.Timestamp) -> Callable[[], pd.DataFrame]:
    """The clean transactions up to ``as_of`` as a frame, read only when asked (by a CLV fallback or the model
    check) when ``source`` is a file the engine read itself."""
    if isinstance(source, pd.DataFrame):
        return lambda: source
    from analysis.engines.pandas_engine import read_clean

    def load() -> pd.DataFrame:
        tx = read_clean(source)
        return tx[tx["order_date"].dt.normalize() <= as_of].reset_index(drop=True)

    return load


def clv_models(
    transactions: pd.DataFrame,
    calibration_end: str | pd.Timestamp,
    holdout_end: str | pd.Timestamp | None = None,
    *,
    time_unit: str = "W",
    penalizer: Any = 0.0,
    horizon: float | None = None,
    discount_rate: float | None = None,
) -> CLVResult:
    """Fit BG/NBD, Pareto/NBD and Gamma-Gamma on the purchases up to ``calibration_end`` and predict every
    customer; with ``holdout_end``, compare with the purchases after it (``rfmkit clv`` and the model check).

    Times, horizon and discount rate are in ``time_unit`` (``D``, ``W`` or ``M``); ``penalizer`` a number, ``"auto"``
    (chosen by the holdout error on the history up to ``calibration_end``) or a choice made already. Returns
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


def _clv_check(
    transactions: pd.DataFrame, as_of: pd.Timestamp, params: RunParams, choice: Any = None
) -> CLVCheck | Missing:
    """The model check: the models refitted on the history up to the holdout's start (the split the penalizer was
    chosen on, :func:`analysis.clv.selection.holdout_window`) with the run's penalizer, and compared with the
    purchases after it, beside the run-rate estimate made at the same day. A plain sentence instead when the history
    is too short to hold part of it back or no model can be fitted on the part before (never an error's text)."""
    from analysis.clv.selection import MIN_HOLDOUT_DAYS, history_days, holdout_window

    if not params.clv.enabled:
        return Missing("clv_disabled")
    days = transactions["order_date"].dt.normalize()
    days = days[days <= as_of]
    if days.empty:
        return Missing("no_customers")
    split = holdout_window(days.min(), as_of)
    if split is None:
        return Missing("clv_check_short", {"days": history_days(days.min(), as_of), "need": 2 * MIN_HOLDOUT_DAYS})
    calibration_end = split[0]
    if choice is None or getattr(choice, "code", "") != "holdout":
        choice = params.clv.penalizer if choice is None else choice.penalizer
    try:
        fit = clv_models(transactions, calibration_end, as_of, time_unit=params.clv.time_unit, penalizer=choice)
    except (ModelError, InputError) as err:
        log.info("CLV model check: no model up to %s (%s)", calibration_end.date(), getattr(err, "code", type(err)))
        from analysis.clv.pipeline import run_rate_backtest
        from analysis.clv.summary import summary_from_transactions

        try:  # the run-rate fallback needs no model: it is still checked
            summary = summary_from_transactions(transactions, calibration_end, as_of, params.clv.time_unit)
            return CLVCheck(calibration_end, as_of, None, run_rate_backtest(transactions, summary))
        except (ModelError, InputError):
            return Missing("clv_check_failed", {"date": str(calibration_end.date())})
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
    ``kpi_by_attribute``: the same KPIs by customer attribute (with an attributes input; ``small`` marks rows of
    fewer than ``report.min_customers`` customers, whose figures are blank).
    """

    segments: pd.DataFrame
    value_classes: pd.DataFrame
    abc: pd.DataFrame
    abc_summary: pd.DataFrame
    lifecycle_stages: pd.DataFrame
    lifecycle: pd.DataFrame
    migration: MigrationResult | Missing
    value_class_migration: MigrationResult | Missing
    cohorts: CohortTable | Missing
    kpi_by_segment: pd.DataFrame
    kpi_by_dimension: dict[str, pd.DataFrame]
    sales_reps: pd.DataFrame | Missing
    #: graded KPIs by customer attribute (params grading.dimensions; an attributes input), small rows marked
    kpi_by_attribute: dict[str, pd.DataFrame] = field(default_factory=dict)


def _kpi_columns(frame: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    return frame[[c for c in (*extra, *KPI_COLUMNS) if c in frame.columns]]


#: KPI report columns that rest on each comparison (NaN when the comparison has no data).
_COMPARED: dict[str, tuple[str, ...]] = {
    "previous": ("retention_rate", "churn_rate", "revenue_prev", "revenue_growth", "orders_prev", "orders_growth",
                 "customers_prev", "customers_growth"),
    "year_ago": ("revenue_yoy", "revenue_yoy_growth", "orders_yoy", "orders_yoy_growth", "customers_yoy",
                 "customers_yoy_growth"),
}  # fmt: skip


def _honest_kpis(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    """A KPI report without the figures the data cannot give (see :meth:`Window.unavailable`): comparisons
    before the data starts, and new customers in a left-censored period, are NaN (shown as "–")."""
    missing = window.unavailable()
    cols = [c for w in ("previous", "year_ago") if w in missing for c in _COMPARED[w]]
    cols += ["new_customers"] if "new_customers" in missing else []
    cols = [c for c in cols if c in frame.columns]
    if not cols:
        return frame
    out = frame.copy()
    out[cols] = out[cols].astype(float)
    out.loc[:, cols] = float("nan")
    return out


def _scored_at(transactions: pd.DataFrame, as_of: pd.Timestamp, params: RunParams) -> pd.DataFrame:
    """The customers as RFM-scored at ``as_of`` (empty, with a ``segment`` column, when nobody had bought)."""
    from analysis.customers.rfm import score_customers

    before = transactions[transactions["order_date"].dt.normalize() <= as_of]
    if before.empty:
        return pd.DataFrame({"segment": pd.Series(dtype=object)}, index=pd.Index([], name="customer_id"))
    return score_customers(before, as_of, params.rfm).customers


def _with_tiers(customers: pd.DataFrame | Missing, params: RunParams) -> pd.DataFrame:
    """Customers scored at an earlier period's end, with that day's ABC tier (``abc_class``), for following them."""
    from analysis.customers import tiers

    if isinstance(customers, Missing) or customers.empty or "monetary" not in customers.columns:
        return pd.DataFrame({"segment": pd.Series(dtype=object)}, index=pd.Index([], name="customer_id"))
    return customers.join(tiers.abc_classes(customers, params.segmentation.abc)[["abc_class"]])


def period_spend(transactions: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> pd.Series:
    """Each customer's spend from ``first`` to ``last`` (inclusive days; currency), index ``customer_id``."""
    day = transactions["order_date"].dt.normalize()
    inside = transactions[(day >= first) & (day <= last)]
    return inside.groupby("customer_id")["amount"].sum()


def segment_analysis(
    transactions: pd.DataFrame,
    scored: Scored,
    params: RunParams,
    period: str,
    *,
    window: Window | None = None,
    attributes: pd.DataFrame | None = None,
    region: str = ALL_REGIONS,
) -> Segments:
    """Summaries, tiers, lifecycle over time, migration, cohorts and graded KPIs of a scored run.

    In a region's run (``region``) the KPI tables' ``new_customers`` count first purchases in this region and
    carry ``attrs[SCOPE_ATTR] == "region"`` (:data:`analysis.strategy.executive.SCOPE_ATTR`), so that
    :func:`analysis.report.tables.styled` labels the column "new to this region", as the headline does.

    ``attributes``: the customers' attributes (the cleaned attributes input, :mod:`analysis.grading.inputs`): the
    graded KPIs by each attribute of params ``grading.dimensions`` (``kpi_by_attribute``; attributes are fixed per
    customer, so the windows compared are grouped by the same values), rows of fewer than ``report.min_customers``
    customers without figures (:func:`analysis.grading.attributes.suppress_small`).

    ``window`` (default: the calendar ``period``) says which days are this period and which are compared
    (:class:`Window`): the KPIs compare the same number of days, comparisons before the data are NaN, and in
    a left-censored period the new-customer counts are NaN and the lifecycle calls nobody new. The revenue of
    the migration is this period's spend (the *(gone)* column: the previous window's).
    """
    from analysis.customers import kpi, tiers
    from analysis.customers.cohorts import cohort_table
    from analysis.customers.lifecycle import lifecycle_over_periods, stage_counts
    from analysis.customers.migration import migration
    from analysis.customers.summaries import segment_summary, value_class_summary

    window = window or Window(period)
    customers = scored.customers
    # revenue per tier: net spend incl. the returns matched to no purchase, the figure the tier is decided on
    abc = tiers.net_abc(customers, scored.returned, params.segmentation.abc)
    if "abc_class" in customers.columns:  # the tier the score stage decided (net of returns), one per customer
        abc = abc.assign(abc_class=customers["abc_class"].reindex(abc.index).to_numpy())
    lc = params.segmentation.lifecycle
    ends = window.recent_ends()
    wide = lifecycle_over_periods(
        transactions,
        ends,
        first_period_start=previous_end(ends[0]),  # the day before the first period
        dormant_multiple=lc.dormant_multiple,
        dormant_days=lc.dormant_days,
        lost_multiple=lc.lost_multiple,
        lost_days=lc.lost_days,
    )
    if window.data_start is not None:  # the data's first period: first purchases in it are not known to be first
        for end in wide.columns:
            if pd.Period(end, freq="M").start_time.normalize() <= window.data_start.normalize():
                wide[end] = wide[end].replace("new", "active")
    if isinstance(scored.previous, Missing) or customers.empty:
        why: Missing = scored.previous if isinstance(scored.previous, Missing) else Missing("no_customers")
        mig: MigrationResult | Missing = why
        vc_mig: MigrationResult | Missing = mig
    else:  # revenue: this period's spend (and the previous window's for the customers gone)
        now = customers.assign(period_spend=period_spend(transactions, window.start, window.as_of))
        before = scored.previous.assign(period_spend=period_spend(transactions, *window.previous))
        now["period_spend"] = now["period_spend"].fillna(0.0)
        before["period_spend"] = before["period_spend"].fillna(0.0)
        mig = migration(before, now, "segment", value_column="period_spend")
        vc_mig = migration(before, now, "value_class", value_column="period_spend")
    compared = {"previous": window.previous, "year_ago": window.year_ago}
    cohorts: CohortTable | Missing = (
        cohort_table(transactions, as_of=window.as_of, max_months=COHORT_MONTHS)
        if len(transactions)
        else Missing("no_customers")
    )
    # segments and tiers of the previous period (and a year before) are followed into this one, not re-read
    # with today's: see analysis.customers.kpi
    year_ago = _scored_at(transactions, window.year_ago[1], params)
    followed = {
        "previous_customers": _with_tiers(scored.previous, params),
        "year_ago_customers": _with_tiers(year_ago, params),
    }
    by_segment = kpi.sales_report(
        transactions, window.start, window.as_of, by=("segment",), customers=customers, **followed, **compared
    )
    dims = [d for d in ("region", "channel", "product_line") if d in transactions.columns]
    by_dim = {
        d: _kpi_columns(
            kpi.sales_report(
                transactions,
                window.start,
                window.as_of,
                by=("abc_class", d),
                customers=customers,
                **followed,
                **compared,
            )
        )
        for d in dims
    }
    reps: pd.DataFrame | Missing = Missing("no_sales_reps")
    if "sales_rep" in transactions.columns:
        reps = _kpi_columns(kpi.sales_rep_report(transactions, window.start, window.as_of, **compared), ("rank",))
    by_segment = _honest_kpis(by_segment, window)
    by_dim = {d: _honest_kpis(frame, window) for d, frame in by_dim.items()}
    by_attribute: dict[str, pd.DataFrame] = {}
    if attributes is not None:
        from analysis.grading import attributes as attrs

        wanted = params.grading.dimensions
        chosen = [d for d in attrs.dimensions(attributes) if wanted is None or d in wanted]
        with_attrs = attrs.joined(customers, attributes)
        follow = {k: attrs.joined(v, attributes) for k, v in followed.items()}
        for d in chosen:
            report = kpi.sales_report(
                transactions, window.start, window.as_of, by=(d,), customers=with_attrs, **follow, **compared
            )
            report = _honest_kpis(_kpi_columns(report), window)
            by_attribute[d] = attrs.suppress_small(report, params.report.min_customers)
    if isinstance(reps, pd.DataFrame):
        reps = _honest_kpis(reps, window)
    by_segment = _kpi_columns(by_segment)
    if region != ALL_REGIONS and run_rep(region) is None:  # "new" in a region's KPI tables: new to this region
        from analysis.strategy.executive import SCOPE_ATTR

        for frame in (by_segment, *by_dim.values(), *by_attribute.values()):
            frame.attrs[SCOPE_ATTR] = "region"
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
        kpi_by_segment=by_segment,
        kpi_by_dimension=by_dim,
        sales_reps=reps,
        kpi_by_attribute=by_attribute,
    )


# ---------------------------------------------------------------------------------------------------- strategy


@dataclass(frozen=True)
class Strategy:
    """The strategy stage.

    ``warnings``: per customer (index ``customer_id``), the churn-warning flag and its reason. ``plan``: the
    playbook applied (assignments, actions, per-segment view, recommendations). ``forecast``: expected purchases
    and revenue per segment over the next period (the purchase model's conditional expectation where it fits,
    else the run rate: purchases per day of tenure × the next period's days; spend net of returns; the method
    whose backtest erred less, ``forecast_methods``). ``backtest``: that method applied at the previous period's
    end (the model refitted on the history up to then), compared with this period's actual purchases (revenue net
    of returns), by segment; ``backtest_by_frequency`` by the orders
    customers had then (:func:`analysis.strategy.forecast.frequency_bucket`). ``value``: the value at stake per
    customer and its basis (:mod:`analysis.strategy.value`). ``groups``: every assigned customer's action and
    group (``treatment``/``control``; see :func:`analysis.strategy.experiment.assign_groups`), and ``held_out`` the
    customers in control groups: ``plan`` (the CRM lists, budgets and expected returns) covers the treatment groups
    only.
    """

    warnings: pd.DataFrame
    plan: StrategyResult
    forecast: pd.DataFrame | Missing
    forecast_window: tuple[pd.Timestamp, pd.Timestamp]
    backtest: pd.DataFrame | Missing
    groups: pd.DataFrame | Missing = field(default_factory=lambda: Missing("experiment_disabled"))
    held_out: int = 0
    value: ValueAtStake | None = None  # per customer, net of returns, with its basis
    backtest_by_frequency: pd.DataFrame | Missing = field(default_factory=lambda: Missing("no_previous"))
    #: both forecast methods backtested on this period (:func:`analysis.strategy.forecast.choose_method`): which was
    #: used for ``forecast``, ``backtest`` and ``backtest_by_frequency`` and why
    forecast_methods: pd.DataFrame | Missing = field(default_factory=lambda: Missing("no_previous"))

    @property
    def forecast_method(self) -> str:
        """``model`` (the purchase model's expected purchases) or ``run_rate``."""
        if isinstance(self.forecast, pd.DataFrame) and "method" in self.forecast.columns and len(self.forecast):
            return str(self.forecast["method"].iloc[0])
        return "run_rate"


def strategy(
    transactions: pd.DataFrame,
    scored: Scored,
    params: RunParams,
    period: str,
    *,
    region: str = ALL_REGIONS,
    evaluation: Evaluation | None = None,
    published: pd.DataFrame | None = None,
    returns: pd.DataFrame | None = None,
    window: Window | None = None,
    satisfaction: pd.DataFrame | None = None,
) -> Strategy:
    """Churn warnings, the playbook's actions and recommendations, the next period's forecast and its backtest.

    ``satisfaction``: the customers' satisfaction measures over the scoring window (a feedback input;
    :func:`analysis.grading.stage.read_inputs`): the playbook's service-recovery play reaches the valuable but
    unhappy ones and churn reasons cite a bad score or a complaint; None: that play says it cannot be targeted.

    Value at stake (``value``) is the CLV of the purchase models, else the run-rate estimate, net of ``returns``
    (the cleaned returns, :attr:`Cleaned.returns`) — never all-time spend (:mod:`analysis.strategy.value`);
    churn warnings and actions use the same values and net spend.

    With ``params.experiment.enabled``, each action's customers are split into treatment and control groups
    (seeded by ``experiment.seed``, ``period`` and ``region``); ``published`` (the assignments of this run as
    published before) are kept unless ``experiment.keep_published`` is false. With an ``evaluation`` that has
    enough evidence for an action, the action's expected return uses the learned uplift.
    """
    from analysis.data.cancellations import unmatched
    from analysis.strategy import experiment
    from analysis.strategy.actions import apply_playbook
    from analysis.strategy.churn import churn_warnings
    from analysis.strategy.forecast import (
        CLV_FORECAST_COLUMNS,
        backtest,
        choose_method,
        frequency_bucket,
        model_forecast,
        orders_per_occasion,
        segment_forecast,
    )
    from analysis.strategy.forecast import customer_forecast as per_customer
    from analysis.strategy.playbook import load_playbook
    from analysis.strategy.value import net_spend, returns_by_customer

    window = window or Window(period)  # the run's window (a partial period: as of the data's last day)
    # the transactions are the net log (returns matched to their orders netted once, by the clean stage): only the
    # returns matched to no purchase are left to net from a customer's spend here
    returns = unmatched(returns) if returns is not None else None
    customers = scored.customers
    value = _value_at_stake(customers, transactions, scored, params, window.as_of, returns)
    # the ABC tier is the score stage's (net spend <= 0 is tier C there: analysis.customers.tiers.net_tiers)
    warnings = churn_warnings(
        customers, transactions=transactions, as_of=window.as_of, value=value, satisfaction=satisfaction,
        unhappy_below=params.grading.unhappy_below,
    )  # fmt: skip
    assumed = load_playbook(params.playbook)
    playbook = assumed
    if evaluation is not None and isinstance(evaluation.learned, pd.DataFrame):
        playbook = experiment.learned_playbook(assumed, evaluation.learned)

    def plan_for(who: pd.DataFrame) -> StrategyResult:
        return apply_playbook(
            who, playbook, stages=who["lifecycle_stage"], warnings=warnings, currency=params.currency, value=value,
            satisfaction=satisfaction,
        )  # fmt: skip

    plan = plan_for(customers)
    untargeted = plan.untargeted  # judged on every customer: a play whose audience all went to control is targeted
    ex = params.experiment
    groups: pd.DataFrame | Missing = field(default_factory=lambda: Missing("experiment_disabled"))
    held_out = 0
    if ex.enabled:
        split = experiment.assign_groups(
            plan.assignments,
            experiment.control_shares(assumed),
            seed=ex.seed,
            period=period,
            region=region_name(region),
        )
        split["uplift_rate"] = split["action"].map({p.id: p.uplift_rate for p in assumed.plays()})
        if published is not None and ex.keep_published and len(published):
            split = experiment.keep_published(published, split)
        groups = split
        treated = experiment.treatment_list(split, plan.assignments).index
        held_out = len(customers) - len(treated)
        plan = replace(plan_for(customers.loc[treated]), untargeted=untargeted)
    nxt = window.next
    # the forecast on net spend (returns netted): the purchase model's expected purchases where it fits, else the
    # run rate; both are made at the previous period's end and backtested on this one, the smaller error is used
    run_rate = customers.drop(columns=list(CLV_FORECAST_COLUMNS), errors="ignore")
    run_rate = run_rate.assign(monetary=value.monetary_net.reindex(run_rate.index))
    model_now = _purchase_model(scored)
    method = "model" if model_now is not None else "run_rate"
    methods: pd.DataFrame | Missing = Missing("no_previous")
    bt: pd.DataFrame | Missing = Missing("no_previous")
    bt_frequency: pd.DataFrame | Missing = Missing("no_previous")
    if (short := window.short()) is not None:  # the minimum-data rule: too few days to check a forecast on
        bt = bt_frequency = methods = short
    elif not isinstance(scored.previous, Missing) and len(scored.previous):
        in_period = transactions[transactions["order_date"].dt.normalize() >= window.start]
        if in_period.empty:
            bt = bt_frequency = methods = Missing("no_sales_in_period")
        else:
            before = scored.previous
            prev_returns = returns_by_customer(returns, window.previous[1])
            before = before.assign(monetary=net_spend(before, prev_returns)["monetary_net"])
            made = {}
            if model_now is not None:
                then = _purchase_model_as_of(model_now, transactions, window.start - pd.Timedelta(days=1))
                if then is not None:
                    ratio = orders_per_occasion(transactions, window.start - pd.Timedelta(days=1))
                    made["model"] = model_forecast(
                        before, then[0], then[1], horizon_days=window.days, orders_per_occasion=ratio
                    )
            made["run_rate"] = per_customer(before, horizon_days=window.days)
            for f in made.values():
                f["frequency_bucket"] = frequency_bucket(before["frequency"])
            tested = {
                m: backtest(f, transactions, window.start, window.as_of, returns=returns) for m, f in made.items()
            }
            methods = choose_method(tested)
            method = str(methods.index[methods["chosen"]][0])
            bt = tested[method]
            bt_frequency = backtest(
                made[method], transactions, window.start, window.as_of, "frequency_bucket", returns=returns
            )
    forecast: pd.DataFrame | Missing = Missing("no_customers")
    if len(run_rate):
        horizon = int((nxt[1] - nxt[0]).days) + 1
        per = None
        if method == "model":
            from analysis.clv.summary import summary_from_transactions

            now = summary_from_transactions(transactions, window.as_of, None, model_now.time_unit_)
            ratio = orders_per_occasion(transactions, window.as_of)
            per = model_forecast(run_rate, model_now, now, horizon_days=horizon, orders_per_occasion=ratio)
        forecast = segment_forecast(run_rate, horizon_days=horizon, forecast=per)
    return Strategy(warnings, plan, forecast, nxt, bt, groups, held_out, value, bt_frequency, forecast_methods=methods)


def _purchase_model(scored: Scored) -> Any:
    """The fitted purchase model behind the run's CLV (None for the run-rate estimate or without CLV)."""
    value = scored.clv_value
    return None if value is None or value.method == "run_rate" else value.transaction_model


def _purchase_model_as_of(model: Any, transactions: pd.DataFrame, day: pd.Timestamp) -> tuple[Any, pd.DataFrame] | None:
    """The same purchase model (class, penalizer) refitted on the history up to ``day`` with its summary, for an
    honest backtest (the run's own fit has seen the period it would be tested on); None when it cannot be fitted."""
    from analysis.clv.summary import summary_from_transactions

    try:
        summary = summary_from_transactions(transactions, day, None, model.time_unit_)
        return type(model)(penalizer=model.penalizer_, seed=model.seed).fit(summary), summary
    except (ModelError, InputError) as err:
        log.info("forecast backtest: the purchase model cannot be fitted up to %s (%s)", day.date(), err)
        return None


def _value_at_stake(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    scored: Scored,
    params: RunParams,
    as_of: pd.Timestamp,
    returns: pd.DataFrame | None,
) -> ValueAtStake:
    """:func:`analysis.strategy.value.value_at_stake` with the run's settings (RFM window, CLV horizon)."""
    from analysis.strategy.value import value_at_stake

    lookback = params.rfm.lookback_days
    method = getattr(scored.clv_value, "method", None)
    return value_at_stake(
        customers,
        returns=returns,
        transactions=transactions,
        as_of=as_of,
        since=as_of - pd.Timedelta(days=lookback) if lookback else None,
        method=method,
        time_unit=params.clv.time_unit,
        horizon=params.clv.horizon,
        discount_rate=params.clv.discount_rate,
    )


# ---------------------------------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Evaluation:
    """The measurement of an earlier period's actions (:mod:`analysis.strategy.experiment`).

    ``period_assigned``: the period whose assignments are measured (``experiment.window_months`` before this
    run's); ``window``: the first and last day measured (the months after ``period_assigned`` up to this run's
    last day). ``results``: one row per action (``action_results.csv``); ``learned``: per action, which uplift the
    recommendations use (the playbook's assumption, or the measurement shrunk towards it) and why. Both are
    :class:`Missing` when there is nothing to measure. ``not_sent``: the actions assigned in ``period_assigned``
    with no record that they were sent (``rfmkit confirm-actions``), which are not measured.
    """

    period_assigned: str
    window: tuple[pd.Timestamp, pd.Timestamp]
    results: pd.DataFrame | Missing
    learned: pd.DataFrame | Missing
    not_sent: tuple[str, ...] = ()


def evaluation(
    transactions: pd.DataFrame,
    earlier: pd.DataFrame | None,
    params: RunParams,
    period: str,
    *,
    as_of: pd.Timestamp | None = None,
    sent: pd.DataFrame | None = None,
    data_end: pd.Timestamp | None = None,
) -> Evaluation:
    """Measure the actions assigned ``experiment.window_months`` periods before ``period`` that were sent.

    ``earlier`` is that run's ``actions/assignments.parquet`` (None when it has none); ``sent`` its
    ``actions/sent.parquet`` (the customers ``rfmkit confirm-actions`` recorded as sent; None: nothing was
    confirmed, so nothing is measured); ``transactions`` the run's (its region, up to its scoring day ``as_of``).
    When the data end inside the period (a partial period scored as of the data's last day), the window ends on
    ``as_of`` too, and says so. The minimum-data rule (:func:`analysis.window.too_short`): when the data (up to
    ``data_end``, the data's last day) cover fewer than ``rfm.min_period_days`` days of the measurement window,
    nothing is measured, for that reason.
    """
    from analysis.strategy.experiment import (
        learn_uplift,
        measure_uplift,
        measurement_window,
        sent_groups,
        with_reliability,
    )

    ex = params.experiment
    assigned = str(pd.Period(period, freq="M") - ex.window_months)
    start, end = measurement_window(assigned, ex.window_months)
    window = (start, min(end, as_day(as_of)) if as_of is not None else end)
    last = window[1] if data_end is None else min(window[1], as_day(data_end))
    short = too_short(max(0, int((last - start).days) + 1), params.rfm.min_period_days)
    missing: Missing
    if not ex.enabled:
        missing = Missing("experiment_disabled")
    elif short is not None:
        missing = short
    elif earlier is None or earlier.empty:
        missing = Missing("no_earlier_assignments", {"period": assigned})
    else:
        measured, not_sent = sent_groups(earlier, sent)
        if measured.empty:
            missing = Missing("actions_not_sent", {"period": assigned})
            return Evaluation(assigned, window, missing, missing, tuple(not_sent))
        measurement = measure_uplift(measured, transactions, *window)
        results = with_reliability(measurement, ex.min_group_orders, params.language)
        learned = learn_uplift(
            results,
            prior_sd=ex.prior_sd,
            min_group_customers=ex.min_group_customers,
            min_halfwidth=ex.min_halfwidth,
        )
        return Evaluation(assigned, window, results, learned, tuple(not_sent))
    return Evaluation(assigned, window, missing, missing)


# ---------------------------------------------------------------------------------------------------- summary


@dataclass(frozen=True)
class Summary:
    """The summary stage: headline KPIs (this period vs the previous one and a year ago, each cut to the days scored),
    the top actions, customers at a glance and ``headline``, the figures of the index page (``headline.json``).

    ``headline_kpis``: :func:`analysis.strategy.executive.headline_kpis`, with the figures without flagged orders
    beside the totals when any window has flagged orders (:func:`~analysis.strategy.executive.with_unflagged`).
    ``unavailable``: why a comparison (``previous``, ``year_ago``) or a KPI (``new_customers``) has no data
    (shown instead of it, :meth:`unavailable_text`). ``notes``: sentences under the headline table in the
    params' language (the windows compared, a partial or left-censored period, flagged orders that drive a
    change). ``glance``: per segment, customers, this period's revenue and the spend to date (all history up to
    ``as_of``), with ``glance_notes`` saying so.
    """

    headline_kpis: pd.DataFrame
    top_actions: pd.DataFrame
    glance: pd.DataFrame
    headline: dict[str, Any]
    unavailable: dict[str, Missing] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    glance_notes: list[str] = field(default_factory=list)
    #: the first screen: KPI cards (analysis.strategy.cards.kpi_cards) and alerts, texts in the params' language
    cards: list[KpiCard] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    #: ``headline.csv``: every headline measure per window, with its days (executive.headline_measures)
    measures: pd.DataFrame = field(default_factory=pd.DataFrame)

    def unavailable_text(self, language: str) -> dict[str, str]:
        """``unavailable`` as the text shown in ``language`` ("n/a — data starts 2010-12-01")."""
        return {k: m.reason(language) for k, m in self.unavailable.items()}


def _flagged_orders(tx: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp) -> tuple[int, float]:
    """Flagged orders (``is_outlier``) from ``first`` to ``last``: how many, and their revenue (currency)."""
    from analysis.customers.rfm import order_keys

    if "is_outlier" not in tx.columns:
        return 0, 0.0
    day = tx["order_date"].dt.normalize()
    f = tx[tx["is_outlier"].fillna(False).astype(bool) & (day >= first) & (day <= last)]
    return (int(order_keys(f).nunique()), round(float(f["amount"].sum()), 2)) if len(f) else (0, 0.0)


#: At most this many flagged orders are listed by name under the headline (the rest are counted).
FLAGGED_LISTED = 10


def _flagged_list(tx: pd.DataFrame, first: pd.Timestamp, last: pd.Timestamp, currency: str, language: str) -> str:
    """The flagged orders (``is_outlier``) from ``first`` to ``last``, largest first, as the headline note names them:
    day, net amount and the order id where the log has one (never a customer id); beyond :data:`FLAGGED_LISTED`,
    how many more."""
    from analysis.customers.rfm import order_keys
    from analysis.text import format as fmt
    from analysis.text import t

    day = tx["order_date"].dt.normalize()
    f = tx[tx["is_outlier"].fillna(False).astype(bool) & (day >= first) & (day <= last)]
    if f.empty:
        return ""
    ids = f["order_id"] if "order_id" in f.columns else pd.Series(pd.NA, index=f.index)
    orders = (
        f.assign(_key=order_keys(f).to_numpy(), _id=ids)
        .groupby("_key", sort=False)
        .agg(day=("order_date", "min"), amount=("amount", "sum"), order_id=("_id", "first"))
        .sort_values(["amount", "day"], ascending=[False, True], kind="stable")
    )
    shown = [
        t("executive.flagged_order", language, date=fmt.date(row.day, language),
          amount=fmt.money(row.amount, currency, language, decimals=2),
          order="" if pd.isna(row.order_id) else t("executive.flagged_order_id", language, id=str(row.order_id)))
        for row in orders.head(FLAGGED_LISTED).itertuples()
    ]  # fmt: skip
    if len(orders) > FLAGGED_LISTED:
        shown.append(t("executive.flagged_more", language, n=fmt.integer(len(orders) - FLAGGED_LISTED, language)))
    return "; ".join(shown)


def summary(
    cleaned_: Cleaned,
    scored: Scored,
    segments: Segments,
    strategy_: Strategy,
    params: RunParams,
    period: str,
    *,
    window: Window | None = None,
    region: str = ALL_REGIONS,
) -> Summary:
    """The executive summary of a run and the index page's figures (see :class:`Summary`).

    In one region's run (``region``), *new customers* are new to the region (their first purchase in it is in
    the window) and ``new_to_business`` counts, beside them, those whose first purchase anywhere is: the headline
    table, ``headline.csv``, a note and the new-customers card say which is which.
    """
    from analysis.customers import kpi
    from analysis.strategy.executive import (
        SCOPE_ATTR,
        Flagged,
        flagged_sentences,
        headline_kpis,
        headline_measures,
        top_actions,
        with_unflagged,
    )
    from analysis.text import format as fmt
    from analysis.text import t

    window = window or run_window(period, cleaned_, params)
    language, currency = params.language, params.currency
    tx = cleaned_.transactions
    missing = window.unavailable()

    # one definition per measure: each window's retention follows the buyers of the month before it, cut to the
    # same days (this window's: exactly the previous window the headline names)
    wins = {"this": (window.start, window.as_of), "previous": window.previous, "year_ago": window.year_ago}
    bases = {name: window.before(w) for name, w in wins.items()}
    gaps = _headline_gaps(window, wins, bases, language)
    # region semantics: "new" in a region's report is new to the region; new to the business beside it
    # (on the net log, as "new to the region": a customer whose only earlier order was cancelled in full is new)
    in_region = region != ALL_REGIONS and run_rep(region) is None
    first_anywhere = _first_days(cleaned_.result.net(window.as_of)) if in_region else None
    if first_anywhere is not None:
        gaps.update({("new_to_business", w): why for (m, w), why in list(gaps.items()) if m == "new_customers"})

    anon = cleaned_.anonymous
    anon_day = anon["order_date"].dt.normalize() if len(anon) else None

    def window_totals(frame: pd.DataFrame, outliers: bool = True) -> dict[str, pd.Series]:
        totals = {name: kpi.kpi_totals(frame, *w, previous=bases[name]) for name, w in wins.items()}
        for name, w in wins.items():  # net revenue first, gross and returns beside it (docs/cancellations.md)
            money = cleaned_.money(*w, outliers=outliers)
            extra = pd.Series({"revenue": money["net"], "revenue_gross": money["gross"], "returns": money["returns"]})
            if pd.isna(totals[name].get("revenue")) and not (money["gross"] or money["returns"]):
                extra[:] = float("nan")  # no sales and no returns in the window: nothing to show, as before
            totals[name] = pd.concat([totals[name].drop(extra.index, errors="ignore"), extra])
        if first_anywhere is not None:
            for name, w in wins.items():
                more = pd.Series({"new_to_business": _new_to_business(frame, first_anywhere, *w)})
                totals[name] = pd.concat([totals[name], more])
        if anon_day is None:
            return totals
        for name, (first, last) in wins.items():  # sales without a customer id count in revenue, in no customer KPI
            extra = float(anon.loc[(anon_day >= first) & (anon_day <= last), "amount"].sum())
            own = totals[name].get("revenue", float("nan"))
            all_sales = (0.0 if pd.isna(own) else float(own)) + extra
            share = extra / all_sales if all_sales else float("nan")
            more = pd.Series({"revenue_all_sales": all_sales, "anonymous_share": share})
            totals[name] = pd.concat([totals[name], more])
        return totals

    def kpis(frame: pd.DataFrame, outliers: bool = True) -> pd.DataFrame:
        totals = window_totals(frame, outliers)
        table = headline_kpis(totals["this"], totals["previous"], totals["year_ago"])
        for ref, (value, change) in {"previous": ("previous", "change"),
                                     "year_ago": ("year_ago", "change_vs_year")}.items():  # fmt: skip
            if ref in missing:
                table[[value, change]] = float("nan")
        for new in ("new_customers", "new_to_business"):  # the data's first month: nobody is known to be new
            if "new_customers" in missing and new in table.index:
                table.loc[new, ["this_period", "previous", "change", "year_ago", "change_vs_year"]] = float("nan")
        if first_anywhere is not None:
            table.attrs[SCOPE_ATTR] = "region"  # format_headline: new_customers is "New to this region"
        columns = {"this": ["this_period", "change", "change_vs_year"], "previous": ["previous", "change"],
                   "year_ago": ["year_ago", "change_vs_year"]}  # fmt: skip
        for measure, name in gaps:  # a value the data cannot give, and every change made with it
            if measure in table.index:
                table.loc[measure, columns[name]] = float("nan")
        return table

    counted = {("this_period" if k == "this" else k): _flagged_orders(tx, *w) for k, w in wins.items()}
    flagged = Flagged({k: v[0] for k, v in counted.items()}, {k: v[1] for k, v in counted.items()})
    head = kpis(tx)
    notes = [
        t("executive.windows", language, a=fmt.date(window.start, language), b=fmt.date(window.as_of, language),
          days=window.days, pa=fmt.date(window.previous[0], language), pb=fmt.date(window.previous[1], language),
          ya=fmt.date(window.year_ago[0], language), yb=fmt.date(window.year_ago[1], language))
    ]  # fmt: skip
    if window.days_note == "reach_back":
        notes.append(t("executive.reach_back", language, days=window.days))
    if window.is_partial:
        key = "executive.partial" if window.partial == "data_end" else "executive.partial_period_end"
        gap = int((window.period_end - window.data_end.normalize()).days)  # type: ignore[union-attr]
        notes.append(
            t(key, language, date=fmt.date_long(window.data_end, language), days=window.data_days,
              period_days=window.period_days, gap=gap)
        )  # fmt: skip
    if window.left_censored:
        notes.append(t("executive.left_censored", language, date=fmt.date_long(window.data_start, language)))
    if (short := window.short()) is not None:  # the minimum-data rule, said once under the table too
        notes.append(short.reason(language))
    if anon_day is not None and ((anon_day >= window.start) & (anon_day <= window.as_of)).any():
        now_anon = anon[(anon_day >= window.start) & (anon_day <= window.as_of)]  # returns: negative amounts
        all_sales = float(now_anon["amount"].sum()) + cleaned_.revenue_period
        notes.append(
            t("executive.anonymous", language, n=fmt.integer(int((now_anon["amount"] > 0).sum()), language),
              amount=fmt.money(float(now_anon["amount"].sum()), currency, language),
              share=fmt.percent(float(now_anon["amount"].sum()) / all_sales if all_sales else 0.0, language))
        )  # fmt: skip
    money = cleaned_.money(window.start, window.as_of)
    if money["returns"]:  # net revenue first: what was sold and what came back, said under the table
        notes.append(
            t("executive.net", language, gross=fmt.money(money["gross"], currency, language),
              returns=fmt.money(money["returns"], currency, language), net=fmt.money(money["net"], currency, language))
        )  # fmt: skip
    if any(flagged.orders.values()) and "is_outlier" in tx.columns:
        head = with_unflagged(head, kpis(tx[~tx["is_outlier"].fillna(False).astype(bool)], outliers=False))
        if flagged.orders["this_period"]:
            notes.append(
                t("executive.flagged_some", language, n=fmt.integer(flagged.orders["this_period"], language),
                  flagged=fmt.money(flagged.revenue["this_period"], currency, language),
                  total=fmt.money(cleaned_.revenue_period, currency, language),
                  orders=_flagged_list(tx, window.start, window.as_of, currency, language))
            )  # fmt: skip
        notes += flagged_sentences(head, flagged, currency, language, params.report.flagged_change_points / 100)
    plan = strategy_.plan
    top = top_actions(plan, 5, language)
    customers = scored.customers
    segment_of = customers["segment"] if "segment" in customers.columns else pd.Series(dtype=object)
    now = period_spend(tx, window.start, window.as_of)
    to_date = period_spend(tx, tx["order_date"].min(), window.as_of) if len(tx) else now
    by_segment = pd.DataFrame(
        {
            "revenue_period": now.groupby(segment_of.reindex(now.index)).sum(),
            "revenue_to_date": to_date.groupby(segment_of.reindex(to_date.index)).sum(),
        }
    )
    glance = (
        segments.segments[["customers", "customer_share"]]
        .join(by_segment, how="left")
        .fillna({"revenue_period": 0.0, "revenue_to_date": 0.0})
    )
    glance_notes = [
        t("executive.glance", language, as_of=fmt.date(window.as_of, language), a=fmt.date(window.start, language),
          b=fmt.date(window.as_of, language))
    ]  # fmt: skip
    in_period = tx["order_date"].dt.normalize() >= window.start
    headline: dict[str, Any] = {
        "rows": len(tx),
        "revenue_period": cleaned_.revenue_period,
        "revenue_unflagged": cleaned_.money(window.start, window.as_of, outliers=False)["net"],
        # net revenue first (revenue_period): the purchases as placed and the returns netted from them beside it
        "revenue_gross": cleaned_.money(window.start, window.as_of)["gross"],
        "returns": cleaned_.money(window.start, window.as_of)["returns"],
        "flagged_orders": flagged.orders["this_period"],
        "buyers": int(tx.loc[in_period, "customer_id"].nunique()),
        "customers": len(customers),
        "revenue_to_date": round(float(to_date.sum()), 2),
        "as_of": str(window.as_of.date()),
        "days": window.data_days,
        "period_days": window.period_days,
        "data_start": None if window.data_start is None else str(window.data_start.date()),
        "data_end": None if window.data_end is None else str(window.data_end.date()),
        "currency": currency,
        "language": language,
    }
    if anon_day is not None:  # sales without a customer id in this period (not in revenue_period: no customer)
        in_window = (anon_day >= window.start) & (anon_day <= window.as_of)
        headline["revenue_no_customer_id"] = round(float(anon.loc[in_window, "amount"].sum()), 2)
    if scored.clv is None:
        headline["clv_total"] = round(float(customers["clv"].sum()), 2)
        headline["clv_method"] = scored.clv_value.method  # beside every CLV figure (index, headline.csv)
        headline["clv_method_name"] = scored.clv_value.method_label(language)
    if isinstance(scored.clusters, Clusters):
        headline["cluster_k"] = scored.clusters.k
        headline["cluster_stability"] = round(scored.clusters.stability, 3)
    from analysis.strategy.actions import play_texts
    from analysis.strategy.cards import alerts, kpi_cards, kpi_trend

    shown_missing = {k: m.reason(language) for k, m in missing.items()}
    clv_reason = ""
    if scored.clv is None:  # the card says by which method, and why when it is not the one asked for
        n_customers = fmt.integer(len(customers), language)
        clv_reason = " ".join(
            s
            for s in (
                t("cards.clv_why", language, n=n_customers),
                t("clv_fit.method_used", language, method=headline["clv_method_name"]),
                scored.clv_value.reason_text(language),
            )
            if s
        )
    cards = kpi_cards(
        head, headline, plan.actions, shown_missing, currency, language,
        action_names=dict(play_texts(plan.playbook, language)["action"]), clv_reason=clv_reason or "",
        flagged_points=params.report.flagged_change_points, min_customers=params.report.min_customers,
        trends=kpi_trend(tx, window, net_revenue=lambda a, b: cleaned_.money(a, b)["net"]), flagged=flagged,
    )  # fmt: skip
    if first_anywhere is not None:  # which "new" is which, under the table and on the card
        new_here, new_all = (_get_kpi(head, k) for k in ("new_customers", "new_to_business"))
        if new_here is not None and new_all is not None:
            notes.append(t("executive.region_new", language, region=region_name(region),
                           n=fmt.integer(new_here, language), m=fmt.integer(new_all, language)))  # fmt: skip
            why = t("cards.new_to_region_why", language, m=fmt.integer(new_all, language))
            cards = [replace(c, why=why) if c.key == "new_customers" else c for c in cards]
    quality = cleaned_.result.quality
    warned = alerts(strategy_.warnings, int(quality.get("rows_in") or 0), int(quality.get("rows_quarantined") or 0),
                    currency, language)  # fmt: skip
    measure_notes = None
    if first_anywhere is not None:
        measure_notes = {m: t(f"executive.csv.{m}", language) for m in ("new_customers", "new_to_business")}
    measures = headline_measures(window_totals(tx), wins, bases, gaps, language, notes=measure_notes)
    if scored.clv is None:
        measures = pd.concat([measures, _clv_measure(headline, window, params, language)], ignore_index=True)
    return Summary(head, top, glance, headline, missing, notes, glance_notes, cards, warned, measures=measures)


def _clv_measure(headline: dict[str, Any], window: Window, params: RunParams, language: str) -> pd.DataFrame:
    """``headline.csv``'s CLV row: the total over the horizon after the run's last day (its window), with the method
    in ``note``."""
    from analysis.clv.summary import unit_days
    from analysis.text import t

    start = window.as_of + pd.Timedelta(days=1)
    end = window.as_of + pd.Timedelta(days=round(params.clv.horizon * unit_days(params.clv.time_unit)))
    note = t("clv_fit.method_used", language, method=headline["clv_method_name"])
    row = {"measure": "clv_total", "window": "next", "start": start.date().isoformat(),
           "end": end.date().isoformat(), "value": f"{float(headline['clv_total']):.2f}", "note": note}  # fmt: skip
    return pd.DataFrame([row])


def _first_days(clean: pd.DataFrame) -> pd.Series:
    """Each customer's first purchase day in the whole cleaned input (every region), index ``customer_id``."""
    if clean.empty:
        return pd.Series(dtype="datetime64[ns]")
    return clean.groupby("customer_id")["order_date"].min().dt.normalize()


def _new_to_business(frame: pd.DataFrame, first_anywhere: pd.Series, first: pd.Timestamp, last: pd.Timestamp) -> int:
    """Customers of ``frame`` (a region's purchases) who bought from ``first`` to ``last`` (inclusive days) and
    whose first purchase anywhere in the business (``first_anywhere``, :func:`_first_days`) is in that window."""
    day = frame["order_date"].dt.normalize()
    buyers = frame.loc[(day >= first) & (day <= last), "customer_id"].unique()
    began = first_anywhere.reindex(buyers)
    return int(((began >= first) & (began <= last)).sum())


def _get_kpi(table: pd.DataFrame, kpi_name: str) -> float | None:
    """This period's value of a headline KPI, None when the table has none."""
    if kpi_name not in table.index or pd.isna(table.loc[kpi_name, "this_period"]):
        return None
    return float(table.loc[kpi_name, "this_period"])


def _headline_gaps(
    window: Window,
    wins: dict[str, tuple[pd.Timestamp, pd.Timestamp]],
    bases: dict[str, tuple[pd.Timestamp, pd.Timestamp]],
    language: str,
) -> dict[tuple[str, str], str]:
    """Why a headline measure has no value in a window (``(measure, window name)`` → the reason shown).

    Before the data starts nothing is known; in a window of the data's first month (the data start on or after the
    first day of its month) every buyer's first purchase is in it, so nobody can be counted as new; retention needs
    its base window (the month before, same days) inside the data.
    """
    from analysis.strategy.executive import HEADLINE_FIELDS
    from analysis.text import t

    short = window.short()
    if short is not None:  # the minimum-data rule: no comparison at all, for one reason
        why = short.reason(language)
        return {(measure, name): why for measure, _ in HEADLINE_FIELDS for name in wins if name != "this"}
    if window.data_start is None:
        return {}
    first = window.data_start.normalize()
    starts = t("run.missing.data_starts", language, date=str(first.date()))
    first_month = t("executive.csv.first_month", language, date=str(first.date()))
    gaps: dict[tuple[str, str], str] = {}
    for name, (start, _) in wins.items():
        if name != "this" and start < first:  # this period's own figures count what the data hold
            gaps.update({(measure, name): starts for measure, _ in HEADLINE_FIELDS})
            continue
        if first >= start.replace(day=1):
            gaps[("new_customers", name)] = first_month
        if bases[name][0] < first:
            gaps[("retention_rate", name)] = starts
    return gaps
