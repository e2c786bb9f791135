"""RFM: the customer summary as of a date and tie-aware 1–5 scores.

Definitions (one place; the DuckDB and Spark engines must reproduce exactly these):

* Transactions dated after ``as_of`` are ignored; ``as_of`` itself is included (a purchase on the
  ``as_of`` day has recency 0). With ``lookback_days = L`` only purchases in the L days ending on
  ``as_of`` count, i.e. ``as_of - L < date <= as_of``.
* ``recency_days``: whole days from the day of the last purchase to ``as_of``.
* ``frequency``: distinct orders (distinct ``order_id``; a row without an order id counts as one
  order per customer and purchase day), counting only purchase rows (``amount`` ≥ 0; netted returns are negative).
* ``monetary``: total spend in the window in the log's currency (returns, when netted in with
  negative amounts by :func:`analysis.data.clean.net_returns`, reduce it).
* ``first_purchase`` / ``last_purchase``: days of the first and last purchase in the window.

Scores are 1–5, 5 best (most recent, most frequent, highest spend). Cut points are the 20/40/60/80 %
quantiles (linear interpolation) of the scored customers' values, or four user-given thresholds.
For frequency and monetary, score = 1 + number of cut points *strictly below* the value; for
recency, where lower is better, score = 1 + number of cut points *strictly above* the value. Equal
values therefore always get equal scores, and a heavy tie (most customers buy once) takes one score
instead of being spread arbitrarily over several, which is what makes a plain ``qcut`` fail. A value
equal to a cut point takes the lower score; when every customer has the same value all score 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.contract import validate_customers
from analysis.customers.segments import assign_segments, gather_text, validate_rules, value_classes
from analysis.data.orders import order_keys  # noqa: F401  (the one rule for counting orders, re-exported)
from analysis.params import RFMParams, ScoreThresholds
from analysis.window import as_day

QUANTILES: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
SUMMARY_COLUMNS = ["first_purchase", "last_purchase", "recency_days", "frequency", "monetary"]
#: The 125 RFM codes "111" … "555", at (r - 1) * 25 + (f - 1) * 5 + (m - 1).
_CODES = np.array([f"{r}{f}{m}" for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)], dtype=object)


def as_timestamp(as_of: str | pd.Timestamp) -> pd.Timestamp:
    """``as_of`` as a day (midnight) timestamp."""
    return as_day(as_of)


def rfm_summary(
    transactions: pd.DataFrame,
    as_of: str | pd.Timestamp,
    lookback_days: int | None = None,
) -> pd.DataFrame:
    """Per-customer recency (days), frequency (orders) and monetary (currency) as of a day.

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions: ``customer_id``, ``order_date``, ``amount`` and optionally ``order_id``.
    as_of : date-like
        The day the summary is taken on (inclusive).
    lookback_days : int, optional
        Only the ``lookback_days`` days ending on ``as_of`` count; all history when None.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (sorted), columns ``first_purchase``, ``last_purchase``,
        ``recency_days``, ``frequency``, ``monetary``. Customers without a purchase in the window
        are absent.
    """
    day0 = as_timestamp(as_of)
    end_n = _day_n(day0)
    start_n = end_n - lookback_days if lookback_days is not None else None
    stamps = transactions["order_date"]
    raw = (stamps.dt.tz_localize(None) if getattr(stamps.dt, "tz", None) is not None else stamps).to_numpy(
        dtype="datetime64[ns]"
    )
    day = raw.astype("datetime64[D]").astype("int64")
    unit = stamps.dtype if isinstance(stamps.dtype, np.dtype) else np.dtype("datetime64[ns]")  # as the input's
    keep = ~np.isnat(raw) & (day <= end_n)
    if start_n is not None:
        keep &= day > start_n
    codes, uniques = pd.factorize(transactions["customer_id"].astype("string"), sort=True)
    keep &= codes >= 0
    cust, day = codes[keep].astype("int64"), day[keep]
    amount = transactions["amount"].to_numpy(dtype=float)[keep]
    bought = amount >= 0
    n = len(uniques)
    # orders: distinct (customer, order key) among the purchase rows, on integer codes (see order_keys)
    order = _order_codes(transactions, keep, day)
    pairs = np.sort(cust[bought] * (int(order.max(initial=0)) + 1) + order[bought])
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs
    frequency = np.bincount(pairs // (int(order.max(initial=0)) + 1), minlength=n)
    by_customer = pd.Series(day[bought]).groupby(cust[bought])
    first, last = by_customer.min(), by_customer.max()
    # row-order sums per customer, as a groupby on the ids sums them
    spend = pd.Series(amount).groupby(cust).sum()
    who = first.index.to_numpy()
    last_n = last.to_numpy(dtype="int64")
    out = pd.DataFrame(
        {
            "first_purchase": _dates(first.to_numpy(dtype="int64"), unit),
            "last_purchase": _dates(last_n, unit),
            "recency_days": (end_n - last_n).astype("int64"),
            "frequency": frequency[who].astype("int64"),
            # rounded to 1e-6 currency units so that sums such as 0.1 + 0.2 equal 0.3 (equal values, equal scores)
            "monetary": spend.reindex(who).to_numpy(dtype=float).round(6),
        },
        index=pd.Index(np.asarray(uniques, dtype=object)[who], dtype="string", name="customer_id"),
    )
    return out[SUMMARY_COLUMNS]


def _day_n(day: pd.Timestamp) -> int:
    """Days since 1970-01-01 of a (naive) day."""
    return int((day.tz_localize(None) - pd.Timestamp("1970-01-01")).days)


def _dates(n: np.ndarray, unit: np.dtype) -> np.ndarray:
    return (np.datetime64("1970-01-01", "D") + n.astype("timedelta64[D]")).astype(unit)


def _order_codes(transactions: pd.DataFrame, keep: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Integer order keys of the kept rows, the rule of :func:`order_keys`: the ``order_id``'s code where there is
    one, else one key per day (combined with the customer by the caller: one order per customer and day)."""
    lo = int(day.min()) if len(day) else 0
    if "order_id" in transactions.columns:
        oid, labels = pd.factorize(transactions["order_id"].astype("string"))
        oid = oid[keep]
        return np.where(oid >= 0, oid, len(labels) + day - lo).astype("int64")
    return (day - lo).astype("int64")


def cut_points(values: pd.Series, given: list[float] | None = None) -> np.ndarray:
    """The four score boundaries: ``given`` if set, else the 20/40/60/80 % quantiles of ``values``."""
    if given is not None:
        return np.asarray(given, dtype=float)
    if values.empty:
        return np.full(4, np.nan)
    return np.quantile(values.to_numpy(dtype=float), QUANTILES)


def score(values: pd.Series, cuts: np.ndarray, higher_is_better: bool = True) -> pd.Series:
    """1–5 scores from cut points; see the module docstring for the tie rule."""
    v = values.to_numpy(dtype=float)
    if higher_is_better:
        s = 1 + np.searchsorted(cuts, v, side="left")
    else:
        s = 1 + (len(cuts) - np.searchsorted(cuts, v, side="right"))
    return pd.Series(s.astype("int64"), index=values.index)


def score_rfm(summary: pd.DataFrame, thresholds: ScoreThresholds | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add ``r_score``, ``f_score``, ``m_score`` and ``rfm_code`` to an RFM summary.

    Returns
    -------
    scored : DataFrame
        ``summary`` with the score columns.
    cuts : DataFrame
        The cut points used, one row per measure (``recency_days``, ``frequency``, ``monetary``),
        columns ``q20``…``q80`` and ``source`` (``quantile`` or ``params``).
    """
    thresholds = thresholds or ScoreThresholds()
    out = summary.copy(deep=False)  # copy-on-write: the score columns never reach the summary
    rows = {}
    for col, name, better in (
        ("recency_days", "r_score", False),
        ("frequency", "f_score", True),
        ("monetary", "m_score", True),
    ):
        given = getattr(thresholds, col)
        cuts = cut_points(summary[col], given)
        out[name] = score(summary[col], cuts, higher_is_better=better)
        rows[col] = [*cuts, "params" if given is not None else "quantile"]
    r, f, m = (out[c].to_numpy(dtype="int64") for c in ("r_score", "f_score", "m_score"))
    out["rfm_code"] = pd.Series(gather_text(_CODES, (r - 1) * 25 + (f - 1) * 5 + (m - 1)), index=out.index)
    cuts_df = pd.DataFrame.from_dict(rows, orient="index", columns=["q20", "q40", "q60", "q80", "source"])
    cuts_df.index.name = "measure"
    return out, cuts_df


@dataclass
class RFMResult:
    """Scored customers (indexed by ``customer_id``), the cut points used and the ``as_of`` day."""

    customers: pd.DataFrame
    cut_points: pd.DataFrame
    as_of: pd.Timestamp


def score_customers(
    transactions: pd.DataFrame,
    as_of: str | pd.Timestamp,
    params: RFMParams | None = None,
) -> RFMResult:
    """The whole RFM step: summary, scores, ``segment`` and the 8-class ``value_class``.

    Columns of the result: ``first_purchase``, ``last_purchase``, ``recency_days``, ``frequency``,
    ``monetary``, ``r_score``, ``f_score``, ``m_score``, ``rfm_code``, ``segment``,
    ``value_class`` (Chinese name), ``value_class_en``.
    """
    params = params or RFMParams()
    return score_summary(rfm_summary(transactions, as_of, params.lookback_days), as_of, params)


def score_summary(summary: pd.DataFrame, as_of: str | pd.Timestamp, params: RFMParams | None = None) -> RFMResult:
    """:func:`score_customers` from an RFM summary already made (by :func:`rfm_summary` or an engine,
    :class:`analysis.engines.base.ScoreInputs`): scores, ``segment`` and the value classes."""
    params = params or RFMParams()
    rules = validate_rules(params.segment_rules, "rfm.segment_rules") if params.segment_rules else None
    scored, cuts = score_rfm(summary, params.thresholds)
    scored["segment"] = assign_segments(scored, rules) if len(scored) else pd.Series(dtype=object)
    vc = value_classes(scored)
    scored["value_class"] = vc["value_class"]
    scored["value_class_en"] = vc["value_class_en"]
    return RFMResult(customers=validate_customers(scored), cut_points=cuts, as_of=as_timestamp(as_of))
