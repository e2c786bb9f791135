"""Per-customer columns beyond RFM: ABC tier, lifecycle stage and k-means cluster.

One function, :func:`add_segmentation`, so that ``rfmkit score`` and the notebooks give a customer
the same ``abc_class``, ``lifecycle_stage`` and ``cluster`` for the same data and params.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from analysis.customers.lifecycle import purchase_facts, stages_from_facts
from analysis.customers.tiers import abc_classes
from analysis.params import CLVParams, SegmentationParams
from analysis.window import as_day

if TYPE_CHECKING:
    from analysis.clv.pipeline import CustomerValue
    from analysis.customers.cluster import RFMClusterer


def add_clv(
    customers: pd.DataFrame, transactions: pd.DataFrame, as_of: str | pd.Timestamp, params: CLVParams | None = None
) -> tuple[pd.DataFrame, str | None]:
    """Add ``p_alive``, ``expected_purchases``, ``spend_per_purchase``, ``expected_spend_horizon`` and ``clv`` from
    the BG/NBD and
    Gamma-Gamma models fitted on everything up to ``as_of``.

    Returns the customers and ``None``, or the customers unchanged and a plain-language note when
    the models are disabled or the data cannot identify them (the report then says so).
    """
    params = params or CLVParams()
    if not params.enabled:
        return customers, "CLV models disabled in the params."
    from analysis.errors import InputError, ModelError

    try:
        value = clv_columns(transactions, as_of, params)
    except (ModelError, InputError) as err:
        return customers, f"CLV skipped: {err}"
    return customers.join(value, how="left"), None


def clv_value(
    transactions: pd.DataFrame | Callable[[], pd.DataFrame],
    as_of: str | pd.Timestamp,
    params: CLVParams,
    summary: pd.DataFrame | None = None,
    run_rate_facts: pd.DataFrame | None = None,
) -> CustomerValue:
    """:func:`analysis.clv.pipeline.estimate_customer_value` with the params: the CLV columns and how they were
    obtained (``method``: BG/NBD, else another purchase model, else a run-rate estimate; ``reason_text(language)``;
    ``p_alive_informative``). Raises ``InputError`` for unusable transactions.

    ``summary``: the BTYD summary as of ``as_of`` in ``params.time_unit`` when an engine made it already; the
    transactions (or a function returning them) are then read only by a fallback that needs the log; with
    ``run_rate_facts`` (:func:`analysis.clv.run_rate.run_rate_facts`, from the same engine) the run-rate fallback
    does not read it."""
    from analysis.clv.pipeline import estimate_customer_value

    return estimate_customer_value(
        transactions,
        as_of,
        time_unit=params.time_unit,
        horizon=params.horizon,
        discount_rate=params.discount_rate,
        penalizer=params.penalizer,
        summary=summary,
        run_rate_facts=run_rate_facts,
    )


def clv_columns(transactions: pd.DataFrame, as_of: str | pd.Timestamp, params: CLVParams) -> pd.DataFrame:
    """``p_alive``, ``expected_purchases`` (over ``params.horizon`` time units), ``spend_per_purchase``,
    ``expected_spend_horizon`` (over the horizon) and ``clv``
    (discounted, currency) per customer (index ``customer_id``), from :func:`clv_value` (BG/NBD + Gamma-Gamma
    fitted up to ``as_of``, or the fallback it names).

    Raises ``InputError`` for unusable transactions.
    """
    value = clv_value(transactions, as_of, params)
    return value.customers[["p_alive", "expected_purchases", "spend_per_purchase", "expected_spend_horizon", "clv"]]


@dataclass
class Segmentation:
    """The enriched customer frame, the fitted clusterer (or None) and notes for readers.

    ``skipped`` says why there is no clusterer: ``"clustering_disabled"`` or ``"too_few_customers"`` (a
    ``run.missing.*`` catalog key), else ``None``.
    """

    customers: pd.DataFrame
    clusterer: RFMClusterer | None
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None


def add_segmentation(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    as_of: str | pd.Timestamp,
    period_start: str | pd.Timestamp | None = None,
    params: SegmentationParams | None = None,
    lifecycle: pd.DataFrame | None = None,
) -> Segmentation:
    """Add ``abc_class``, ``lifecycle_stage`` and ``cluster`` (named cluster) to scored customers.

    Parameters
    ----------
    customers : DataFrame
        Scored customers (index ``customer_id``), from :func:`analysis.customers.rfm.score_customers`; a
        ``p_alive`` column, when present, lets the lifecycle call customers with a low P(alive) lost.
    transactions : DataFrame
        The clean transactions the customers were scored on.
    as_of : date-like
        The scoring day.
    period_start : date-like, optional
        The last day *before* the reporting period (a purchase after it and up to ``as_of`` is "in
        the period"); default 90 days before ``as_of``.
    params : SegmentationParams, optional
        ABC limits, lifecycle thresholds, clustering settings.
    lifecycle : DataFrame, optional
        :func:`analysis.customers.lifecycle.purchase_facts` up to ``as_of`` and ``period_start`` when an engine
        made them already (:class:`analysis.engines.base.ScoreInputs`); ``transactions`` is then not read.
    """
    params = params or SegmentationParams()
    out = customers.copy(deep=False)  # copy-on-write: columns added here never reach the caller's frame
    notes: list[str] = []
    if out.empty:
        out["abc_class"] = pd.Series(dtype=object)
        out["lifecycle_stage"] = pd.Series(dtype=object)
        out["cluster"] = pd.Series(dtype=object)
        return Segmentation(out, None, ["No customers to segment."], "too_few_customers")
    out["abc_class"] = abc_classes(out, tuple(params.abc))["abc_class"]
    lc = params.lifecycle
    day = as_day(as_of)
    start = as_day(period_start) if period_start is not None else day - pd.Timedelta(days=90)
    if lifecycle is None:
        lifecycle = purchase_facts(transactions, day, start)
    stages = stages_from_facts(
        lifecycle,
        day,
        start,
        dormant_multiple=lc.dormant_multiple,
        dormant_days=lc.dormant_days,
        lost_multiple=lc.lost_multiple,
        lost_days=lc.lost_days,
        lost_p_alive=lc.lost_p_alive,
        p_alive=out.get("p_alive"),
    )
    out["lifecycle_stage"] = stages["stage"].reindex(out.index)
    clusterer = None
    cp = params.cluster
    skipped = None if cp.enabled else "clustering_disabled"
    if cp.enabled and len(out) < min_cluster_customers(params):
        skipped = "too_few_customers"
    if skipped is None:
        from analysis.customers.cluster import RFMClusterer  # scikit-learn: imported only when clustering runs

        k_max = min(cp.k_max, len(out) - 1)
        clusterer = RFMClusterer(
            k_range=(cp.k_min, max(cp.k_min, k_max)),
            n_init=cp.n_init,
            random_state=cp.seed,
            sample_size=cp.sample_size,
            n_stability_seeds=cp.stability_seeds,
            fit_sample_size=cp.fit_sample_size,
        )
        clusterer.fit(out)
        out["cluster"] = clusterer.names_.reindex(out.index)
    else:
        out["cluster"] = pd.Series(pd.NA, index=out.index, dtype=object)
        notes.append("Clustering skipped: disabled in params or too few customers.")
    return Segmentation(out, clusterer, notes, skipped)


def min_cluster_customers(params: SegmentationParams) -> int:
    """The fewest customers k-means is run on: one more than the smallest k, and at least 10."""
    return max(params.cluster.k_min + 1, 10)
