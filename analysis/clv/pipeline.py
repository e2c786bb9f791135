"""End-to-end CLV functions for the command line (``rfmkit clv``, ``rfmkit score``) and notebooks.

:func:`fit_clv` splits the log at ``calibration_end`` (before any fit), fits BG/NBD, Pareto/NBD
and Gamma-Gamma, predicts every calibration customer and, with a holdout, validates the purchase
models. :func:`write_clv` writes the result files. :func:`customer_value` is the short path used
to add CLV columns to an RFM table.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.clv.bgnbd import BGNBD
from analysis.clv.gamma_gamma import GammaGamma
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.persist import model_to_dict
from analysis.clv.summary import summary_from_transactions
from analysis.clv.validation import holdout_by_frequency, holdout_errors, tracking_curve
from analysis.clv.value import (
    ANNUAL_DISCOUNT_RATE,
    default_horizon,
    discount_rate_per_unit,
    predict_customers,
)
from analysis.data.io import json_safe, write_csv, write_json
from analysis.errors import InputError, ModelError

_TRANSACTION_MODELS = {"bgnbd": BGNBD, "pareto_nbd": ParetoNBD, "mbgnbd": ModifiedBGNBD}


@dataclass
class CLVResult:
    """Everything :func:`fit_clv` produces.

    Attributes
    ----------
    summary : DataFrame
        Calibration (and holdout) summary indexed by customer_id.
    bgnbd, gamma_gamma : fitted models
    pareto_nbd : ParetoNBD or None
        None when it could not be fitted (the reason is in ``failures``).
    predictions : DataFrame
        Per customer: summary columns, BG/NBD ``p_alive``, ``expected_purchases`` (over
        ``horizon``), ``expected_spend``, ``clv`` and the Pareto/NBD ``*_pnbd`` equivalents.
    holdout_by_frequency, tracking : DataFrame or None
        Validation tables (BG/NBD and Pareto/NBD columns), only with a holdout.
    holdout_errors : dict or None
        ``{"bgnbd": {...}, "pareto_nbd": {...}}`` error figures, only with a holdout.
    """

    summary: pd.DataFrame
    bgnbd: BGNBD
    gamma_gamma: GammaGamma
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


def _fit_spend(summary: pd.DataFrame, penalizer: float, seed: int) -> GammaGamma:
    """Gamma-Gamma on the repeat customers with positive spend; zero-spend repeaters (e.g. free
    orders only) are left out of the fit with a warning and still get a prediction."""
    zero = (summary["frequency"] > 0) & ~(summary["monetary_value"] > 0)
    if zero.any():
        warnings.warn(
            f"Gamma-Gamma: {int(zero.sum())} repeat customer(s) with zero repeat spend left out of the fit "
            f"(e.g. {list(summary.index[zero][:5])})",
            stacklevel=3,
        )
    return GammaGamma(penalizer=penalizer, seed=seed).fit(summary.loc[~zero])


def _resolve(time_unit: str, horizon: float | None, discount_rate: float | None) -> tuple[float, float]:
    h = default_horizon(time_unit) if horizon is None else float(horizon)
    d = discount_rate_per_unit(ANNUAL_DISCOUNT_RATE, time_unit) if discount_rate is None else float(discount_rate)
    if not (math.isfinite(h) and h > 0):
        raise InputError(f"horizon must be a positive number of {time_unit} units, got {horizon!r}")
    if not (math.isfinite(d) and d > -1):
        raise InputError(f"discount_rate must be a number > -1 per time unit, got {discount_rate!r}")
    return h, d


def fit_clv(
    transactions: pd.DataFrame,
    calibration_end: object,
    holdout_end: object | None = None,
    time_unit: str = "W",
    penalizer: float = 0.0,
    horizon: float | None = None,
    discount_rate: float | None = None,
    seed: int = 0,
) -> CLVResult:
    """Fit the CLV models on the calibration period and predict every calibration customer.

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
    penalizer : float, default=0.0
        L2 penalty of every model.
    horizon : float, optional
        Prediction/CLV horizon in time units; default one year (365 D, 52 W or 12 M).
    discount_rate : float, optional
        Discount rate per time unit; default 10 % a year converted to the unit.
    seed : int, default=0
        Seed of the optimisers' random starting points.

    Returns
    -------
    CLVResult

    Raises
    ------
    InputError
        Bad transactions or dates.
    ModelError
        BG/NBD or Gamma-Gamma cannot be fitted (Pareto/NBD failures are recorded in
        ``failures`` instead).
    """
    h, d = _resolve(time_unit, horizon, discount_rate)
    summary = summary_from_transactions(transactions, calibration_end, holdout_end, time_unit)
    bg = BGNBD(penalizer=penalizer, seed=seed).fit(summary)
    gg = _fit_spend(summary, penalizer, seed)
    failures: dict[str, str] = {}
    try:
        pn: ParetoNBD | None = ParetoNBD(penalizer=penalizer, seed=seed).fit(summary)
    except ModelError as exc:
        pn = None
        failures["pareto_nbd"] = str(exc)
        warnings.warn(f"Pareto/NBD skipped: {exc}", stacklevel=2)
    cols = ["frequency", "t_x", "T", "monetary_value"]
    pred = summary[cols].join(predict_customers(bg, gg, summary, h, d))
    if pn is not None:
        pred = pred.join(
            predict_customers(pn, gg, summary, h, d)[["p_alive", "expected_purchases", "clv"]].add_suffix("_pnbd")
        )
    result = CLVResult(
        summary=summary,
        bgnbd=bg,
        gamma_gamma=gg,
        pareto_nbd=pn,
        predictions=pred,
        time_unit=time_unit,
        calibration_end=summary.attrs["calibration_end"],
        holdout_end=summary.attrs["holdout_end"],
        horizon=h,
        discount_rate=d,
        failures=failures,
    )
    if holdout_end is not None:
        models = {"bgnbd": bg} | ({"pareto_nbd": pn} if pn is not None else {})
        by_freq = None
        tracks = []
        for name, model in models.items():
            table = holdout_by_frequency(model, summary)
            if by_freq is None:
                by_freq = table[["customers", "actual"]].copy()
            by_freq[f"expected_{name}"] = table["expected"]
            tr = tracking_curve(model, transactions, calibration_end, holdout_end)
            if not tracks:
                tracks.append(tr[["date", "in_calibration", "actual_cumulative", "actual"]])
            tracks.append(tr[["expected_cumulative", "expected"]].add_suffix(f"_{name}"))
        result.holdout_by_frequency = by_freq
        result.tracking = pd.concat(tracks, axis=1)
        result.holdout_errors = {name: holdout_errors(m, summary) for name, m in models.items()}
    return result


def write_clv(result: CLVResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the result files and return their paths by name.

    Files: ``params.json`` (``{"bgnbd": <model>, "pareto_nbd": <model>, "gamma_gamma": <model>, "time_unit",
    "calibration_end", "holdout_end", "horizon", "discount_rate", "failures"}``, each ``<model>`` in the one
    fitted-model format of :func:`analysis.clv.persist.model_to_dict` — ``params`` (e.g. r, alpha, a, b),
    ``log_likelihood``, ``standard_errors``, ``covariance``, ``time_unit`` … — and loadable with
    :func:`analysis.clv.persist.model_from_dict`; ``pareto_nbd`` is null when it failed), ``customers.csv``
    (predictions, one row per customer_id) and, with a holdout, ``holdout_by_frequency.csv``, ``tracking.csv``,
    ``holdout_errors.json``. Every file is written atomically.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    params = {
        "bgnbd": model_to_dict(result.bgnbd),
        "pareto_nbd": None if result.pareto_nbd is None else model_to_dict(result.pareto_nbd),
        "gamma_gamma": model_to_dict(result.gamma_gamma),
        "time_unit": result.time_unit,
        "calibration_end": result.calibration_end,
        "holdout_end": result.holdout_end,
        "horizon": result.horizon,
        "discount_rate": result.discount_rate,
        "failures": result.failures,
    }
    paths = {"params": out / "params.json", "customers": out / "customers.csv"}
    write_json(json_safe(params), paths["params"], sort_keys=False)
    write_csv(result.predictions.rename_axis("customer_id"), paths["customers"])
    if result.holdout_by_frequency is not None:
        paths["holdout_by_frequency"] = out / "holdout_by_frequency.csv"
        write_csv(result.holdout_by_frequency, paths["holdout_by_frequency"])
        paths["tracking"] = out / "tracking.csv"
        write_csv(result.tracking, paths["tracking"])
        paths["holdout_errors"] = out / "holdout_errors.json"
        write_json(json_safe(result.holdout_errors), paths["holdout_errors"], sort_keys=False)
    return paths


def customer_value(
    transactions: pd.DataFrame,
    as_of: object,
    time_unit: str = "W",
    horizon: float | None = 52,
    discount_rate: float | None = None,
    penalizer: float = 0.0,
    model: str = "bgnbd",
) -> pd.DataFrame:
    """CLV columns for an RFM table: fit on everything up to ``as_of`` and predict ahead.

    Parameters
    ----------
    transactions : DataFrame
        Clean log.
    as_of : date-like
        Analysis date (inclusive end of the fitting period).
    time_unit : {'D', 'W', 'M'}, default='W'
    horizon : float, default=52
        Horizon in time units (None: one year).
    discount_rate : float, optional
        Per time unit; default 10 % a year converted to the unit.
    penalizer : float, default=0.0
    model : {'bgnbd', 'pareto_nbd', 'mbgnbd'}, default='bgnbd'
        Purchase model (spend is always Gamma-Gamma).

    Returns
    -------
    DataFrame
        Indexed by customer_id: ``p_alive``, ``expected_purchases`` (over the horizon),
        ``expected_spend`` (per purchase, currency), ``clv`` (discounted, currency).

    Raises
    ------
    ModelError
        Whenever the data cannot identify a model or a fit fails numerically; the message is fit
        for "CLV skipped: <message>". Missing columns or unparsable values raise InputError.
    """
    if model not in _TRANSACTION_MODELS:
        raise InputError(f"unknown CLV model {model!r}: use one of {sorted(_TRANSACTION_MODELS)}")
    h, d = _resolve(time_unit, horizon, discount_rate)
    summary = summary_from_transactions(transactions, as_of, None, time_unit)
    try:
        with np.errstate(all="ignore"):
            tm = _TRANSACTION_MODELS[model](penalizer=penalizer).fit(summary)
            gg = _fit_spend(summary, penalizer, 0)
            return predict_customers(tm, gg, summary, h, d)
    except ModelError:
        raise
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        raise ModelError(f"CLV model could not be fitted on this data ({type(exc).__name__}: {exc})") from exc
