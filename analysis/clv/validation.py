"""Holdout validation of a fitted purchase model.

* :func:`holdout_by_frequency`: expected vs actual holdout purchases, by calibration frequency
  bucket 0, 1, ..., ``max_bucket - 1``, ``max_bucket``+ (Fader, Hardie & Lee 2005, fig. 5).
* :func:`tracking_curve`: expected vs actual cumulative repeat purchases of the calibration
  cohort over calibration and holdout, one point per time unit (fig. 3/4).
* :func:`holdout_errors`: MAE / RMSE per customer and the error of the aggregate holdout total.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.clv._transaction import TransactionModel
from analysis.clv.summary import purchase_occasions, unit_days
from analysis.errors import InputError, ModelError
from analysis.window import as_day


def _holdout_frame(model: TransactionModel, summary: pd.DataFrame) -> pd.DataFrame:
    need = {"frequency", "t_x", "T", "frequency_holdout", "duration_holdout"}
    if not need <= set(summary.columns):
        raise InputError(
            f"summary lacks holdout columns {sorted(need - set(summary.columns))}: build it with "
            "summary_from_transactions(..., holdout_end=...)"
        )
    unit = summary.attrs.get("time_unit")
    if unit is not None and unit != model.time_unit_:
        raise ModelError(f"model time unit {model.time_unit_!r} differs from the summary's {unit!r}")
    durations = summary["duration_holdout"].unique()
    if len(durations) != 1:
        raise InputError("duration_holdout must be the same for every customer")
    expected = model.conditional_expected_purchases(float(durations[0]), summary)
    return pd.DataFrame(
        {
            "frequency": summary["frequency"].astype(int),
            "actual": summary["frequency_holdout"].astype(float),
            "expected": expected,
        }
    )


def holdout_frame(expected: pd.Series, summary: pd.DataFrame) -> pd.DataFrame:
    """Calibration frequency, actual and ``expected`` holdout repeat purchases per customer of ``summary`` (any
    prediction, e.g. the run-rate estimate's), for :func:`by_frequency` and :func:`errors_of`."""
    return pd.DataFrame(
        {
            "frequency": summary["frequency"].astype(int),
            "actual": summary["frequency_holdout"].astype(float),
            "expected": expected.reindex(summary.index).astype(float),
        }
    )


def holdout_by_frequency(model: TransactionModel, summary: pd.DataFrame, max_bucket: int = 7) -> pd.DataFrame:
    """Mean expected and actual holdout purchases per customer, by calibration frequency.

    Parameters
    ----------
    model : fitted transaction model
    summary : DataFrame
        Calibration/holdout summary (``frequency_holdout``, ``duration_holdout`` needed).
    max_bucket : int, default=7
        Frequencies >= ``max_bucket`` are pooled into the bucket labelled ``"7+"``.

    Returns
    -------
    DataFrame
        Index ``frequency`` ("0", "1", ..., "7+"); columns ``customers``, ``actual`` and
        ``expected`` (mean holdout repeat purchases per customer), ``actual_total``,
        ``expected_total``.
    """
    return by_frequency(_holdout_frame(model, summary), max_bucket)


def by_frequency(frame: pd.DataFrame, max_bucket: int = 7) -> pd.DataFrame:
    """:func:`holdout_by_frequency` of a :func:`holdout_frame`."""
    labels = [str(i) for i in range(max_bucket)] + [f"{max_bucket}+"]
    bucket = pd.Categorical(
        np.where(frame["frequency"] >= max_bucket, f"{max_bucket}+", frame["frequency"].astype(str)),
        categories=labels,
        ordered=True,
    )
    grouped = frame.groupby(bucket, observed=False)
    out = pd.DataFrame(
        {
            "customers": grouped.size(),
            "actual": grouped["actual"].mean(),
            "expected": grouped["expected"].mean(),
            "actual_total": grouped["actual"].sum(),
            "expected_total": grouped["expected"].sum(),
        }
    )
    out.index = pd.Index(labels, name="frequency")
    return out


def holdout_errors(model: TransactionModel, summary: pd.DataFrame) -> dict[str, float]:
    """Error figures of the holdout purchase predictions.

    Returns
    -------
    dict
        ``customers``; ``mae`` and ``rmse`` of expected minus actual holdout repeat purchases per
        customer; ``actual_total``, ``expected_total``, ``total_error`` (expected - actual),
        ``total_error_share`` (error / actual, a fraction: what the reports format as a signed percentage) and
        ``total_error_pct`` (100 * error / actual); both NaN when actual is 0.
    """
    return errors_of(_holdout_frame(model, summary))


def errors_of(frame: pd.DataFrame) -> dict[str, float]:
    """:func:`holdout_errors` of a :func:`holdout_frame`."""
    err = frame["expected"] - frame["actual"]
    actual_total = float(frame["actual"].sum())
    expected_total = float(frame["expected"].sum())
    total_err = expected_total - actual_total
    return {
        "customers": len(frame),
        "mae": float(err.abs().mean()),
        "rmse": float(math.sqrt(float((err**2).mean()))),
        "actual_total": actual_total,
        "expected_total": expected_total,
        "total_error": total_err,
        "total_error_share": total_err / actual_total if actual_total > 0 else float("nan"),
        "total_error_pct": 100.0 * total_err / actual_total if actual_total > 0 else float("nan"),
    }


def tracking_curve(
    model: TransactionModel,
    transactions: pd.DataFrame,
    calibration_end: object,
    holdout_end: object,
) -> pd.DataFrame:
    """Expected vs actual cumulative repeat purchases of the calibration cohort, per time unit.

    The cohort is every customer whose first purchase is on or before ``calibration_end``. Time
    is counted in days from the cohort's first purchase date d0 (calendar-date differences, as in
    the summary); point k is at ``k`` time units after d0 (the last point is ``holdout_end``).
    ``actual_cumulative`` counts the cohort's repeat purchase days on or before the point;
    ``expected_cumulative`` is the sum over customers of the unconditional E[X(point - first
    purchase)] of the model.

    Returns
    -------
    DataFrame
        Index ``period`` (1, 2, ...); columns ``date`` (the point's date, rounded down to a
        day), ``actual_cumulative``, ``expected_cumulative``, ``actual``, ``expected`` (per
        period) and ``in_calibration`` (the point is on or before ``calibration_end``).
    """
    unit = model.time_unit_
    length = unit_days(unit)
    cal_end = as_day(calibration_end, "calibration_end")
    hold_end = as_day(holdout_end, "holdout_end")
    if hold_end <= cal_end:
        raise InputError("holdout_end must be after calibration_end")
    occ = purchase_occasions(transactions)
    occ = occ[occ["day"] <= hold_end]
    first = occ.groupby("customer_id")["day"].transform("min")
    occ = occ[first <= cal_end].assign(first=first[first <= cal_end])
    if occ.empty:
        raise InputError(f"no customer made a first purchase on or before {cal_end.date()}")
    d0 = occ["first"].min()
    repeats = occ[occ["day"] > occ["first"]]
    rep_offsets = (repeats["day"] - d0).dt.days.to_numpy()
    first_offsets = (occ.drop_duplicates("customer_id")["first"] - d0).dt.days.to_numpy()
    horizon_days = (hold_end - d0).days
    n_points = max(math.ceil(horizon_days / length - 1e-9), 1)
    points = np.minimum(np.arange(1, n_points + 1) * length, horizon_days)
    actual = np.searchsorted(np.sort(rep_offsets), points, side="right").astype(float)
    f_vals, f_counts = np.unique(first_offsets, return_counts=True)
    ages = np.clip(points[None, :] - f_vals[:, None], 0.0, None) / length
    expected = (f_counts[:, None] * _new_customer_grid(model, ages)).sum(axis=0)
    out = pd.DataFrame(
        {
            "date": d0 + pd.to_timedelta(np.floor(points), unit="D"),
            "actual_cumulative": actual,
            "expected_cumulative": expected,
        },
        index=pd.RangeIndex(1, n_points + 1, name="period"),
    )
    out["actual"] = out["actual_cumulative"].diff().fillna(out["actual_cumulative"])
    out["expected"] = out["expected_cumulative"].diff().fillna(out["expected_cumulative"])
    out["in_calibration"] = out["date"] <= cal_end
    out.attrs.update(time_unit=unit, calibration_end=str(cal_end.date()), holdout_end=str(hold_end.date()))
    return out


def _new_customer_grid(model: TransactionModel, ages: np.ndarray) -> np.ndarray:
    flat = np.asarray(model.expected_purchases_new_customer(ages.ravel()))
    return flat.reshape(ages.shape)
