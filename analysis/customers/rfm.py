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
from analysis.customers.segments import assign_segments, validate_rules, value_classes
from analysis.params import RFMParams, ScoreThresholds

QUANTILES: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
SUMMARY_COLUMNS = ["first_purchase", "last_purchase", "recency_days", "frequency", "monetary"]


def as_timestamp(as_of: str | pd.Timestamp) -> pd.Timestamp:
    """``as_of`` as a day (midnight) timestamp."""
    return pd.Timestamp(as_of).normalize()


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
    day = transactions["order_date"].dt.normalize()
    keep = day <= day0
    if lookback_days is not None:
        keep &= day > day0 - pd.Timedelta(days=lookback_days)
    tx = transactions.loc[keep, ["customer_id", "amount"]].copy()
    tx["day"] = day[keep]
    tx["order_key"] = order_keys(transactions.loc[keep]).to_numpy()
    tx["customer_id"] = tx["customer_id"].astype("string")
    purchases = tx[tx["amount"] >= 0]
    grouped = purchases.groupby("customer_id", sort=True)
    out = pd.DataFrame(
        {
            "first_purchase": grouped["day"].min(),
            "last_purchase": grouped["day"].max(),
            "frequency": grouped["order_key"].nunique(),
        }
    )
    # rounded to 1e-6 currency units so that sums such as 0.1 + 0.2 equal 0.3 (equal values, equal scores)
    out["monetary"] = tx.groupby("customer_id")["amount"].sum().reindex(out.index).astype(float).round(6)
    out["recency_days"] = (day0 - out["last_purchase"]).dt.days.astype("int64")
    out["frequency"] = out["frequency"].astype("int64")
    out.index = out.index.astype("string")
    out.index.name = "customer_id"
    return out[SUMMARY_COLUMNS]


def order_keys(transactions: pd.DataFrame) -> pd.Series:
    """The order each transaction line belongs to: the one rule for counting orders (RFM, KPIs, forecasts).

    Parameters
    ----------
    transactions : DataFrame
        With ``customer_id``, ``order_date`` and optionally ``order_id``.

    Returns
    -------
    Series of str
        ``order_id`` where present, else ``"~<customer_id>|<YYYY-MM-DD>"``: lines without an order id form
        one order per customer and day.
    """
    day = pd.to_datetime(transactions["order_date"]).dt.strftime("%Y-%m-%d")
    fallback = "~" + transactions["customer_id"].astype(str) + "|" + day
    if "order_id" not in transactions.columns:
        return fallback
    oid = transactions["order_id"]
    return oid.astype(str).where(oid.notna(), fallback)


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
    out = summary.copy()
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
    out["rfm_code"] = (out["r_score"].astype(str) + out["f_score"].astype(str) + out["m_score"].astype(str)).astype(
        object
    )
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
    rules = validate_rules(params.segment_rules, "rfm.segment_rules") if params.segment_rules else None
    summary = rfm_summary(transactions, as_of, params.lookback_days)
    scored, cuts = score_rfm(summary, params.thresholds)
    scored["segment"] = assign_segments(scored, rules) if len(scored) else pd.Series(dtype=object)
    vc = value_classes(scored)
    scored["value_class"] = vc["value_class"]
    scored["value_class_en"] = vc["value_class_en"]
    return RFMResult(customers=validate_customers(scored), cut_points=cuts, as_of=as_timestamp(as_of))
