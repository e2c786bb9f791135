"""End-to-end CLV functions for the command line (``rfmkit clv``, ``rfmkit score``) and notebooks.

:func:`fit_clv` splits the log at ``calibration_end`` (before any fit), fits BG/NBD, Pareto/NBD
and Gamma-Gamma, predicts every calibration customer and, with a holdout, validates the purchase
models. :func:`write_clv` writes the result files. :func:`estimate_customer_value` (typed result)
and :func:`customer_value` (its frame) are the short path used to add CLV columns to an RFM table.

Both degrade rather than fail: when BG/NBD cannot be estimated the other purchase models are tried
(Pareto/NBD, then MBG/NBD) and, for :func:`estimate_customer_value`, finally the run-rate estimate
of :mod:`analysis.clv.run_rate`; when Gamma-Gamma cannot be used, spend per order is each customer's
observed mean. The method used and the reason, in plain words, come back with the values.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import text
from analysis.clv._base import DATA_FAILURES, CLVFitError
from analysis.clv._transaction import TransactionModel
from analysis.clv.bgnbd import BGNBD
from analysis.clv.distinct import SPEND_COLUMNS, DistinctSummary
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.persist import model_to_dict
from analysis.clv.run_rate import RunRateEstimate, run_rate_from_facts, run_rate_value
from analysis.clv.selection import PenalizerChoice, select_penalizer
from analysis.clv.summary import purchase_occasions, summary_from_transactions, unit_days
from analysis.clv.validation import (
    by_frequency,
    errors_of,
    holdout_by_frequency,
    holdout_errors,
    holdout_frame,
    tracking_curve,
)
from analysis.clv.value import (
    ANNUAL_DISCOUNT_RATE,
    PAliveCheck,
    default_horizon,
    discount_rate_per_unit,
    p_alive_separation,
    predict_customers,
    value_frame,
)
from analysis.data.io import json_safe, write_json
from analysis.data.spreadsheet import write_spreadsheet_csv
from analysis.errors import InputError, ModelError
from analysis.window import as_day

_TRANSACTION_MODELS = {"bgnbd": BGNBD, "pareto_nbd": ParetoNBD, "mbgnbd": ModifiedBGNBD}

#: method names readers see (English; :meth:`CustomerValue.method_label` for other languages), by method key
METHOD_NAMES = {k: text.t(f"clv_fit.method.{k}", "en") for k in ("bgnbd", "pareto_nbd", "mbgnbd", "run_rate")}


@dataclass
class CLVResult:
    """Everything :func:`fit_clv` produces.

    Attributes
    ----------
    summary : DataFrame
        Calibration (and holdout) summary indexed by customer_id.
    bgnbd : BGNBD or None
        None when BG/NBD could not be estimated (the reason is in ``failures`` and ``reason``).
    gamma_gamma : GammaGamma or None
        None when spend per order could not be modelled: ``spend_per_purchase`` is then each
        customer's observed mean spend per purchase day (``spend_method == "observed_mean"``).
    pareto_nbd : ParetoNBD or None
        None when it could not be fitted (the reason is in ``failures``).
    predictions : DataFrame
        Per customer: summary columns, ``p_alive``, ``expected_purchases`` (over ``horizon``),
        ``spend_per_purchase``, ``expected_spend_horizon``, ``clv`` from the model named by ``method``
        and, when BG/NBD is the method and Pareto/NBD also fitted, the Pareto/NBD ``*_pnbd`` equivalents.
    method : str
        Purchase model behind ``predictions``: ``bgnbd``, else ``pareto_nbd``, else ``mbgnbd``.
    reason : str or None
        Why the method is not BG/NBD (and/or why spend is not Gamma-Gamma), in plain words.
    spend_method : str
        ``gamma_gamma`` or ``observed_mean``.
    p_alive_check : PAliveCheck
        Whether P(alive) separates customers (see :func:`analysis.clv.value.p_alive_separation`).
    holdout_by_frequency, tracking : DataFrame or None
        Validation tables (one column per fitted purchase model; ``holdout_by_frequency`` also has
        ``expected_run_rate``, the run-rate estimate made at ``calibration_end``), only with a holdout.
    holdout_errors : dict or None
        ``{"bgnbd": {...}, "pareto_nbd": {...}, "run_rate": {...}}`` error figures, only with a holdout.
    penalizer_choice : PenalizerChoice
        The penalizer used and why (:mod:`analysis.clv.selection`).
    failures : dict
        Model name -> the plain-language reason it could not be estimated.
    """

    summary: pd.DataFrame
    bgnbd: BGNBD | None
    gamma_gamma: GammaGamma | None
    pareto_nbd: ParetoNBD | None
    predictions: pd.DataFrame
    time_unit: str
    calibration_end: str
    holdout_end: str | None
    horizon: float
    discount_rate: float
    holdout_by_frequency: pd.DataFrame | None = None
    tracking: pd.DataFrame | None = None
    holdout_errors: dict[str, dict[str, float]] | None = None
    failures: dict[str, str] = field(default_factory=dict)
    method: str = "bgnbd"
    reason: str | None = None
    spend_method: str = "gamma_gamma"
    p_alive_check: PAliveCheck | None = None
    mbgnbd: ModifiedBGNBD | None = None
    #: the penalizer used and why (chosen by the holdout error, or fixed in the params)
    penalizer_choice: PenalizerChoice | None = None

    @property
    def penalizer(self) -> float:
        """The penalizer every model was fitted with."""
        return 0.0 if self.penalizer_choice is None else self.penalizer_choice.penalizer

    @property
    def transaction_model(self) -> TransactionModel:
        """The fitted purchase model behind ``predictions``."""
        return {"bgnbd": self.bgnbd, "pareto_nbd": self.pareto_nbd, "mbgnbd": self.mbgnbd}[self.method]


@dataclass
class CustomerValue:
    """Per-customer value and how it was obtained (what :func:`estimate_customer_value` returns).

    Attributes
    ----------
    customers : DataFrame
        Index ``customer_id``: ``p_alive`` (NaN for the run-rate), ``expected_purchases`` (over
        ``horizon``), ``spend_per_purchase`` (currency), ``expected_spend_horizon`` (expected purchases ×
        spend per purchase, currency, undiscounted), ``clv`` (discounted, currency).
    method : str
        ``bgnbd``, ``pareto_nbd``, ``mbgnbd`` or ``run_rate`` (see :data:`METHOD_NAMES`).
    reason : str or None
        Why the method is not the one asked for, in plain words (None when it is); also why spend
        per order is the observed mean when Gamma-Gamma could not be used.
    reason_code : str or None
        The :attr:`~analysis.clv._base.CLVFitError.code` of the first failure.
    spend_method : str
        ``gamma_gamma`` or ``observed_mean`` (each customer's mean spend per purchase day).
    failures : dict
        Model name -> plain-language reason it could not be estimated.
    p_alive_informative : bool
        Whether P(alive) separates customers; when False churn rules should use recency against each
        customer's own usual gap (``p_alive_reason`` says why).
    p_alive_reason : str or None
    p_alive_check : PAliveCheck
    time_unit, horizon, discount_rate :
        Unit, horizon (units) and discount rate (per unit) the values use.
    transaction_model, spend_model : fitted models or None
    run_rate : RunRateEstimate or None
        The run-rate details (retention assumed) when ``method == "run_rate"``.
    """

    customers: pd.DataFrame
    method: str
    reason: str | None
    reason_code: str | None
    spend_method: str
    failures: dict[str, str]
    p_alive_check: PAliveCheck
    time_unit: str
    horizon: float
    discount_rate: float
    transaction_model: TransactionModel | None = None
    spend_model: GammaGamma | None = None
    run_rate: RunRateEstimate | None = None
    asked: str = "bgnbd"
    #: the penalizer used and why (:mod:`analysis.clv.selection`)
    penalizer_choice: PenalizerChoice | None = None
    errors: dict[str, CLVFitError] = field(default_factory=dict, repr=False)

    def method_label(self, language: str) -> str:
        """The method in ``language``, e.g. "BG/NBD + Gamma-Gamma" or "run-rate estimate"."""
        name = text.t(f"clv_fit.method.{self.method}", language)
        if self.method != "run_rate" and self.spend_method != "gamma_gamma":
            name = name.replace("Gamma-Gamma", text.t("clv_fit.method.observed_spend", language))
        return name

    def reason_text(self, language: str) -> str | None:
        """:attr:`reason` in ``language`` (None when the method asked for was used as it is)."""
        from analysis.privacy import redact_ids

        chosen = self.penalizer_choice is not None and self.penalizer_choice.code != "fixed"
        tries = _Attempts(dict(self.failures), dict(self.errors), advise=not chosen)
        reason = _joined(
            tries.reason(self.asked, self.method, language, self.run_rate),
            boundary_note(self.transaction_model, language),
        )
        # a model's message may list example customers: a report shows "(a customer)", never an id (issue 19)
        return None if reason is None else redact_ids(reason, self.customers.index)

    @property
    def method_name(self) -> str:
        """The method in English words."""
        return self.method_label("en")

    @property
    def p_alive_informative(self) -> bool:
        return self.p_alive_check.informative

    @property
    def p_alive_reason(self) -> str | None:
        return self.p_alive_check.reason

    def p_alive_reason_text(self, language: str) -> str | None:
        """Why P(alive) cannot separate customers, in ``language`` (None when it can)."""
        return self.p_alive_check.describe(language)


def _fit_spend(summary: pd.DataFrame | DistinctSummary, penalizer: float, seed: int) -> GammaGamma:
    """Gamma-Gamma on the repeat customers with positive spend; zero-spend repeaters (e.g. free
    orders only) are left out of the fit with a warning and still get a prediction. Raises
    :class:`CLVFitError` when the model cannot predict a finite mean spend. ``summary`` may be grouped
    already (a :class:`~analysis.clv.distinct.DistinctSummary`: its distinct repeat spends are fitted)."""
    gg = GammaGamma(penalizer=penalizer, seed=seed)
    if isinstance(summary, DistinctSummary):
        rows = summary.rows(SPEND_COLUMNS)
        zero = ~(rows["monetary_value"] > 0).to_numpy()
        if not zero.any():
            gg.fit(summary)
        else:
            named = summary.rows(SPEND_COLUMNS, named=True)
            _warn_zero_spend(float(rows["_w"].to_numpy()[zero].sum()), list(named.index[zero][:5]))
            keep = rows.loc[~zero]
            gg.fit(keep[list(SPEND_COLUMNS)], weights=keep["_w"].to_numpy(), time_unit=summary.time_unit)
    else:
        zero_rows = (summary["frequency"] > 0) & ~(summary["monetary_value"] > 0)
        if zero_rows.any():
            _warn_zero_spend(float(zero_rows.sum()), list(summary.index[zero_rows][:5]))
        gg.fit(summary.loc[~zero_rows])
    gg.population_mean_spend()  # raises CLVFitError when q <= 1 (infinite mean)
    return gg


def _warn_zero_spend(n: float, examples: list) -> None:
    warnings.warn(
        f"Gamma-Gamma: {n:g} repeat customer(s) with zero repeat spend left out of the fit (e.g. {examples})",
        stacklevel=4,
    )


def observed_spend(transactions: pd.DataFrame, as_of: object) -> pd.Series:
    """Each customer's mean spend per purchase day up to ``as_of`` (currency; index ``customer_id``)."""
    occ = purchase_occasions(transactions)
    occ = occ[occ["day"] <= as_day(as_of)]
    g = occ.groupby("customer_id", sort=True)["amount"]
    return (g.sum() / g.size()).rename("spend_per_purchase").rename_axis("customer_id")


def _resolve(
    time_unit: str,
    horizon: float | None,
    discount_rate: float | None,
    annual_discount_rate: float = ANNUAL_DISCOUNT_RATE,
) -> tuple[float, float]:
    """Horizon (units; default one year in the unit) and discount rate per unit (default the
    annual rate converted to the unit)."""
    h = default_horizon(time_unit) if horizon is None else float(horizon)
    if discount_rate is None:
        if not (math.isfinite(annual_discount_rate) and annual_discount_rate > -1):
            raise InputError(f"annual_discount_rate must be a number > -1 a year, got {annual_discount_rate!r}")
        d = discount_rate_per_unit(annual_discount_rate, time_unit)
    else:
        d = float(discount_rate)
    if not (math.isfinite(h) and h > 0):
        raise InputError(f"horizon must be a positive number of {time_unit} units, got {horizon!r}")
    if not (math.isfinite(d) and d > -1):
        raise InputError(f"discount_rate must be a number > -1 per time unit, got {discount_rate!r}")
    return h, d


@dataclass
class _Attempts:
    """Fits tried so far: each failure's message (``failures``, by model name) and error."""

    failures: dict[str, str] = field(default_factory=dict)
    errors: dict[str, CLVFitError] = field(default_factory=dict)
    #: whether to advise a penalizer: not when the run chose it already by the holdout error (``penalizer: auto``)
    advise: bool = True

    @property
    def first_code(self) -> str | None:
        return next(iter(self.errors.values())).code if self.errors else None

    def data_failure(self) -> bool:
        """Whether the first failure is a property of the data that no other purchase model avoids."""
        return self.first_code in DATA_FAILURES

    def run(self, model: TransactionModel | GammaGamma, fit: Any) -> Any:
        """``fit()`` or None, recording why it failed."""
        name, label = model.model_name, model.display_name
        try:
            with np.errstate(all="ignore"):
                return fit()
        except CLVFitError as exc:
            err = exc
        except ModelError as exc:
            err = CLVFitError(str(exc), "not_finite", why=str(exc), model=name)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            why = f"the computation failed ({type(exc).__name__}: {exc})"
            err = CLVFitError(f"{label}: {why}", "not_finite", why=why, model=name)
        self.failures[name] = str(err)
        self.errors[name] = err
        return None

    def reason(
        self, asked: str, used: str, language: str = "en", run_rate: RunRateEstimate | None = None
    ) -> str | None:
        """Why ``used`` rather than ``asked`` (and why spend is the observed mean), in ``language``, with
        each advice once; None when nothing failed."""
        if not self.errors:
            return None
        sep = text.t("clv_fit.reason_separator", language)
        models = {k: e for k, e in self.errors.items() if k != "gamma_gamma"}
        sentences = []
        if used != asked and models:
            reasons = sep.join(e.describe(language) for e in models.values())
            method = text.t(f"clv_fit.method.{used}", language)
            if run_rate is None:
                sentences.append(text.t("clv_fit.used_because", language, method=method, reasons=reasons))
            elif run_rate.retention_window_days > 0:
                retention = f"{run_rate.retention_per_unit ** (365.25 / unit_days(run_rate.time_unit)):.0%}"
                sentences.append(
                    text.t("clv_fit.run_rate_used", language, method=method, reasons=reasons, retention=retention)
                )
            else:
                sentences.append(text.t("clv_fit.run_rate_no_retention", language, method=method, reasons=reasons))
        if "gamma_gamma" in self.errors:
            why = self.errors["gamma_gamma"].why_text(language)
            sentences.append(text.t("clv_fit.spend_observed", language, reason=why))
        advice = (
            []
            if not self.advise
            else list(dict.fromkeys(a for e in self.errors.values() if (a := e.advice_text(language))))
        )
        if advice:
            sentences.append(text.t("clv_fit.advice", language, advice=sep.join(advice)))
        return " ".join(x[0].upper() + x[1:] for x in sentences) if sentences else None


def boundary_note(model: TransactionModel | None, language: str) -> str | None:
    """What a boundary maximum-likelihood answer means, in ``language`` (catalog ``clv_fit.boundary.<name>``);
    None when the fit is inside the parameter space."""
    name = getattr(model, "boundary_", None)
    if not name:
        return None
    return text.t(f"clv_fit.boundary.{name}", language, model=text.t(f"clv_fit.model.{model.model_name}", language))


def _joined(*sentences: str | None) -> str | None:
    kept = [s for s in sentences if s]
    return " ".join(kept) if kept else None


def _predict(
    tm: TransactionModel,
    gg: GammaGamma | None,
    summary: pd.DataFrame | DistinctSummary,
    spend: pd.Series,
    horizon: float,
    discount_rate: float,
) -> pd.DataFrame:
    if gg is not None:
        return predict_customers(tm, gg, summary, horizon, discount_rate)
    exp_spend = spend.reindex(summary.index).astype(float)
    p_alive = tm.conditional_probability_alive(summary)
    purchases = tm.conditional_expected_purchases(horizon, summary)
    disc = tm.discounted_expected_purchases(summary, horizon, discount_rate)
    return value_frame(p_alive, purchases, exp_spend, disc * exp_spend)


def fit_clv(
    transactions: pd.DataFrame,
    calibration_end: object,
    holdout_end: object | None = None,
    time_unit: str = "W",
    penalizer: float | str = 0.0,
    horizon: float | None = None,
    discount_rate: float | None = None,
    seed: int = 0,
    annual_discount_rate: float = ANNUAL_DISCOUNT_RATE,
) -> CLVResult:
    """Fit the CLV models on the calibration period and predict every calibration customer.

    BG/NBD, Pareto/NBD and Gamma-Gamma are fitted; predictions use BG/NBD, or Pareto/NBD when
    BG/NBD cannot be estimated, or MBG/NBD when neither can (``method`` and ``reason`` say which
    and why). Spend per order falls back to each customer's observed mean when Gamma-Gamma cannot
    be used (``spend_method``).

    Parameters
    ----------
    transactions : DataFrame
        Clean log (``customer_id``, ``order_date``, ``amount``).
    calibration_end : date-like
        Last calibration day (inclusive).
    holdout_end : date-like, optional
        Last holdout day (inclusive); enables the validation tables.
    time_unit : {'D', 'W', 'M'}, default='W'
        Unit of every time, horizon and discount rate.
    penalizer : float or "auto", default=0.0
        Scale-free penalty of every model (see :mod:`analysis.clv._base`); ``"auto"``: the one of
        :data:`~analysis.clv.selection.PENALIZER_GRID` with the smallest holdout error on a split of the
        calibration history itself (:func:`~analysis.clv.selection.select_penalizer`; the holdout after
        ``calibration_end`` plays no part in the choice).
    horizon : float, optional
        Prediction/CLV horizon in time units; default one year (365 D, 52 W or 12 M).
    discount_rate : float, optional
        Discount rate per time unit; default ``annual_discount_rate`` converted to the unit.
    seed : int, default=0
        Seed of the optimisers' random starting points.
    annual_discount_rate : float, default=0.10
        Yearly discount rate used when ``discount_rate`` is not given.

    Returns
    -------
    CLVResult

    Raises
    ------
    InputError
        Bad transactions or dates.
    CLVFitError
        No purchase model can be estimated (the message gives each model's reason).
    """
    h, d = _resolve(time_unit, horizon, discount_rate, annual_discount_rate)
    summary = summary_from_transactions(transactions, calibration_end, holdout_end, time_unit)
    choice = penalizer_choice(penalizer, transactions, calibration_end, time_unit, seed=seed)
    penalizer = choice.penalizer
    tries = _Attempts(advise=choice.code == "fixed")
    fitted: dict[str, TransactionModel] = {}
    for name in ("bgnbd", "pareto_nbd", "mbgnbd"):
        if (name == "mbgnbd" and fitted) or tries.data_failure():
            break
        model = _TRANSACTION_MODELS[name](penalizer=penalizer, seed=seed)
        done = _fitted_on(choice, name, summary)
        if done is not None:
            fitted[name] = done  # fitted on this very calibration summary when the penalizer was chosen
        elif tries.run(model, lambda m=model: m.fit(summary)) is not None:
            fitted[name] = model
    if not fitted:
        first = next(iter(tries.errors.values()))
        raise CLVFitError(
            "; ".join(tries.failures.values()), first.code, why=first.why, advice=first.advice, **first.values
        )
    method = next(iter(fitted))
    gg = tries.run(GammaGamma(), lambda: _fit_spend(summary, penalizer, seed))
    failures = tries.failures
    spend = None if gg is not None else observed_spend(transactions, summary.attrs["calibration_end"])
    if method == "bgnbd" and "pareto_nbd" in failures:
        warnings.warn(f"Pareto/NBD skipped: {tries.errors['pareto_nbd'].why_text('en')}", stacklevel=2)
    tm = fitted[method]
    cols = ["frequency", "t_x", "T", "monetary_value"]
    pred = summary[cols].join(_predict(tm, gg, summary, spend, h, d))
    if method == "bgnbd" and "pareto_nbd" in fitted:
        pn_pred = _predict(fitted["pareto_nbd"], gg, summary, spend, h, d)
        pred = pred.join(pn_pred[["p_alive", "expected_purchases", "clv"]].add_suffix("_pnbd"))
    result = CLVResult(
        summary=summary,
        bgnbd=fitted.get("bgnbd"),
        gamma_gamma=gg,
        pareto_nbd=fitted.get("pareto_nbd"),
        predictions=pred,
        time_unit=time_unit,
        calibration_end=summary.attrs["calibration_end"],
        holdout_end=summary.attrs["holdout_end"],
        horizon=h,
        discount_rate=d,
        failures=failures,
        method=method,
        reason=_joined(tries.reason("bgnbd", method), boundary_note(tm, "en")),
        spend_method="gamma_gamma" if gg is not None else "observed_mean",
        p_alive_check=p_alive_separation(pred["p_alive"], summary["frequency"] > 0),
        mbgnbd=fitted.get("mbgnbd"),
        penalizer_choice=choice,
    )
    if holdout_end is not None:
        by_freq = None
        tracks = []
        for name, model in fitted.items():
            table = holdout_by_frequency(model, summary)
            if by_freq is None:
                by_freq = table[["customers", "actual"]].copy()
            by_freq[f"expected_{name}"] = table["expected"]
            tr = tracking_curve(model, transactions, calibration_end, holdout_end)
            if not tracks:
                tracks.append(tr[["date", "in_calibration", "actual_cumulative", "actual"]])
            tracks.append(tr[["expected_cumulative", "expected"]].add_suffix(f"_{name}"))
        # the run-rate fallback backtested the same way: made at calibration_end for the holdout's length
        rr_table, rr_errors = run_rate_backtest(transactions, summary)
        by_freq["expected_run_rate"] = rr_table["expected_run_rate"]
        result.holdout_by_frequency = by_freq
        result.tracking = pd.concat(tracks, axis=1)
        result.holdout_errors = {name: holdout_errors(m, summary) for name, m in fitted.items()}
        result.holdout_errors["run_rate"] = rr_errors
    return result


def run_rate_backtest(transactions: pd.DataFrame, summary: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    """The run-rate estimate made at the calibration end of ``summary`` (a calibration/holdout summary of
    ``transactions``) for the holdout's length, against the holdout purchases: the table by calibration frequency
    (``customers``, ``actual``, ``expected_run_rate``, per customer) and the error figures of
    :func:`~analysis.clv.validation.holdout_errors`. Needs no purchase model, so it runs when none can be fitted."""
    unit = summary.attrs["time_unit"]
    duration = float(summary["duration_holdout"].iloc[0])
    rr = run_rate_value(transactions, summary.attrs["calibration_end"], unit, duration, 0.0)
    frame = holdout_frame(rr.customers["expected_purchases"], summary)
    table = by_frequency(frame)[["customers", "actual", "expected"]].rename(columns={"expected": "expected_run_rate"})
    return table, errors_of(frame)


def _fitted_on(choice: PenalizerChoice, name: str, summary: pd.DataFrame) -> TransactionModel | None:
    """The model ``name`` the choice fitted with its chosen penalizer on the same calibration period and unit as
    ``summary`` (the model check's split), else None."""
    model = choice.models.get(choice.penalizer)
    same = (
        choice.calibration_end is not None
        and str(choice.calibration_end.date()) == summary.attrs.get("calibration_end")
        and getattr(model, "model_name", None) == name
        and getattr(model, "time_unit_", None) == summary.attrs.get("time_unit")
    )
    return model if same else None


def penalizer_choice(
    penalizer: float | str | PenalizerChoice,
    transactions: pd.DataFrame,
    as_of: object,
    time_unit: str,
    model: str = "bgnbd",
    seed: int = 0,
) -> PenalizerChoice:
    """``penalizer`` as given (``fixed``), or for ``"auto"`` the one chosen by the holdout error on the history up to
    ``as_of`` (:func:`~analysis.clv.selection.select_penalizer`); a choice made already is returned as it is."""
    if isinstance(penalizer, PenalizerChoice):
        return penalizer
    if isinstance(penalizer, str):
        if penalizer != "auto":
            raise InputError(f"penalizer must be a number >= 0 or 'auto', got {penalizer!r}")
        return select_penalizer(transactions, as_of, time_unit, model=model, seed=seed)
    return PenalizerChoice(float(penalizer), code="fixed")


def write_clv(result: CLVResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the result files and return their paths by name.

    Files: ``params.json`` (``{"bgnbd": <model>, "pareto_nbd": <model>, "gamma_gamma": <model>, "time_unit",
    "calibration_end", "holdout_end", "horizon", "discount_rate", "failures"}``, each ``<model>`` in the one
    fitted-model format of :func:`analysis.clv.persist.model_to_dict` — ``params`` (e.g. r, alpha, a, b),
    ``log_likelihood``, ``standard_errors``, ``covariance``, ``time_unit`` … — and loadable with
    :func:`analysis.clv.persist.model_from_dict`; a model is null when it failed, and ``method``, ``spend_method``
    and ``reason`` say what the predictions use and why; ``mbgnbd`` is added when it was the fallback),
    ``customers.csv`` (predictions, one row per customer_id) and, with a holdout, ``holdout_by_frequency.csv``,
    ``tracking.csv``, ``holdout_errors.json``. Every file is written atomically.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = {
        "bgnbd": None if result.bgnbd is None else model_to_dict(result.bgnbd),
        "pareto_nbd": None if result.pareto_nbd is None else model_to_dict(result.pareto_nbd),
        "gamma_gamma": None if result.gamma_gamma is None else model_to_dict(result.gamma_gamma),
        "time_unit": result.time_unit,
        "calibration_end": result.calibration_end,
        "holdout_end": result.holdout_end,
        "horizon": result.horizon,
        "discount_rate": result.discount_rate,
        "failures": result.failures,
        "method": result.method,
        "spend_method": result.spend_method,
        "reason": result.reason,
        "penalizer": result.penalizer,
        "penalizer_choice": _choice_dict(result.penalizer_choice),
    }
    if result.mbgnbd is not None:
        params["mbgnbd"] = model_to_dict(result.mbgnbd)
    paths = {"params": out / "params.json", "customers": out / "customers.csv"}
    write_json(json_safe(params), paths["params"], sort_keys=False)
    write_spreadsheet_csv(result.predictions.rename_axis("customer_id"), paths["customers"])
    if result.holdout_by_frequency is not None:
        paths["holdout_by_frequency"] = out / "holdout_by_frequency.csv"
        write_spreadsheet_csv(result.holdout_by_frequency, paths["holdout_by_frequency"])
        paths["tracking"] = out / "tracking.csv"
        write_spreadsheet_csv(result.tracking, paths["tracking"])
        paths["holdout_errors"] = out / "holdout_errors.json"
        write_json(json_safe(result.holdout_errors), paths["holdout_errors"], sort_keys=False)
    return paths


#: above this many customers a log an engine read itself is not read again to choose the penalizer (it is 0)
SELECTION_MAX_CUSTOMERS = 250_000


def _choice_dict(choice: PenalizerChoice | None) -> dict[str, Any] | None:
    """The penalizer choice for ``params.json``: how it was chosen, on which split, and every value's errors."""
    if choice is None:
        return None
    return {
        "how": choice.code,
        "calibration_end": None if choice.calibration_end is None else str(choice.calibration_end.date()),
        "holdout_end": None if choice.holdout_end is None else str(choice.holdout_end.date()),
        "errors": choice.errors.reset_index().to_dict(orient="records"),
        "description": choice.describe("en"),
    }


def estimate_customer_value(
    transactions: pd.DataFrame | Callable[[], pd.DataFrame],
    as_of: object,
    time_unit: str = "W",
    horizon: float | None = None,
    discount_rate: float | None = None,
    penalizer: float | str | PenalizerChoice = 0.0,
    model: str = "bgnbd",
    annual_discount_rate: float = ANNUAL_DISCOUNT_RATE,
    seed: int = 0,
    summary: pd.DataFrame | None = None,
    run_rate_facts: pd.DataFrame | None = None,
) -> CustomerValue:
    """Per-customer value up to ``as_of``, degrading gracefully: the purchase model asked for, else
    the other purchase models (Pareto/NBD, MBG/NBD), else the run-rate estimate of
    :mod:`analysis.clv.run_rate`; spend per order from Gamma-Gamma, else each customer's observed
    mean. The method used and the reason are returned with the values.

    Parameters
    ----------
    transactions : DataFrame
        Clean log.
    as_of : date-like
        Analysis date (inclusive end of the fitting period).
    time_unit : {'D', 'W', 'M'}, default='W'
    horizon : float, optional
        Horizon in time units; default one year in the unit (365 D, 52 W, 12 M).
    discount_rate : float, optional
        Per time unit; default ``annual_discount_rate`` converted to the unit.
    penalizer : float, "auto" or PenalizerChoice, default=0.0
        Scale-free penalty of every model; ``"auto"``: chosen by the holdout error on a split of the history up to
        ``as_of`` (:func:`~analysis.clv.selection.select_penalizer`; reads the log), or a choice made already.
    model : {'bgnbd', 'pareto_nbd', 'mbgnbd'}, default='bgnbd'
        Purchase model tried first.
    annual_discount_rate : float, default=0.10
        Yearly discount rate used when ``discount_rate`` is not given.
    seed : int, default=0
        Seed of the optimisers' random starting points.
    summary : DataFrame, optional
        :func:`~analysis.clv.summary.summary_from_transactions` of ``transactions`` as of ``as_of`` in
        ``time_unit`` when it was made already (by an engine, :mod:`analysis.engines`). ``transactions`` may then
        be a function returning the log: it is called only when a fallback needs the log.
    run_rate_facts : DataFrame, optional
        :func:`~analysis.clv.run_rate.run_rate_facts` of ``transactions`` as of ``as_of`` when an engine made them
        already: the run-rate fallback then uses them instead of reading the log.

    Returns
    -------
    CustomerValue

    Raises
    ------
    InputError
        Missing columns, unparsable values or no purchase up to ``as_of``.
    """
    if model not in _TRANSACTION_MODELS:
        raise InputError(f"unknown CLV model {model!r}: use one of {sorted(_TRANSACTION_MODELS)}")
    h, d = _resolve(time_unit, horizon, discount_rate, annual_discount_rate)
    if summary is None:
        transactions = transactions() if callable(transactions) else transactions
        summary = summary_from_transactions(transactions, as_of, None, time_unit)
    if penalizer == "auto" and callable(transactions) and len(summary) > SELECTION_MAX_CUSTOMERS:
        # an engine made the summary of a big log without handing it over: it is not read again to choose
        choice = PenalizerChoice(0.0, code="large_log", history_days=len(summary))
    else:
        if penalizer == "auto":
            transactions = transactions() if callable(transactions) else transactions
        choice = penalizer_choice(penalizer, transactions, as_of, time_unit, model=model, seed=seed)
    penalizer = choice.penalizer
    # the customers grouped once into their distinct histories and repeat spends, shared by every fit of the
    # fallback chain and every prediction (see analysis.clv.distinct)
    rows = DistinctSummary.from_summary(summary, time_unit=summary.attrs.get("time_unit", time_unit))
    tries = _Attempts(advise=choice.code == "fixed")
    order = [model] + [m for m in ("bgnbd", "pareto_nbd", "mbgnbd") if m != model]
    tm: TransactionModel | None = None
    for name in order:
        if tries.data_failure():
            break  # a property of the data: no other purchase model can do better
        candidate = _TRANSACTION_MODELS[name](penalizer=penalizer, seed=seed)
        if tries.run(candidate, lambda c=candidate: c.fit(rows)) is not None:
            tm = candidate
            break
    if tm is None:
        if run_rate_facts is not None:
            rr = run_rate_from_facts(run_rate_facts, as_of, time_unit, h, d)
        else:
            transactions = transactions() if callable(transactions) else transactions
            rr = run_rate_value(transactions, as_of, time_unit, h, d)
        return CustomerValue(
            customers=rr.customers.reindex(summary.index),
            method="run_rate",
            reason=tries.reason(model, "run_rate", "en", rr),
            reason_code=tries.first_code,
            spend_method="observed_mean",
            failures=tries.failures,
            asked=model,
            errors=tries.errors,
            p_alive_check=p_alive_separation(None),
            time_unit=time_unit,
            horizon=h,
            discount_rate=d,
            run_rate=rr,
            penalizer_choice=choice,
        )
    gg = tries.run(GammaGamma(), lambda: _fit_spend(rows, penalizer, seed))
    if gg is None:
        transactions = transactions() if callable(transactions) else transactions
    spend = None if gg is not None else observed_spend(transactions, summary.attrs["calibration_end"])
    with np.errstate(all="ignore"):
        customers = _predict(tm, gg, rows, spend, h, d)
    return CustomerValue(
        customers=customers,
        method=tm.model_name,
        reason=_joined(tries.reason(model, tm.model_name), boundary_note(tm, "en")),
        reason_code=tries.first_code,
        spend_method="gamma_gamma" if gg is not None else "observed_mean",
        failures=tries.failures,
        asked=model,
        errors=tries.errors,
        p_alive_check=p_alive_separation(customers["p_alive"], summary["frequency"] > 0),
        time_unit=time_unit,
        horizon=h,
        discount_rate=d,
        transaction_model=tm,
        spend_model=gg,
        penalizer_choice=choice,
    )


def customer_value(
    transactions: pd.DataFrame,
    as_of: object,
    time_unit: str = "W",
    horizon: float | None = None,
    discount_rate: float | None = None,
    penalizer: float = 0.0,
    model: str = "bgnbd",
    annual_discount_rate: float = ANNUAL_DISCOUNT_RATE,
) -> pd.DataFrame:
    """CLV columns for an RFM table: :func:`estimate_customer_value`'s frame.

    Returns
    -------
    DataFrame
        Indexed by customer_id: ``p_alive`` (NaN for a run-rate estimate), ``expected_purchases``
        (over the horizon), ``spend_per_purchase`` (currency), ``expected_spend_horizon`` (currency, over the
        horizon, undiscounted), ``clv`` (discounted, currency). ``attrs`` holds ``clv_method``,
        ``clv_method_name``, ``clv_reason``, ``spend_method``, ``p_alive_informative`` and ``p_alive_reason`` (use
        :func:`estimate_customer_value` for the typed result).

    Raises
    ------
    InputError
        Missing columns, unparsable values or no purchase up to ``as_of``.
    """
    value = estimate_customer_value(
        transactions,
        as_of,
        time_unit=time_unit,
        horizon=horizon,
        discount_rate=discount_rate,
        penalizer=penalizer,
        model=model,
        annual_discount_rate=annual_discount_rate,
    )
    out = value.customers.copy()
    out.attrs.update(
        clv_method=value.method,
        clv_method_name=value.method_name,
        clv_reason=value.reason,
        spend_method=value.spend_method,
        p_alive_informative=value.p_alive_informative,
        p_alive_reason=value.p_alive_reason,
    )
    return out
