"""Per-customer summary statistics (x, t_x, T, m) for the buy-till-you-die models.

Definitions (all used by the published-results tests on CDNOW):

* A **purchase occasion** is a (customer, calendar day). Several records of one customer on one
  day are one occasion whose spend is the day's total; a time part of ``order_date`` is ignored.
* ``frequency`` (x) = number of occasions after the first one in the calibration period (repeat
  purchases); the first purchase is never a repeat.
* ``t_x`` = (date of the last calibration occasion - date of the first occasion) in days, divided
  by the unit length; 0 when x = 0. (Not called "recency": on the RFM side ``recency_days`` is the
  time *since* the last purchase.)
* ``T`` = (``calibration_end`` - date of the first occasion) in days, divided by the unit length.
  Dates are compared as calendar days, i.e. every event is placed at the same time of day: a
  customer whose first purchase is on 1997-01-01 has T = 272 / 7 = 38.857 weeks for the
  calibration end 1997-09-30, and a purchase *on* 09-30 has t_x = T. This is how the published
  CDNOW summary (Fader, Hardie & Lee 2005) is built, and it reproduces their parameters; measuring
  T to the *end* of 09-30 (273 / 7 = 39.0 weeks) does not (BG/NBD log-likelihood -9589.9 instead
  of -9582.4, a = 0.815 instead of 0.793).
* ``monetary_value`` = mean spend of the repeat occasions (occasion spend = the day's total), in
  the currency of ``amount``; NaN when x = 0 (no repeat spend observed). The first occasion's
  spend is excluded, as in Fader & Hardie (2013), which reproduces p, q, gamma on CDNOW.
* Holdout columns (only when ``holdout_end`` is given), over the days after ``calibration_end`` up
  to and including ``holdout_end``: ``frequency_holdout`` (number of occasions),
  ``monetary_holdout`` (mean spend per holdout occasion, NaN when none), ``spend_holdout`` (total
  spend), ``duration_holdout`` = (``holdout_end`` - ``calibration_end``) days / unit length.

Time units: 'D' (1 day), 'W' (7 days), 'M' (365.25 / 12 days). Times are day counts divided by
the unit length, never rounded to calendar weeks or months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.errors import InputError, MissingColumnError
from analysis.window import as_day

#: Length of each supported time unit, in days.
TIME_UNITS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}

#: Column order of a calibration summary (holdout columns are appended when present).
SUMMARY_COLUMNS = ("frequency", "t_x", "T", "monetary_value", "first_purchase")
HOLDOUT_COLUMNS = ("frequency_holdout", "monetary_holdout", "spend_holdout", "duration_holdout")


def unit_days(time_unit: str) -> float:
    """Length of ``time_unit`` in days.

    Parameters
    ----------
    time_unit : {'D', 'W', 'M'}
        Day, week (7 days) or month (365.25 / 12 days).

    Returns
    -------
    float
        Number of days in one unit.
    """
    try:
        return TIME_UNITS[time_unit]
    except (KeyError, TypeError):
        raise InputError(
            f"unknown time_unit {time_unit!r}: use one of {sorted(TIME_UNITS)} (days, weeks, months)"
        ) from None


def purchase_occasions(
    transactions: pd.DataFrame,
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Collapse a transaction log to one row per (customer, calendar day).

    Parameters
    ----------
    transactions : DataFrame
        Clean log with a customer, a datetime and an amount column; other columns are ignored.
    customer_col, date_col, amount_col : str
        Column names.

    Returns
    -------
    DataFrame
        Columns ``customer_id`` (str), ``day`` (datetime64, midnight) and ``amount`` (the day's
        total spend, currency), sorted by customer and day.

    Raises
    ------
    InputError
        A column is missing, a date or customer id is missing, or an amount is negative or NaN.
    """
    missing = [c for c in (customer_col, date_col, amount_col) if c not in transactions.columns]
    if missing:
        raise MissingColumnError(
            f"transactions lack column(s) {missing}; CLV needs {customer_col!r}, {date_col!r} and "
            f"{amount_col!r} (map your columns to these names first)"
        )
    dates = pd.to_datetime(transactions[date_col], errors="coerce")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    amount = pd.to_numeric(transactions[amount_col], errors="coerce").astype(float)
    customers = transactions[customer_col]
    bad = dates.isna() | amount.isna() | customers.isna()
    if bad.any():
        raise InputError(
            f"{int(bad.sum())} transaction row(s) have a missing or unparsable {customer_col!r}, "
            f"{date_col!r} or {amount_col!r}; clean the log first (e.g. rows {list(bad[bad].index[:5])})"
        )
    if (amount < 0).any():
        raise InputError(
            f"{int((amount < 0).sum())} row(s) have a negative {amount_col!r}: remove returns before the CLV summary"
        )
    # one integer key per (customer, day): customer ids factorised once in sorted order, days as day numbers;
    # grouping on it sums each day's amounts as grouping on the text ids and dates does, many times faster
    codes, ids = pd.factorize(customers.astype(str), sort=True)
    days = dates.dt.normalize().to_numpy()
    day_n = days.astype("datetime64[D]").astype("int64")
    lo = int(day_n.min()) if len(day_n) else 0
    span = (int(day_n.max()) - lo + 1) if len(day_n) else 1
    key = codes.astype("int64") * span + (day_n - lo)
    sums = pd.Series(amount.to_numpy(), copy=False).groupby(key, sort=True).sum()
    k = sums.index.to_numpy()
    return pd.DataFrame(
        {
            "customer_id": np.asarray(ids, dtype=object)[k // span],
            "day": (np.datetime64("1970-01-01", "D") + (k % span + lo).astype("timedelta64[D]")).astype(days.dtype),
            "amount": sums.to_numpy(),
        }
    )


def summary_from_transactions(
    transactions: pd.DataFrame,
    calibration_end: object,
    holdout_end: object | None = None,
    time_unit: str = "W",
    *,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
) -> pd.DataFrame:
    """Build the per-customer calibration (and holdout) summary from a clean transaction log.

    Parameters
    ----------
    transactions : DataFrame
        Clean log: ``customer_id`` (str), ``order_date`` (datetime64, a time part is ignored),
        ``amount`` (float, currency, >= 0; zero-value orders count as purchase occasions).
    calibration_end : date-like
        Last day of the calibration period, inclusive (purchases on that day are calibration).
    holdout_end : date-like, optional
        Last day of the holdout period, inclusive. Without it no holdout columns are added and
        purchases after ``calibration_end`` are ignored.
    time_unit : {'D', 'W', 'M'}, default='W'
        Unit of ``t_x``, ``T`` and ``duration_holdout`` (days / 1, 7 or 365.25/12).
    customer_col, date_col, amount_col : str
        Column names of the log.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``, one row per customer whose first purchase is on or before
        ``calibration_end``, with columns ``frequency`` (int), ``t_x``, ``T``, ``monetary_value``,
        ``first_purchase`` (datetime) and, with a holdout, ``frequency_holdout``,
        ``monetary_holdout``, ``spend_holdout``, ``duration_holdout``. ``attrs`` records
        ``time_unit``, ``calibration_end`` and ``holdout_end``. See the module docstring for the
        exact definitions.

    Raises
    ------
    InputError
        Bad columns or values, an unknown unit, ``holdout_end`` not after ``calibration_end``,
        or no customer with a purchase on or before ``calibration_end``.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "a", "b"],
    ...                    "order_date": pd.to_datetime(["1997-01-01", "1997-01-01", "1997-01-15",
    ...                                                  "1997-01-08"]),
    ...                    "amount": [10.0, 5.0, 20.0, 7.0]})
    >>> summary_from_transactions(tx, "1997-01-29")[["frequency", "t_x", "T", "monetary_value"]]
    ... # doctest: +NORMALIZE_WHITESPACE
                 frequency  t_x    T  monetary_value
    customer_id
    a                    1  2.0  4.0            20.0
    b                    0  0.0  3.0             NaN
    """
    length = unit_days(time_unit)
    cal_end = as_day(calibration_end, "calibration_end")
    hold_end = None if holdout_end is None else as_day(holdout_end, "holdout_end")
    if hold_end is not None and hold_end <= cal_end:
        raise InputError(f"holdout_end {hold_end.date()} must be after calibration_end {cal_end.date()}")
    occ = purchase_occasions(transactions, customer_col=customer_col, date_col=date_col, amount_col=amount_col)
    cal = occ[occ["day"] <= cal_end]
    if cal.empty:
        raise InputError(f"no purchase on or before calibration_end {cal_end.date()}: choose a later date")
    grouped = cal.groupby("customer_id", sort=True)
    first = grouped["day"].min()
    last = grouped["day"].max()
    n_occ = grouped.size()
    total = grouped["amount"].sum()
    first_spend = cal.drop_duplicates("customer_id", keep="first").set_index("customer_id")["amount"]
    x = (n_occ - 1).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = (total - first_spend.reindex(x.index)) / x.where(x > 0)
    out = pd.DataFrame(
        {
            "frequency": x,
            "t_x": (last - first).dt.days / length,
            "T": (cal_end - first).dt.days / length,
            "monetary_value": monetary.astype(float),
            "first_purchase": first,
        }
    )
    out.index.name = "customer_id"
    if hold_end is not None:
        hold = occ[(occ["day"] > cal_end) & (occ["day"] <= hold_end) & occ["customer_id"].isin(out.index)]
        hg = hold.groupby("customer_id")
        n_hold = hg.size().reindex(out.index, fill_value=0).astype("int64")
        spend = hg["amount"].sum().reindex(out.index, fill_value=0.0)
        out["frequency_holdout"] = n_hold
        out["monetary_holdout"] = spend / n_hold.where(n_hold > 0)
        out["spend_holdout"] = spend
        out["duration_holdout"] = (hold_end - cal_end).days / length
    out.attrs.update(
        time_unit=time_unit,
        calibration_end=str(cal_end.date()),
        holdout_end=None if hold_end is None else str(hold_end.date()),
    )
    return out
