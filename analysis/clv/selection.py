"""The holdout split of a run's own history, and the penalizer chosen by its error (never by a fixed rule).

Split: the history from the first purchase day to ``as_of`` is cut at ``calibration_end = as_of - holdout``, with
``holdout`` = :data:`MAX_HOLDOUT_DAYS` (26 weeks) or half the history in whole weeks when that is shorter
(:func:`holdout_window`). Below :data:`MIN_HOLDOUT_DAYS` of holdout (eight weeks of history) there is no split: the
model check cannot run and the penalizer is 0 (plain maximum likelihood), and the reason says so.

Choice (:func:`select_penalizer`): the purchase model is fitted on the calibration part with every penalizer of
:data:`PENALIZER_GRID` (0 = none); each fit predicts every calibration customer's repeat purchases in the holdout
(:meth:`conditional_expected_purchases`) and is scored by the mean squared error per customer against the actual
purchases (the conditional expectation is the prediction that minimises the squared error, so this is the error it
should be judged by). The choice is the smallest penalizer whose mean squared error is within one standard error of
the smallest one (the "one standard error rule" of cross-validation, Breiman et al. 1984): a penalty is added only
when it predicts the held-out purchases better by more than the noise of the comparison. Every penalizer's errors,
the standard error and the threshold are recorded (``errors``, ``threshold``), so the choice can be checked: it is
the first penalizer of the grid with ``mse <= threshold``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.clv._base import CLVFitError
from analysis.clv.bgnbd import BGNBD
from analysis.clv.mbgnbd import ModifiedBGNBD
from analysis.clv.pareto_nbd import ParetoNBD
from analysis.clv.summary import summary_from_transactions
from analysis.clv.validation import errors_of, holdout_frame
from analysis.errors import InputError, ModelError
from analysis.window import as_day

#: the purchase models a penalizer can be chosen for, by name
MODELS = {"bgnbd": BGNBD, "pareto_nbd": ParetoNBD, "mbgnbd": ModifiedBGNBD}
#: penalizers tried, none first
PENALIZER_GRID: tuple[float, ...] = (0.0, 0.001, 0.01, 0.1)
#: longest holdout, in days (26 weeks)
MAX_HOLDOUT_DAYS = 182
#: shortest holdout, in days: below it (less than 8 weeks of history) the history is not split
MIN_HOLDOUT_DAYS = 28


def holdout_window(first_day: object, as_of: object) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """``(calibration_end, holdout_end)`` of the history from ``first_day`` to ``as_of`` (inclusive days): the
    holdout is the last :data:`MAX_HOLDOUT_DAYS` days, or half the history in whole weeks when shorter; None when
    that is under :data:`MIN_HOLDOUT_DAYS` days."""
    end = as_day(as_of)
    span = int((end - as_day(first_day)).days)
    days = min(MAX_HOLDOUT_DAYS, (span // 2) // 7 * 7)
    if days < MIN_HOLDOUT_DAYS:
        return None
    return end - pd.Timedelta(days=days), end


def history_days(first_day: object, as_of: object) -> int:
    """Days from ``first_day`` to ``as_of``."""
    return int((as_day(as_of) - as_day(first_day)).days)


@dataclass
class PenalizerChoice:
    """The penalizer used and why.

    Attributes
    ----------
    penalizer : float
        The one chosen (0 when no split was possible or no penalized fit could be scored).
    errors : DataFrame
        Index ``penalizer`` (every value of the grid); ``mse`` (mean squared error of the holdout repeat purchases
        per customer), ``mse_se`` (its standard error), ``rmse``, ``mae``, ``expected_total``, ``actual_total``,
        ``total_error_pct`` and ``failed`` (why that fit could not be made, "" when it was). Empty when there was
        no split.
    threshold : float
        The smallest ``mse`` plus its standard error: the first penalizer at or below it is chosen.
    calibration_end, holdout_end : Timestamp or None
        The split the errors were measured on (None without one).
    code : str
        ``holdout`` (chosen by the holdout error), ``fixed`` (given in the params), ``short_history`` (no split:
        ``history_days`` of data), ``no_fit`` (no penalizer gave a fit on the calibration part), ``large_log``
        (an engine's summary of more customers than the log is read again for; ``history_days`` holds their number).
    """

    penalizer: float
    errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    threshold: float = math.nan
    calibration_end: pd.Timestamp | None = None
    holdout_end: pd.Timestamp | None = None
    code: str = "holdout"
    history_days: int = 0
    #: the fitted models on the calibration part, by penalizer (reused by the model check on the same split)
    models: dict[float, object] = field(default_factory=dict, repr=False)

    def describe(self, language: str) -> str:
        """One sentence: which penalizer and why (catalog ``clv_fit.penalizer.<code>``)."""
        from analysis import text

        values: dict[str, object] = {"p": f"{self.penalizer:g}", "days": self.history_days}
        if self.code == "holdout":
            row = self.errors.loc[self.penalizer]
            values.update(
                mse=f"{row['mse']:.3f}",
                best=f"{self.errors['mse'].min():.3f}",
                se=f"{self.threshold - self.errors['mse'].min():.3f}",
                a=str(self.calibration_end.date()),
                b=str(self.holdout_end.date()),
                tried=", ".join(f"{p:g}" for p in self.errors.index),
            )
        return text.t(f"clv_fit.penalizer.{self.code}", language, **values)


def select_penalizer(
    transactions: pd.DataFrame,
    as_of: object,
    time_unit: str = "W",
    model: str = "bgnbd",
    grid: tuple[float, ...] = PENALIZER_GRID,
    seed: int = 0,
) -> PenalizerChoice:
    """Choose the penalizer of ``model`` by its holdout error on the history up to ``as_of`` (module docstring).

    Parameters
    ----------
    transactions : DataFrame
        Clean log (``customer_id``, ``order_date``, ``amount``); only purchases up to ``as_of`` are used.
    as_of : date-like
        Last day of the history (inclusive).
    time_unit : {'D', 'W', 'M'}, default='W'
    model : {'bgnbd', 'pareto_nbd', 'mbgnbd'}, default='bgnbd'
    grid : tuple of float
        Penalizers tried (0 = none).
    seed : int, default=0
    """
    end = as_day(as_of)
    days = pd.to_datetime(transactions["order_date"]).dt.normalize()
    days = days[days <= end]
    if days.empty:
        raise InputError(f"no purchase on or before {end.date()}: nothing to choose a penalizer on")
    first = days.min()
    split = holdout_window(first, end)
    if split is None:
        return PenalizerChoice(0.0, code="short_history", history_days=history_days(first, end))
    cal_end, hold_end = split
    summary = summary_from_transactions(transactions, cal_end, hold_end, time_unit)
    rows = []
    models: dict[float, object] = {}
    for p in grid:
        row: dict[str, object] = {"penalizer": float(p), "failed": ""}
        try:
            with np.errstate(all="ignore"):
                # a penalized likelihood is pulled towards typical values and has one optimum in practice: one
                # starting point (the model's guess) is enough; plain maximum likelihood keeps its several starts
                starts = {} if p == 0 else {"n_starts": 1}
                fitted = MODELS[model](penalizer=float(p), seed=seed, **starts).fit(summary)
                models[float(p)] = fitted
                duration = float(summary["duration_holdout"].iloc[0])
                frame = holdout_frame(fitted.conditional_expected_purchases(duration, summary), summary)
                e = errors_of(frame)
            sq = (frame["expected"] - frame["actual"]) ** 2
            row.update({k: e[k] for k in ("rmse", "mae", "expected_total", "actual_total", "total_error_pct")})
            row.update(mse=float(sq.mean()), mse_se=float(sq.std(ddof=1) / math.sqrt(len(sq))) if len(sq) > 1 else 0.0)
        except (CLVFitError, ModelError, ValueError, ArithmeticError) as err:
            code = getattr(err, "code", "not_finite")
            row.update(dict.fromkeys(("mse", "mse_se", "rmse", "mae", "expected_total", "actual_total"), math.nan))
            row.update(total_error_pct=math.nan, failed=code)
        rows.append(row)
    columns = ["mse", "mse_se", "rmse", "mae", "expected_total", "actual_total", "total_error_pct", "failed"]
    errors = pd.DataFrame(rows).set_index("penalizer")[columns]
    scored = errors["mse"].dropna()
    if scored.empty:
        return PenalizerChoice(0.0, errors, math.nan, cal_end, hold_end, "no_fit", history_days(first, end))
    best = scored.idxmin()
    threshold = float(scored[best] + errors.at[best, "mse_se"])
    chosen = float(scored[scored <= threshold].index[0])  # the grid runs from no penalty up
    return PenalizerChoice(chosen, errors, threshold, cal_end, hold_end, "holdout", history_days(first, end), models)
