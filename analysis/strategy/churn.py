"""Churn early warning for valuable customers.

Definitions
-----------
Spend
    Net of returns when ``returns`` (or a ``value``) is given: net spend = ``monetary`` − the customer's
    returns (:mod:`analysis.strategy.value`), so a customer whose big order was cancelled is not valuable
    for it. Order counts are unchanged.
Valuable
    ABC tier A (on net spend when returns are given, else column ``abc_class``, or computed from
    ``monetary`` with :func:`analysis.customers.tiers.abc_classes`), or — when CLV is present — CLV (net of
    returns) in the top ``clv_top_share`` of customers (default the top decile: ``clv >= 90th percentile``
    and ``clv > 0``).
Warning triggers (any one is enough)
    * ``recency_days > max_recency_days`` (absolute silence, default 90 days);
    * ``recency_days > gap_multiple × usual gap``, with the usual gap in days between purchase days:
      the median gap between consecutive purchase days (several orders on one day are one purchase day;
      :func:`analysis.customers.lifecycle.purchase_rhythm`) when ``transactions`` are given, else a
      ``usual_gap_days`` column, else ``(last_purchase − first_purchase) / (frequency − 1)`` (an
      approximation that counts orders), for customers with at least 2 purchase days
      (they are late against their own rhythm);
    * ``p_alive < p_alive_threshold`` when P(alive) from the CLV models is present *and separates
      customers* (:func:`analysis.clv.value.p_alive_separation`: not when nearly every repeat customer
      has P(alive) > 0.95 or its spread is tiny); otherwise only recency against the absolute limit
      and against each customer's own usual gap apply, and ``attrs["p_alive_reason"]`` says why.
Value at stake (currency), used for ranking
    ``value`` when given (:func:`analysis.strategy.value.value_at_stake`: CLV or the run-rate estimate, net
    of returns; what the strategy stage passes, so warnings and actions agree); otherwise ``clv`` when
    present; otherwise revenue in the 365 days up to ``as_of`` when transactions are given; otherwise
    ``monetary`` — each net of returns when ``returns`` are given. The basis is reported in ``value_basis``.

Satisfaction (with a feedback input)
    ``satisfaction``: the per-customer measures over the scoring window
    (:func:`analysis.grading.satisfaction.customer_measures`). They do not trigger a warning (valuable and unhappy
    customers get the playbook's service-recovery play); they give the reason its facts: the latest answer when it
    is bad (on 0–1 below ``unhappy_below``: "last CSAT 1/5 on 3 Nov 2024") and the complaints in the window.

:func:`churn_warnings` returns the flags that fired; :func:`churn_reasons` words them in a language.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import text
from analysis.customers.tiers import abc_classes
from analysis.errors import InputError, ParamsError
from analysis.strategy.value import ValueAtStake
from analysis.text import format as fmt
from analysis.window import as_day


def _usual_gap(
    customers: pd.DataFrame, transactions: pd.DataFrame | None = None, as_of: pd.Timestamp | None = None
) -> pd.Series:
    """Usual gap in days between purchase days (see the module docstring), index as ``customers``."""
    if transactions is not None and as_of is not None:
        from analysis.customers.lifecycle import purchase_rhythm

        gap = purchase_rhythm(transactions, as_of)["usual_gap_days"]
        return pd.Series(gap.reindex(customers.index.astype(str)).to_numpy(), index=customers.index, dtype=float)
    if "usual_gap_days" in customers.columns:
        return customers["usual_gap_days"].astype(float)
    if not {"first_purchase", "last_purchase", "frequency"} <= set(customers.columns):
        return pd.Series(np.nan, index=customers.index)
    span = (pd.to_datetime(customers["last_purchase"]) - pd.to_datetime(customers["first_purchase"])).dt.days
    f = customers["frequency"].astype(float)
    return (span / (f - 1)).where(f >= 2)


def _scoring_day(customers: pd.DataFrame, transactions: pd.DataFrame | None) -> pd.Timestamp | None:
    """The day customers were scored on: ``last_purchase + recency_days``, else the last transaction."""
    if "last_purchase" in customers.columns and len(customers):
        return pd.Timestamp(
            (pd.to_datetime(customers["last_purchase"]) + pd.to_timedelta(customers["recency_days"], "D")).max()
        )
    if transactions is not None and len(transactions):
        return pd.Timestamp(pd.to_datetime(transactions["order_date"]).max()).normalize()
    return None


def trailing_revenue(transactions: pd.DataFrame, as_of: str | pd.Timestamp, days: int = 365) -> pd.Series:
    """Revenue per customer (currency) in the ``days`` days up to and including ``as_of``.

    Returns
    -------
    Series
        Index ``customer_id``; customers without purchases in the window are absent.
    """
    end = as_day(as_of)
    day = pd.to_datetime(transactions["order_date"]).dt.normalize()
    m = (day > end - pd.Timedelta(days=days)) & (day <= end)
    t = transactions.loc[m]
    s = t.groupby(t["customer_id"].astype(str))["amount"].sum()
    s.index.name = "customer_id"
    return s


def churn_warnings(
    customers: pd.DataFrame,
    *,
    transactions: pd.DataFrame | None = None,
    as_of: str | pd.Timestamp | None = None,
    max_recency_days: int = 90,
    gap_multiple: float = 2.0,
    p_alive_threshold: float = 0.5,
    clv_top_share: float = 0.10,
    abc_thresholds: tuple[float, float] = (0.80, 0.95),
    p_alive_informative: bool | None = None,
    returns: pd.DataFrame | None = None,
    value: ValueAtStake | None = None,
    satisfaction: pd.DataFrame | None = None,
    unhappy_below: float = 0.5,
) -> pd.DataFrame:
    """Valuable customers showing churn signs, ranked by value at stake.

    Parameters
    ----------
    customers : DataFrame
        Customer frame (index ``customer_id``) with ``recency_days`` and ``monetary``; optional
        ``abc_class``, ``first_purchase``, ``last_purchase``, ``frequency``, ``segment``,
        ``value_class``, ``p_alive``, ``clv``.
    transactions : DataFrame, optional
        Clean transactions, for trailing-12-month revenue when there is no CLV.
    as_of : str or Timestamp, optional
        End of the trailing window; defaults to ``last_purchase + recency_days`` (the scoring date)
        or the last transaction.
    max_recency_days : int, default=90
        Warn after this many days without a purchase.
    gap_multiple : float, default=2.0
        Warn when the silence exceeds this many usual gaps.
    p_alive_threshold : float, default=0.5
        Warn when P(alive) is below this (CLV present only).
    clv_top_share : float, default=0.10
        Share of customers with the highest CLV counted as valuable.
    abc_thresholds : tuple of float, default=(0.80, 0.95)
        Passed to :func:`analysis.customers.tiers.abc_classes` when ``abc_class`` is absent.
    p_alive_informative : bool, optional
        Whether P(alive) separates customers (e.g. ``CustomerValue.p_alive_informative``); None:
        judged from the ``p_alive`` column over customers with ``frequency >= 2`` (off only when it
        shows no separation; too few customers to judge keeps it on). When False the P(alive)
        trigger is off.
    returns : DataFrame, optional
        The cleaned returns (``CleanResult.returns``) of the customers' scoring window: spend, tiers and
        the value at stake are netted (see the module docstring).
    value : ValueAtStake, optional
        The value at stake per customer (:func:`analysis.strategy.value.value_at_stake`); its net spend
        and value are used (then ``returns`` is not needed).
    satisfaction : DataFrame, optional
        Satisfaction measures per customer over the scoring window (index ``customer_id`` as text;
        :func:`analysis.grading.satisfaction.customer_measures`): the warned customers' latest answer and
        complaints are kept for the reason (see the module docstring).
    unhappy_below : float, default=0.5
        A latest score below this on 0–1 is cited as bad (params ``grading.unhappy_below``).

    Returns
    -------
    DataFrame
        One row per warned customer (index ``customer_id``), highest value at stake first:
        ``rank``, ``segment`` / ``value_class`` (when present), ``abc_class``, ``recency_days``,
        ``usual_gap_days``, ``p_alive`` (when present), ``monetary_net`` (net spend), ``value_at_stake``,
        ``value_basis`` (``clv``, ``run_rate``, ``net_spend``, ``revenue_12m`` or ``monetary``), why the
        customer counts as valuable (``tier_a``,
        ``top_clv``) and which triggers fired (``silent``: recency beyond ``max_recency_days``;
        ``late``: beyond ``gap_multiple`` usual gaps; ``low_p_alive``), ``churn_warning`` (always True;
        lets the frame be passed straight to :func:`analysis.strategy.actions.apply_playbook`). With
        ``satisfaction``: ``last_score``, ``last_scale``, ``last_scale_high``, ``last_date``, ``complaints`` and the
        facts the reason cites, ``bad_score`` (latest score on 0–1 below ``unhappy_below``) and ``complained``. The
        thresholds are in ``attrs["thresholds"]``; :func:`churn_reasons` turns a row into a sentence.
    """
    missing = [c for c in ("recency_days", "monetary") if c not in customers.columns]
    if missing:
        raise InputError(f"customer frame: missing column(s) {missing}; score customers with analysis.customers.rfm")
    if not 0 < clv_top_share <= 1 or not 0 <= p_alive_threshold <= 1 or gap_multiple <= 0:
        raise ParamsError("churn warning: need 0 < clv_top_share <= 1, 0 <= p_alive_threshold <= 1, gap_multiple > 0")
    c = customers
    day = as_day(as_of) if as_of is not None else _scoring_day(c, transactions)
    netted = value is not None or returns is not None
    if value is None and returns is not None:
        from analysis.strategy.value import net_spend, returns_by_customer

        kept = net_spend(c, returns_by_customer(returns, day))
        monetary, kept_share = kept["monetary_net"], kept["kept_share"]
    elif value is not None:
        monetary, kept_share = value.monetary_net.reindex(c.index), value.kept_share.reindex(c.index)
    else:
        monetary, kept_share = c["monetary"].astype(float), pd.Series(1.0, index=c.index)
    has_clv = "clv" in c.columns and bool(c["clv"].notna().any())
    has_pa = "p_alive" in c.columns and bool(c["p_alive"].notna().any())
    if netted:
        abc = abc_classes(c.assign(monetary=monetary), abc_thresholds)["abc_class"]
    else:
        abc = c["abc_class"] if "abc_class" in c.columns else abc_classes(c, abc_thresholds)["abc_class"]
    tier_a = abc.eq("A")
    if has_clv:
        clv = (
            value.values.reindex(c.index) if value is not None and value.basis != "net_spend" else c["clv"] * kept_share
        )
        cut = clv.quantile(1 - clv_top_share)
        top_clv = (clv >= cut) & (clv > 0)
    else:
        top_clv = pd.Series(False, index=c.index)
    valuable = tier_a | top_clv

    rec = c["recency_days"].astype(float)
    gap = _usual_gap(c, transactions, day)
    t_rec = rec > max_recency_days
    t_gap = gap.notna() & (rec > gap_multiple * gap)
    pa_reason = None
    if has_pa and p_alive_informative is None:
        from analysis.clv.value import p_alive_separation

        repeat = c["frequency"].astype(float) >= 2 if "frequency" in c.columns else None
        check = p_alive_separation(c["p_alive"], repeat)
        if check.code in ("nearly_all_certain", "too_little_spread"):  # too few customers to judge: keep it
            p_alive_informative, pa_reason = False, check.reason
    use_pa = has_pa and p_alive_informative is not False
    t_pa = (c["p_alive"] < p_alive_threshold) if use_pa else pd.Series(False, index=c.index)
    warn = valuable & (t_rec | t_gap | t_pa)

    if value is not None:
        stake, basis = value.values.reindex(c.index).astype(float), value.basis
    elif has_clv:
        stake, basis = (c["clv"].fillna(c["monetary"]) * kept_share).astype(float), "clv"
    elif transactions is not None and day is not None:
        rev = trailing_revenue(transactions, day)
        if returns is not None:
            from analysis.strategy.value import returns_by_customer

            back = returns_by_customer(returns, day, day - pd.Timedelta(days=365))
            rev = (rev - back.reindex(rev.index).fillna(0.0)).clip(lower=0.0)
        stake = rev.reindex(c.index.astype(str)).fillna(0.0).set_axis(c.index)
        basis = "revenue_12m"
    else:
        stake, basis = monetary.astype(float), "net_spend" if netted else "monetary"

    out = pd.DataFrame(index=c.index[warn.to_numpy()])
    for col in ("segment", "value_class"):
        if col in c.columns:
            out[col] = c.loc[out.index, col]
    out["abc_class"] = abc.loc[out.index]
    out["recency_days"] = c.loc[out.index, "recency_days"]
    out["usual_gap_days"] = gap.loc[out.index]
    if has_pa:
        out["p_alive"] = c.loc[out.index, "p_alive"]
    out["monetary_net"] = monetary.loc[out.index].astype(float)
    out["value_at_stake"] = stake.loc[out.index]
    out["value_basis"] = basis
    out["tier_a"] = tier_a.loc[out.index].astype(bool)
    out["top_clv"] = top_clv.loc[out.index].astype(bool)
    out["silent"] = t_rec.loc[out.index].astype(bool)
    out["late"] = t_gap.loc[out.index].astype(bool)
    out["low_p_alive"] = t_pa.loc[out.index].astype(bool)
    out["churn_warning"] = True
    if satisfaction is not None and "satisfaction" in satisfaction.columns:
        m = satisfaction.reindex(out.index.astype(str))
        for col in ("last_score", "last_scale", "last_scale_high", "last_date"):
            out[col] = m[col].to_numpy() if col in m.columns else np.nan
        out["complaints"] = m["complaints"].fillna(0).astype(int).to_numpy()
        out["bad_score"] = (m["last_score_01"].astype(float) < unhappy_below).to_numpy()
        out["complained"] = out["complaints"] > 0
    out = out.sort_values("value_at_stake", ascending=False, kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.index.name = c.index.name or "customer_id"
    out.attrs["thresholds"] = {
        "max_recency_days": max_recency_days,
        "gap_multiple": gap_multiple,
        "p_alive_threshold": p_alive_threshold,
        "clv_top_share": clv_top_share,
        "unhappy_below": unhappy_below,
    }
    out.attrs["p_alive_used"] = use_pa
    out.attrs["p_alive_reason"] = pa_reason if has_pa and not use_pa else None
    return out


def churn_reasons(
    warnings: pd.DataFrame,
    language: str = "en",
    *,
    max_recency_days: int | None = None,
    p_alive_threshold: float | None = None,
    clv_top_share: float | None = None,
) -> pd.Series:
    """Why each warned customer is flagged, as one sentence in ``language``.

    Parameters
    ----------
    warnings : DataFrame
        Output of :func:`churn_warnings`.
    language : {"en", "zh"}, default="en"
    max_recency_days, p_alive_threshold, clv_top_share : optional
        The thresholds the warnings were computed with; default to ``warnings.attrs["thresholds"]``
        (set by :func:`churn_warnings`), else to its defaults.

    Returns
    -------
    Series of str
        Same index as ``warnings``, e.g. "A-tier customer: no purchase for 100 days (warning after 90)."
        / "A类客户：已100天未购买（预警阈值90天）。"
    """
    text.check_language(language)
    th = {"max_recency_days": 90, "p_alive_threshold": 0.5, "clv_top_share": 0.10}
    th |= {k: v for k, v in warnings.attrs.get("thresholds", {}).items() if k in th}
    given = {"max_recency_days": max_recency_days, "p_alive_threshold": p_alive_threshold,
             "clv_top_share": clv_top_share}  # fmt: skip
    th |= {k: v for k, v in given.items() if v is not None}
    share = fmt.percent(th["clv_top_share"], language, decimals=0)
    who_sep, why_sep = text.t("churn.who_separator", language), text.t("churn.why_separator", language)
    out = []
    for _, r in warnings.iterrows():
        who = [text.t("churn.tier_a", language)] if r.get("tier_a", False) else []
        if r.get("top_clv", False):
            who.append(text.t("churn.top_clv", language, share=share))
        days = fmt.integer(r["recency_days"], language)
        why = []
        if r.get("silent", False):
            why.append(text.t("churn.silent", language, days=days, limit=fmt.integer(th["max_recency_days"])))
        if r.get("late", False):
            gap = fmt.integer(r["usual_gap_days"], language)
            why.append(text.t("churn.late", language, gap=gap, days=days))
        if r.get("low_p_alive", False):
            why.append(text.t("churn.p_alive", language, p_alive=f"{float(r['p_alive']):.2f}",
                              limit=f"{float(th['p_alive_threshold']):.2f}"))  # fmt: skip
        why += satisfaction_facts(r, language)
        out.append(text.t("churn.reason", language, who=who_sep.join(who), why=why_sep.join(why)))
    return pd.Series(out, index=warnings.index, name="reason", dtype=object)


def satisfaction_facts(row: pd.Series, language: str = "en") -> list[str]:
    """The satisfaction facts a churn reason cites, in ``language``: the latest answer when it is bad ("last CSAT
    1/5 on 3 Nov 2024", "last NPS 3/10 …", a custom scale "last score 2 (scale 1–7) …") and the complaints in
    the window ("2 complaints in the window"); empty without a feedback input or when neither applies. ``row``: a
    row of :func:`churn_warnings` computed with ``satisfaction``."""
    facts = []
    if bool(row.get("bad_score", False)) and pd.notna(row.get("last_score")):
        scale = str(row.get("last_scale", ""))
        score, high = float(row["last_score"]), row.get("last_scale_high")
        if scale in ("csat", "nps", "stars"):
            label = text.t(f"churn.scale.{scale}", language)
            shown = f"{score:g}/{float(high):g}"
        else:
            label = text.t("churn.scale.other", language)
            shown = text.t("churn.custom_score", language, score=f"{score:g}", scale=scale)
        facts.append(text.t("churn.bad_score", language, label=label, score=shown,
                            date=fmt.date_long(row.get("last_date"), language)))  # fmt: skip
    n = int(row.get("complaints", 0) or 0) if pd.notna(row.get("complaints", 0)) else 0
    if bool(row.get("complained", False)) and n > 0:
        facts.append(text.t("churn.complaints", language, n=n))
    return facts


def satisfaction_reasons(warnings: pd.DataFrame, language: str = "en") -> pd.Series:
    """Per warned customer, the satisfaction part of the reason alone (:func:`satisfaction_facts`; empty when
    there is none), joined like the reason: what the grading table's ``churn_satisfaction_reason`` holds."""
    sep = text.t("churn.why_separator", language)
    out = [sep.join(satisfaction_facts(r, language)) for _, r in warnings.iterrows()]
    return pd.Series(out, index=warnings.index, name="satisfaction_reason", dtype=object)
