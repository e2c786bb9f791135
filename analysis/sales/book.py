"""Each rep's book: what the rep's own customers were expected to buy in the period, against what they bought.

A rep who inherited strong accounts sells a lot without growing anything; one who grew weak accounts sells less but
beats what the book promised. So the scorecard sets each rep's revenue from their book against the forecast made at
the period's start:

* **book**: the customers whose last purchase before the period's first day was sold by the rep (transaction log
  column ``sales_rep``), as scored at the previous period's last day (:attr:`analysis.stages.Scored.previous`);
* ``book_expected`` (currency): their forecast spend over the period's days (as many as the run covers), made at the
  period's start: the CLV models (:func:`clv_at_start`: BG/NBD purchases over exactly those days × Gamma-Gamma
  spend per purchase, fitted on the log up to the day before the period); when they cannot be fitted, the run-rate
  forecast of :func:`analysis.strategy.forecast.customer_forecast` (purchases per day of tenure × the period's days);
* ``book_revenue`` (currency): what those customers bought in the period (clean purchases, before returns);
* ``vs_book`` = book_revenue ÷ book_expected; ``above_book`` = book_revenue − book_expected; ``book_rank`` ranks reps by
  ``above_book`` (highest first), so growth over the book ranks, not the book's size.
"""

from __future__ import annotations

import pandas as pd

from analysis.sales.inputs import name_key
from analysis.sales.windows import Span


def book_owner(transactions: pd.DataFrame, before: pd.Timestamp) -> pd.Series:
    """Per customer (index ``customer_id``), the rep of their last purchase before ``before`` (a day)."""
    tx = transactions.loc[(transactions["order_date"] < before) & transactions["sales_rep"].notna()]
    last = tx.sort_values("order_date", kind="stable").groupby("customer_id")["sales_rep"].last()
    return last.rename("sales_rep")


def clv_at_start(
    transactions: pd.DataFrame, span: Span, time_unit: str = "W", penalizer: float = 0.0
) -> pd.DataFrame | None:
    """Each customer's CLV forecast made at ``span``'s first day for ``span``'s days: ``expected_purchases`` (over
    exactly those days) and ``spend_per_purchase`` (currency), from the log before that day; None when the
    models cannot be used there (too few customers, nobody before the period)."""
    from analysis.clv.pipeline import customer_value
    from analysis.errors import RfmkitError

    unit_days = {"D": 1.0, "W": 7.0, "M": 365.25 / 12.0}[time_unit]
    before = transactions.loc[transactions["order_date"] < span.first]
    if before.empty:
        return None
    try:
        value = customer_value(
            before, span.first - pd.Timedelta(days=1), time_unit=time_unit, horizon=span.days / unit_days,
            penalizer=penalizer,
        )  # fmt: skip
    except RfmkitError:
        return None
    if value.attrs.get("clv_method") == "run_rate" or "expected_purchases" not in value.columns:
        return None
    return value[["expected_purchases", "spend_per_purchase"]]


def book_forecast(
    previous: pd.DataFrame,
    transactions: pd.DataFrame,
    span: Span,
    horizon_days: float | None = None,
    reps: pd.Series | None = None,
) -> tuple[pd.DataFrame, str]:
    """Per rep: ``book_customers``, ``book_expected``, ``book_revenue`` (see the module docstring), and the method
    (``clv`` or ``run_rate``).

    Parameters
    ----------
    previous : DataFrame
        The customers scored at the day before ``span.first`` (index ``customer_id``).
    transactions : DataFrame
        Clean purchases: ``customer_id``, ``order_date``, ``amount`` (currency), ``sales_rep``.
    span : Span
        The period (first and last day inclusive).
    horizon_days : float, optional
        Days of the CLV horizon ``expected_purchases`` covers (needed with the CLV columns).
    reps : Series, optional
        The scorecard's rep names; log names are matched to them ignoring case, spaces and punctuation.
    """
    from analysis.strategy.forecast import customer_forecast, has_clv_forecast

    owner = book_owner(transactions, span.first)
    owner = owner.loc[owner.index.isin(previous.index)]
    days = span.days
    if has_clv_forecast(previous) and horizon_days:
        spend = previous["spend_per_purchase"].astype(float)
        if {"monetary", "frequency"} <= set(previous.columns):
            spend = spend.fillna(previous["monetary"] / previous["frequency"].where(previous["frequency"] > 0))
        expected = previous["expected_purchases"].astype(float).fillna(0) * (days / horizon_days) * spend.fillna(0)
        method = "clv"
    else:
        expected = customer_forecast(previous, horizon_days=days)["expected_revenue"]
        method = "run_rate"
    inside = transactions.loc[transactions["order_date"].between(span.first, span.last + pd.Timedelta(days=1), "left")]
    bought = inside.groupby("customer_id")["amount"].sum()
    frame = pd.DataFrame({"sales_rep": owner})
    frame["book_expected"] = expected.reindex(frame.index).fillna(0.0)
    frame["book_revenue"] = bought.reindex(frame.index).fillna(0.0)
    if reps is not None:
        lookup = dict(zip(name_key(reps.astype("string")), reps, strict=False))
        frame["sales_rep"] = name_key(frame["sales_rep"].astype("string")).map(lookup).fillna(frame["sales_rep"])
    out = frame.groupby("sales_rep").agg(
        book_customers=("book_expected", "size"), book_expected=("book_expected", "sum"),
        book_revenue=("book_revenue", "sum"),
    )  # fmt: skip
    return out, method
