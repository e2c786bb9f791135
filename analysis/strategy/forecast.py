"""Next-period purchases and revenue per segment, and a backtest against what actually happened.

Definitions
-----------
CLV method (``method == "clv"``)
    Per customer: expected purchases = ``expected_purchases`` (BG/NBD or Pareto/NBD, over the
    horizon the CLV models were run with); expected revenue (currency) = ``expected_purchases`` ×
    ``spend_per_purchase`` (Gamma-Gamma spend per purchase; ``monetary / frequency`` where missing).
Run-rate method (``method == "run_rate"``, used when the CLV columns are absent)
    Per customer: purchases per day = ``frequency / max(tenure_days, min_tenure_days)`` with
    ``tenure_days`` = days from first purchase to the scoring date (``recency_days`` +
    last − first purchase); expected purchases = rate × ``horizon_days``; expected revenue =
    expected purchases × ``monetary / frequency``. It ignores churn, so it overstates lapsed
    customers: run the CLV models for a real forecast.
Purchase-model method (``method == "model"``, :func:`model_forecast`)
    Per customer: expected purchases = the fitted purchase model's conditional expectation of purchases in the next
    ``horizon_days`` given the customer's history (:meth:`~analysis.clv._transaction.TransactionModel.
    conditional_expected_purchases`: P(alive) × the expected purchases of an active customer) counts purchase
    *occasions* (customer-days, :mod:`analysis.clv.summary`); they are turned into **orders**, the unit of the run
    rate and of the backtest, with the customer's own orders per occasion over the history the model was fitted on
    (:func:`orders_per_occasion`: 2 for a customer whose every day holds two invoices). Expected revenue = expected
    orders × ``monetary / frequency``, the same spend per order as the run rate (= occasions × spend per occasion),
    so the two methods differ only in the orders they expect.
Choice (:func:`choose_method`)
    Both methods forecast orders, the unit of ``actual_purchases``. Both are made at the end of the previous period
    (the model refitted on the history up to then) and backtested on this period; the one with the smaller error is
    used for the next period's forecast. The error is the sum over segments of |forecast − actual purchases| (so
    errors of opposite sign in two segments do not cancel); ties go to the purchase model.
Backtest
    A forecast made at one date is compared with the transactions of the following period
    ``[start, end]`` (inclusive days; it should match the forecast horizon). Actual purchases are
    distinct orders (see :func:`analysis.customers.kpi.order_keys`); actual revenue is their amount,
    net of the period's returns when ``returns`` are given (as the forecast's spend is when the strategy
    stage makes it). Error = forecast − actual; ``pct_error`` = error / actual. Customers absent from the
    forecast frame are shown as ``"(new)"`` and left out of the ``"(all existing)"`` total, since nobody
    forecast them. By segment, or by **frequency bucket** (:func:`frequency_bucket`: the orders a customer
    had when the forecast was made), which shows where the method errs: one-time buyers are the hardest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.customers.kpi import order_keys, period_mask, require_columns
from analysis.errors import InputError, ParamsError
from analysis.window import as_day

CLV_COLUMNS: tuple[str, ...] = ("expected_purchases", "spend_per_purchase")
#: the CLV columns a forecast made here replaces (dropped before a run-rate or model forecast is made)
CLV_FORECAST_COLUMNS: tuple[str, ...] = ("expected_purchases", "spend_per_purchase", "expected_spend_horizon")
NEW, ALL_EXISTING = "(new)", "(all existing)"
#: Frequency buckets (orders when the forecast was made): lower bounds and labels, in order.
FREQUENCY_BUCKETS: tuple[tuple[int, str], ...] = ((1, "1"), (2, "2"), (3, "3–4"), (5, "5–9"), (10, "10+"))


def frequency_bucket(frequency: pd.Series) -> pd.Series:
    """The bucket of each customer's order count (:data:`FREQUENCY_BUCKETS`: ``1``, ``2``, ``3–4``, ``5–9``,
    ``10+``), as an ordered categorical with the same index."""
    edges = [b for b, _ in FREQUENCY_BUCKETS] + [np.inf]
    labels = [name for _, name in FREQUENCY_BUCKETS]
    f = frequency.astype(float).clip(lower=1)
    return pd.cut(f, bins=edges, labels=labels, right=False).rename("frequency_bucket")


def has_clv_forecast(customers: pd.DataFrame) -> bool:
    """Whether the CLV forecast columns are present and not all missing."""
    return all(c in customers.columns for c in CLV_COLUMNS) and bool(customers["expected_purchases"].notna().any())


def customer_forecast(
    customers: pd.DataFrame,
    *,
    horizon_days: int | None = None,
    min_tenure_days: int = 90,
) -> pd.DataFrame:
    """Expected purchases and revenue per customer for the next period.

    Parameters
    ----------
    customers : DataFrame
        Customer frame (index ``customer_id``); with ``expected_purchases`` and ``spend_per_purchase``
        for the CLV method, else ``frequency``, ``monetary``, ``recency_days``, ``first_purchase``
        and ``last_purchase`` for the run-rate method.
    horizon_days : int, optional
        Forecast horizon in days; required by the run-rate method (ignored by the CLV method,
        whose horizon is the one the CLV models used).
    min_tenure_days : int, default=90
        Floor on the tenure used by the run-rate method.

    Returns
    -------
    DataFrame
        Index ``customer_id``; ``segment`` / ``value_class`` when present, ``expected_purchases``,
        ``spend_per_purchase`` (currency per purchase), ``expected_revenue`` (currency), ``method``.
    """
    c = customers
    out = pd.DataFrame(index=c.index)
    for col in ("segment", "value_class", "value_class_en", "abc_class"):
        if col in c.columns:
            out[col] = c[col]
    aov = None
    if {"monetary", "frequency"} <= set(c.columns):
        aov = c["monetary"].astype(float) / c["frequency"].astype(float).where(c["frequency"] > 0)
    if has_clv_forecast(c):
        out["expected_purchases"] = c["expected_purchases"].astype(float).fillna(0.0)
        spend = c["spend_per_purchase"].astype(float)
        out["spend_per_purchase"] = spend.fillna(aov) if aov is not None else spend
        out["method"] = "clv"
    else:
        need = ("frequency", "monetary", "recency_days", "first_purchase", "last_purchase")
        require_columns(c, need, "customer frame", "run the CLV models, or score customers with analysis.customers.rfm")
        if horizon_days is None or horizon_days <= 0:
            raise ParamsError(
                "forecast: no CLV columns (expected_purchases, spend_per_purchase), so the run-rate method "
                "needs horizon_days > 0; or run the CLV models first"
            )
        span = (pd.to_datetime(c["last_purchase"]) - pd.to_datetime(c["first_purchase"])).dt.days
        tenure = (span + c["recency_days"]).clip(lower=min_tenure_days)
        out["expected_purchases"] = c["frequency"].astype(float) / tenure * horizon_days
        out["spend_per_purchase"] = aov
        out["method"] = "run_rate"
    out["expected_revenue"] = out["expected_purchases"] * out["spend_per_purchase"].fillna(0.0)
    return out


def orders_per_occasion(transactions: pd.DataFrame, as_of: object) -> pd.Series:
    """Each customer's orders per purchase occasion over the history up to ``as_of`` (inclusive day).

    Orders are distinct :func:`~analysis.customers.kpi.order_keys`; occasions are distinct (customer, calendar day)
    pairs, as the purchase models count them (:mod:`analysis.clv.summary`). A customer with two invoices on each of
    their purchase days has 2.0; one without an order id on some line never goes below 1.0.

    Returns
    -------
    Series of float
        Index ``customer_id`` (str), ratio >= 1.
    """
    require_columns(transactions, ("customer_id", "order_date"), "transactions", "pass clean transactions")
    t = transactions[pd.to_datetime(transactions["order_date"]).dt.normalize() <= as_day(as_of)]
    cid = t["customer_id"].astype(str)
    orders = order_keys(t).groupby(cid).nunique()
    days = pd.to_datetime(t["order_date"]).dt.normalize().groupby(cid).nunique()
    return (orders / days).clip(lower=1.0).rename("orders_per_occasion")


def model_forecast(
    customers: pd.DataFrame,
    model: object,
    summary: pd.DataFrame,
    *,
    horizon_days: int,
    orders_per_occasion: pd.Series,
) -> pd.DataFrame:
    """Expected orders and revenue per customer in the next ``horizon_days`` days from a fitted purchase model.

    Parameters
    ----------
    customers : DataFrame
        Customer frame (index ``customer_id``) with ``monetary`` and ``frequency`` (spend per order) and the
        grouping columns to keep (``segment`` …).
    model : fitted BGNBD, ModifiedBGNBD or ParetoNBD
    summary : DataFrame
        The model's per-customer summary (``frequency``, ``t_x``, ``T`` in its time unit) as of the forecast date.
    horizon_days : int
        Days ahead.
    orders_per_occasion : Series
        Per customer (:func:`orders_per_occasion` over the same history as ``summary``): the model's expected
        purchase occasions × this = expected orders (1.0 for a customer missing from it).

    Returns
    -------
    DataFrame
        As :func:`customer_forecast` (``expected_purchases`` in orders), ``method`` = ``"model"``; a customer
        missing from ``summary`` expects 0.
    """
    from analysis.clv.summary import unit_days

    if horizon_days <= 0:
        raise ParamsError(f"forecast: horizon_days must be > 0, got {horizon_days}")
    t = float(horizon_days) / unit_days(model.time_unit_)
    c = customers
    out = pd.DataFrame(index=c.index)
    for col in ("segment", "value_class", "value_class_en", "abc_class"):
        if col in c.columns:
            out[col] = c[col]
    with np.errstate(all="ignore"):
        purchases = model.conditional_expected_purchases(t, summary)
    ratio = orders_per_occasion.reindex(c.index).fillna(1.0).astype(float)
    out["expected_purchases"] = purchases.reindex(c.index).fillna(0.0).astype(float) * ratio
    out["spend_per_purchase"] = c["monetary"].astype(float) / c["frequency"].astype(float).where(c["frequency"] > 0)
    out["method"] = "model"
    out["expected_revenue"] = out["expected_purchases"] * out["spend_per_purchase"].fillna(0.0)
    return out


def choose_method(backtests: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Which forecast method erred less in its backtest (:func:`backtest` by segment, one per method, in order of
    preference).

    Returns
    -------
    DataFrame
        Index ``method``; ``forecast_purchases``, ``actual_purchases``, ``purchases_error``, ``purchases_pct_error``
        (of the existing customers together), ``segment_error`` (sum over segments of |forecast − actual
        purchases|) and ``chosen`` (True for the smallest ``segment_error``, the first on a tie).
    """
    rows = {}
    for name, bt in backtests.items():
        total = bt.loc[ALL_EXISTING]
        segments = bt.drop(index=[NEW, ALL_EXISTING], errors="ignore")
        rows[name] = {
            "forecast_purchases": float(total["forecast_purchases"]),
            "actual_purchases": float(total["actual_purchases"]),
            "purchases_error": float(total["purchases_error"]),
            "purchases_pct_error": float(total["purchases_pct_error"]),
            "segment_error": float(segments["purchases_error"].abs().sum()),
        }
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "method"
    out["chosen"] = False
    out.loc[out["segment_error"].idxmin(), "chosen"] = True
    return out


def describe_choice(
    method: str, methods: pd.DataFrame | object, language: str, start: object = None, end: object = None
) -> str:
    """One sentence: which forecast method is used and why (catalog ``notebook.strategy.forecast_method_*``);
    ``methods`` is :func:`choose_method`'s table, or a :class:`~analysis.missing.Missing` saying why there is none;
    ``start`` / ``end`` the backtest's days."""
    from analysis import text
    from analysis.missing import Missing

    name = text.t(f"forecast.{method}", language)
    if isinstance(methods, Missing):
        return text.t(
            "notebook.strategy.forecast_method_unchecked", language, method=name, why=methods.reason(language)
        )
    table = methods
    others = [m for m in table.index if m != method]
    if not others:  # only one method could be made at the previous period's end
        why = text.t("run.missing.no_model_then", language)
        return text.t("notebook.strategy.forecast_method_unchecked", language, method=name, why=why)
    day = (lambda d: str(pd.Timestamp(d).date())) if start is not None else str
    return text.t(
        "notebook.strategy.forecast_method_chosen",
        language,
        method=name,
        other=text.t(f"forecast.{others[0]}", language),
        e=table.at[method, "segment_error"],
        e2=table.at[others[0], "segment_error"],
        a=day(start),
        b=day(end),
    )


def segment_forecast(
    customers: pd.DataFrame,
    by: str = "segment",
    *,
    horizon_days: int | None = None,
    min_tenure_days: int = 90,
    forecast: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Expected purchases and revenue per segment (or any customer column).

    Parameters
    ----------
    customers : DataFrame
        See :func:`customer_forecast`; must have the ``by`` column.
    by : str, default="segment"
        Grouping column.
    horizon_days, min_tenure_days
        See :func:`customer_forecast`.
    forecast : DataFrame, optional
        A per-customer forecast made already (e.g. :func:`model_forecast`); default :func:`customer_forecast`.

    Returns
    -------
    DataFrame
        Index ``by``, revenue descending; columns ``customers``, ``expected_purchases``,
        ``expected_revenue`` (currency), ``revenue_share``, ``method``.
    """
    require_columns(customers, (by,), "customer frame", f"add a '{by}' column (e.g. from analysis.customers.segments)")
    f = forecast if forecast is not None else customer_forecast(customers, horizon_days=horizon_days,
                                                                min_tenure_days=min_tenure_days)  # fmt: skip
    g = f.groupby(customers[by])
    t = pd.DataFrame(
        {
            "customers": g.size(),
            "expected_purchases": g["expected_purchases"].sum(),
            "expected_revenue": g["expected_revenue"].sum(),
        }
    ).sort_values("expected_revenue", ascending=False)
    total = t["expected_revenue"].sum()
    t["revenue_share"] = t["expected_revenue"] / total if total > 0 else np.nan
    t["method"] = f["method"].iloc[0] if len(f) else ""
    t.index.name = by
    return t


def backtest(
    forecast: pd.DataFrame,
    transactions: pd.DataFrame,
    start: str | pd.Timestamp,
    end: str | pd.Timestamp,
    by: str = "segment",
    *,
    returns: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Compare a per-customer forecast with the actual purchases of the following period.

    Parameters
    ----------
    forecast : DataFrame
        Per-customer forecast made at the end of an earlier period (index ``customer_id``), with
        ``by``, ``expected_purchases`` and ``expected_revenue`` (output of
        :func:`customer_forecast`) or ``spend_per_purchase``.
    transactions : DataFrame
        Clean transactions covering ``[start, end]``.
    start, end : str or Timestamp
        The forecast period, inclusive days.
    by : str, default="segment"
        Grouping column of ``forecast`` (e.g. ``frequency_bucket`` from :func:`frequency_bucket`; a
        categorical keeps its order, other groups are shown by actual revenue).
    returns : DataFrame, optional
        The cleaned returns (``customer_id``, ``order_date``, ``amount`` > 0): those in ``[start, end]`` are
        netted from actual revenue.

    Returns
    -------
    DataFrame
        Index ``by`` plus ``"(new)"`` (customers not in the forecast) and ``"(all existing)"``;
        columns ``customers``, ``forecast_purchases``, ``actual_purchases``, ``purchases_error``,
        ``purchases_pct_error``, ``forecast_revenue``, ``actual_revenue``, ``revenue_error``,
        ``revenue_pct_error`` (revenue in currency; errors = forecast − actual).
    """
    require_columns(forecast, (by, "expected_purchases"), "forecast frame", "use customer_forecast()")
    require_columns(transactions, ("customer_id", "order_date", "amount"), "transactions", "pass clean transactions")
    start, end = as_day(start), as_day(end)
    if end < start:
        raise ParamsError(f"backtest: end {end.date()} is before start {start.date()}")
    f = forecast.copy()
    if "expected_revenue" not in f.columns:
        require_columns(f, ("spend_per_purchase",), "forecast frame", "use customer_forecast()")
        f["expected_revenue"] = f["expected_purchases"] * f["spend_per_purchase"].fillna(0.0)
    f.index = f.index.astype(str)
    m = period_mask(transactions, start, end)
    t = transactions.loc[m]
    if t.empty:
        raise InputError(
            f"backtest: no transactions between {start.date()} and {end.date()}; the period must be covered by the data"
        )
    cid = t["customer_id"].astype(str)
    actual = pd.DataFrame(
        {
            "actual_purchases": order_keys(t).groupby(cid).nunique(),
            "actual_revenue": t["amount"].groupby(cid).sum(),
        }
    )
    if returns is not None and len(returns):
        r = returns[period_mask(returns, start, end) & returns["customer_id"].notna()]
        back = r["amount"].abs().groupby(r["customer_id"].astype(str)).sum()
        actual["actual_revenue"] = actual["actual_revenue"] - back.reindex(actual.index).fillna(0.0)
    group = f[by].astype(str).reindex(actual.index.union(f.index)).fillna(NEW)
    both = pd.DataFrame(
        {
            "forecast_purchases": f["expected_purchases"],
            "forecast_revenue": f["expected_revenue"],
        }
    ).reindex(group.index)
    both = both.join(actual).fillna(0.0)
    g = both.groupby(group)
    res = g.sum()
    res.insert(0, "customers", g.size())
    res.loc[ALL_EXISTING] = res.drop(index=NEW, errors="ignore").sum()
    if NEW in res.index:  # nobody forecast them
        res.loc[NEW, ["forecast_purchases", "forecast_revenue"]] = np.nan
    for v in ("purchases", "revenue"):
        res[f"{v}_error"] = res[f"forecast_{v}"] - res[f"actual_{v}"]
        res[f"{v}_pct_error"] = res[f"{v}_error"] / res[f"actual_{v}"].where(res[f"actual_{v}"] > 0)
    order = [i for i in res.index if i not in (NEW, ALL_EXISTING)]
    if isinstance(forecast[by].dtype, pd.CategoricalDtype):
        rank = {str(c): k for k, c in enumerate(forecast[by].cat.categories)}
        order = sorted(order, key=lambda i: rank.get(i, len(rank)))
    else:
        order = sorted(order, key=lambda i: -res.at[i, "actual_revenue"])
    order += [i for i in (NEW, ALL_EXISTING) if i in res.index]
    res = res.loc[order]
    res["customers"] = res["customers"].astype(int)
    res.index.name = by
    cols = [
        "customers", "forecast_purchases", "actual_purchases", "purchases_error", "purchases_pct_error",
        "forecast_revenue", "actual_revenue", "revenue_error", "revenue_pct_error",
    ]  # fmt: skip
    return res[cols]
