"""Which order a transaction line belongs to: the one rule for counting orders.

Used by cleaning (matching returns to orders, :mod:`analysis.data.cancellations`), RFM frequency, KPIs and forecasts
(re-exported as :func:`analysis.customers.rfm.order_keys`).
"""

from __future__ import annotations

import pandas as pd

__all__ = ["order_keys"]


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
