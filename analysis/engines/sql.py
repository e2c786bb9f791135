"""The transaction → customer steps as SQL texts, each run unchanged by DuckDB and by Spark SQL: one text per
step (:data:`CUSTOMER_STEP_SQL` for ``rfmkit summary``, :data:`SCORE_STEP_SQL` for the score step), both built
from one definition of each shared part (the rows read, :func:`_tx`; the RFM window's days and money,
:func:`_window_days`; its orders, :func:`_order_last` and :func:`_window_orders`), so the RFM aggregation is written
once in SQL (and once in pandas, the reference).

Why plain SQL rather than a portable dataframe layer (ibis, narwhals):

* Both engines are SQL engines first. DuckDB's and Spark's optimisers see the whole query (one scan,
  hash aggregations, no Python in the loop); the texts below *are* what runs (composed once, at import,
  from the shared parts), so what is tested is what is benchmarked.
* The dialect common to DuckDB and Spark SQL covers everything the steps need: ``GROUP BY``,
  ``MIN_BY``, ``MEDIAN``, ``LAG``, ``CASE``, ``COALESCE``, ``CONCAT``, ``CAST(… AS STRING)`` and the
  day number ``unix_date(date)`` (built into Spark; a one-line macro in DuckDB, see
  :data:`DUCKDB_MACROS`). Parameters are bound (``:name``; DuckDB's ``$name`` by
  :func:`duckdb_text`), never formatted into the text.
* ibis would add a large dependency whose expressions compile to SQL anyway, with its own version
  coupling to each backend; narwhals does not run on Spark SQL the same way it runs on DuckDB, and its
  lazy API lacks a ``MIN_BY``. Neither would remove the need to test every engine against pandas.

Input: a relation named ``transactions`` with the canonical clean columns ``customer_id`` (string),
``order_id`` (string or NULL; NULL when the log has none), ``day_n`` (the purchase day as days since
1970-01-01, an integer) and ``amount`` (double). Each engine builds that view from its input (Parquet,
CSV, a pandas frame); see :meth:`analysis.engines.base.SQLEngine.register`.

Output: one row per customer with a row on or before ``as_of``, raw aggregates only (integer day
numbers, counts, sums). The arithmetic that turns them into the published columns (day counts divided
by the time unit, the repeat-spend mean, the rounding of ``monetary``) is done once in Python by
:func:`analysis.engines.base.frames_from_aggregates`, with the same floating-point operations as the
pandas code in :mod:`analysis.customers.rfm` and :mod:`analysis.clv.summary`, so every engine applies
the same rounding.

Definitions reproduced (see those modules): rows after ``as_of`` are ignored (``as_of`` inclusive);
the RFM columns count only the window ``window_start < day <= as_of`` (``window_start`` = ``as_of -
lookback_days``, or far in the past); ``frequency`` = distinct order keys of purchase rows (``amount
>= 0``), the order key of a row without ``order_id`` being its day; ``monetary`` = every amount in the
window (netted returns included); a BTYD purchase occasion is a (customer, day) whose spend is the
day's total; holdout occasions are the days ``as_of < day <= holdout_end``.
"""

from __future__ import annotations

import re

#: The order key of a row: its ``order_id``, or its day when the log has no order ids.
_ORDER_KEY = "COALESCE(order_id, CONCAT('~day~', CAST(day_n AS STRING)))"


def _tx(last_day: str) -> str:
    """The ``tx`` CTE: the rows with a customer up to ``last_day`` (a parameter), with their order key."""
    return f"""tx AS (
    SELECT customer_id, day_n, amount, {_ORDER_KEY} AS order_key
    FROM transactions
    WHERE customer_id IS NOT NULL AND day_n <= {last_day}
)"""


def _window_days(prefix: str, start: str, end: str) -> str:
    """The RFM window ``start < day <= end`` over ``occasions`` (one row per customer and day, with ``bought``:
    the day has a purchase row, ``amount >= 0``): first and last purchase day and the spend of every row in it.
    The one definition of the RFM window's days and money, used by every step's SQL."""
    inside = f"day_n > {start} AND day_n <= {end}"
    return f"""MIN(CASE WHEN bought = 1 AND {inside} THEN day_n END) AS {prefix}first_purchase_n,
           MAX(CASE WHEN bought = 1 AND {inside} THEN day_n END) AS {prefix}last_purchase_n,
           COALESCE(SUM(CASE WHEN {inside} THEN amount END), 0.0) AS {prefix}window_spend"""


def _order_last(prefix: str, end: str) -> str:
    """Per order (a ``GROUP BY customer_id, order_key`` of ``tx``): its last purchase day up to ``end``."""
    return f"MAX(CASE WHEN amount >= 0 AND day_n <= {end} THEN day_n END) AS {prefix}last_p"


def _window_orders(prefix: str, start: str) -> str:
    """Per customer, over the orders of :func:`_order_last`: the orders in the RFM window, i.e. with a purchase
    row in it (their last purchase day up to the window's end is after its start). The one definition of the RFM
    frequency; one ``GROUP BY`` of the orders instead of a ``COUNT(DISTINCT …)`` per window."""
    return f"COUNT(CASE WHEN {prefix}last_p > {start} THEN 1 END) AS {prefix}n_orders"


#: The summary step (``rfmkit summary``): one row per customer with a row on or before ``as_of``, the BTYD
#: calibration and holdout aggregates and the RFM window's (:func:`_window_days`, :func:`_window_orders`).
#: Parameters: ``as_of_n``, ``window_start_n``, ``end_n`` (``holdout_end``, or ``as_of`` without a holdout), all
#: day numbers.
CUSTOMER_STEP_SQL = f"""
WITH {_tx(":end_n")},
occasions AS (
    SELECT customer_id, day_n, SUM(amount) AS amount,
           MAX(CASE WHEN amount >= 0 THEN 1 ELSE 0 END) AS bought
    FROM tx
    GROUP BY customer_id, day_n
),
calibration AS (
    SELECT customer_id,
           MIN(day_n) AS first_n,
           MAX(day_n) AS last_n,
           COUNT(*) AS n_occasions,
           SUM(amount) AS total_spend,
           MIN_BY(amount, day_n) AS first_spend,
           {_window_days("", ":window_start_n", ":as_of_n")}
    FROM occasions
    WHERE day_n <= :as_of_n
    GROUP BY customer_id
),
holdout AS (
    SELECT customer_id, COUNT(*) AS n_holdout, SUM(amount) AS spend_holdout
    FROM occasions
    WHERE day_n > :as_of_n
    GROUP BY customer_id
),
orders AS (
    SELECT customer_id, {_order_last("", ":as_of_n")}
    FROM tx
    GROUP BY customer_id, order_key
),
order_counts AS (
    SELECT customer_id, {_window_orders("", ":window_start_n")}
    FROM orders
    GROUP BY customer_id
)
SELECT c.customer_id,
       c.first_n,
       c.last_n,
       c.n_occasions,
       c.total_spend,
       c.first_spend,
       COALESCE(h.n_holdout, 0) AS n_holdout,
       COALESCE(h.spend_holdout, 0.0) AS spend_holdout,
       c.first_purchase_n,
       c.last_purchase_n,
       o.n_orders,
       c.window_spend
FROM calibration AS c
LEFT JOIN holdout AS h ON h.customer_id = c.customer_id
JOIN order_counts AS o ON o.customer_id = c.customer_id
"""

#: One pass over the log for the checks the BTYD summary makes before it trusts the data: rows with
#: a missing customer, day or amount, and rows with a negative amount (returns not removed).
CHECK_SQL = """
SELECT COUNT(*) AS n_rows,
       COALESCE(SUM(CASE WHEN customer_id IS NULL OR day_n IS NULL OR amount IS NULL
                         OR isnan(amount) THEN 1 ELSE 0 END), 0) AS n_missing,
       COALESCE(SUM(CASE WHEN amount < 0 THEN 1 ELSE 0 END), 0) AS n_negative
FROM transactions
"""

#: DuckDB lacks Spark's ``unix_date``; this macro gives it the same meaning (days since 1970-01-01).
DUCKDB_MACROS = ("CREATE OR REPLACE TEMP MACRO unix_date(d) AS date_diff('day', DATE '1970-01-01', d)",)

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def duckdb_text(sql: str) -> str:
    """The shared SQL with Spark's ``:name`` parameter markers written as DuckDB's ``$name``."""
    return _PARAM.sub(r"$\1", sql)


#: The score step (``rfmkit score`` and the batch's score stage): everything the scoring needs from the
#: log in one scan, one row per customer with a row on or before ``as_of``:
#:
#: * the BTYD calibration aggregates of :data:`CUSTOMER_STEP_SQL` (no holdout);
#: * the RFM window aggregates as of ``as_of`` (window ``window_start < day <= as_of``) and as of the day
#:   before the period, ``prev_n`` (window ``prev_window_start < day <= prev_n``), prefixed ``p_``;
#: * the lifecycle facts of :mod:`analysis.customers.lifecycle`: purchase days (every row's day, whatever
#:   its amount), the median gap in days between consecutive purchase days, up to ``as_of`` and up to
#:   ``prev_n`` (``prev_last_n``, ``prev_days``, ``prev_median_gap``; a gap ending on or before ``prev_n``
#:   starts before it, so the gaps up to ``prev_n`` are a subset of the gaps up to ``as_of``);
#: * for the CLV's run-rate fallback (:func:`analysis.clv.run_rate.run_rate_facts`): ``in_retention_base``, 1 when
#:   the customer has a purchase day in the earlier retention window ``base_from_n <= day <= base_to_n``.
#:
#: An order is in a window when one of its purchase rows is, i.e. when its last purchase day up to the window's
#: end is after the window's start: one ``GROUP BY`` of the orders replaces two ``COUNT(DISTINCT …)`` and gives
#: the same counts. The window's first and last purchase day and spend come from the purchase days (a day is a
#: purchase day of the window when one of its rows has ``amount >= 0``).
#: ``MEDIAN`` is built into DuckDB and Spark SQL (3.4+); on whole-day gaps both interpolate the two middle
#: values exactly as pandas' median does. The gaps are 32-bit integers (days): the medians keep every gap of every
#: customer in memory until the end of the pass (DuckDB cannot spill them), half as much as 64-bit ones.
#: Parameters: ``as_of_n``, ``window_start_n``, ``prev_n``, ``prev_window_start_n``, ``base_from_n``, ``base_to_n``
#: (day numbers).
SCORE_STEP_SQL = f"""
WITH {_tx(":as_of_n")},
occasions AS (
    SELECT customer_id, day_n, SUM(amount) AS amount,
           MAX(CASE WHEN amount >= 0 THEN 1 ELSE 0 END) AS bought,
           CAST(day_n - LAG(day_n) OVER (PARTITION BY customer_id ORDER BY day_n) AS INT) AS gap
    FROM tx
    GROUP BY customer_id, day_n
),
calibration AS (
    SELECT customer_id,
           MIN(day_n) AS first_n, MAX(day_n) AS last_n, COUNT(*) AS n_occasions,
           SUM(amount) AS total_spend, MIN_BY(amount, day_n) AS first_spend,
           MEDIAN(gap) AS median_gap,
           MAX(CASE WHEN day_n <= :prev_n THEN day_n END) AS prev_last_n,
           COUNT(CASE WHEN day_n <= :prev_n THEN 1 END) AS prev_days,
           MEDIAN(CASE WHEN day_n <= :prev_n THEN gap END) AS prev_median_gap,
           {_window_days("", ":window_start_n", ":as_of_n")},
           {_window_days("p_", ":prev_window_start_n", ":prev_n")},
           MAX(CASE WHEN day_n >= :base_from_n AND day_n <= :base_to_n THEN 1 ELSE 0 END) AS in_retention_base
    FROM occasions
    GROUP BY customer_id
),
orders AS (
    SELECT customer_id, {_order_last("", ":as_of_n")}, {_order_last("p_", ":prev_n")}
    FROM tx
    GROUP BY customer_id, order_key
),
order_counts AS (
    SELECT customer_id, {_window_orders("", ":window_start_n")}, {_window_orders("p_", ":prev_window_start_n")}
    FROM orders
    GROUP BY customer_id
)
SELECT c.*, o.n_orders, o.p_n_orders
FROM calibration AS c
JOIN order_counts AS o ON o.customer_id = c.customer_id
"""

#: The checks of :data:`CHECK_SQL` on the rows up to ``as_of`` (the rows the score step reads), with the
#: first and last purchase day of the whole input (the data's bounds: ``rfmkit score`` refuses an ``as_of``
#: before them, and a period starting on or before the first is left-censored). Parameter: ``as_of_n``.
SCORE_CHECK_SQL = """
SELECT COUNT(*) AS n_rows,
       COALESCE(SUM(CASE WHEN day_n <= :as_of_n AND (customer_id IS NULL OR amount IS NULL OR isnan(amount))
                         THEN 1 ELSE 0 END), 0) AS n_missing,
       COALESCE(SUM(CASE WHEN day_n <= :as_of_n AND amount < 0 THEN 1 ELSE 0 END), 0) AS n_negative,
       MIN(day_n) AS first_day_n,
       MAX(day_n) AS last_day_n
FROM transactions
"""
