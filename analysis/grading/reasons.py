"""Why each customer has each grade, and the smallest change that would move them up.

Every grade the kit gives — RFM ``segment``, 8-class ``value_class``, ``abc_class``, ``lifecycle_stage`` and
``cluster`` — is explained from the *same* rule tables and functions that assign it, so a reason can never
contradict its grade:

``segment``
    The rule of :data:`analysis.customers.segments.DEFAULT_RULES` (or ``rfm.segment_rules``) that holds the
    customer's (R, F, M) scores, found with :func:`analysis.customers.segments.rule_table`. *Move up*: the fewest
    extra orders ``k`` (1 … :data:`MAX_ORDERS`), each of the customer's own average order value, the last one on
    the next period's last day (recency 0), that the same rule table puts in a better segment
    (:data:`~analysis.customers.segments.SEGMENT_ORDER`), scored with this period's cut points
    (:func:`analysis.customers.rfm.score`).
``value_class``
    The three flags of :func:`analysis.customers.segments.value_class_flags` against this period's means. *Move
    up*: the fewest extra orders (as above) that give flags of a more valuable class
    (:data:`~analysis.customers.segments.VALUE_CLASS_ORDER`), the means held fixed.
``abc_class``
    The customer's rank and the revenue share of the customers ranked above (the rule of
    :mod:`analysis.customers.tiers`). *Move up*: the smallest extra spend (whole cents, rounded up) after which
    the customers ranked above hold less than the tier's limit of the (grown) total revenue, everyone else's
    spend held fixed; ties count against the customer, so the named amount is always enough.
``lifecycle_stage``
    The first of the lifecycle rules (:mod:`analysis.customers.lifecycle`) that fires, judged on the same purchase
    facts (:func:`~analysis.customers.lifecycle.purchase_facts`). *Move up*: dormant or lost customers become
    reactivated (or active) with a purchase late in the next period; new, active and reactivated customers are
    told the last day a purchase keeps them active.
``cluster``
    The k-means cluster's profile (mean R, F, M per cluster; clusters are numbered by mean spend, highest first).
    *Move up*: the next cluster by mean spend and how far the customer is from its mean orders and spend.

:func:`grade_facts` returns the structured facts (numbers, rule ids, next grades); :func:`grade_sentences` words
them in a language from the catalog (``grading.*``). Money is in the log's currency; days are whole days.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from analysis import text
from analysis.customers.rfm import score
from analysis.customers.segments import (
    SEGMENT_ORDER,
    VALUE_CLASS_NAMES,
    VALUE_CLASS_ORDER,
    rule_table,
    value_class_flags,
    value_class_label,
)
from analysis.customers.tiers import abc_classes
from analysis.params import LifecycleParams, SegmentRule
from analysis.text import format as fmt

#: The most extra orders tried when looking for a better segment or value class.
MAX_ORDERS = 20
#: The grades explained, in the order of the report's columns.
GRADES: tuple[str, ...] = ("segment", "value_class", "abc_class", "lifecycle_stage", "cluster")
#: Lifecycle stages that count as "in good standing" (a purchase keeps them so).
GOOD_STAGES: tuple[str, ...] = ("new", "active", "reactivated")


@dataclass(frozen=True)
class GradingRules:
    """The rule tables the grades were assigned with (one run's params and period).

    ``segment_rules``: segment → :class:`~analysis.params.SegmentRule`; ``cut_points``: the RFM cut points used
    (the ``cut_points`` frame of :class:`analysis.customers.rfm.RFMResult`, rows ``recency_days``, ``frequency``,
    ``monetary``, columns ``q20`` … ``q80``); ``abc``: the A and B limits (cumulative revenue shares);
    ``lifecycle``: the stage thresholds; ``period_start`` / ``as_of``: the period (first day, scoring day);
    ``next_end``: the last day of the next period; ``left_censored``: the period is the data's first, so nobody
    is called new.
    """

    segment_rules: Mapping[str, SegmentRule]
    cut_points: pd.DataFrame
    abc: tuple[float, float]
    lifecycle: LifecycleParams
    period_start: pd.Timestamp
    as_of: pd.Timestamp
    next_end: pd.Timestamp
    left_censored: bool = False


def _cuts(rules: GradingRules, measure: str) -> np.ndarray:
    return rules.cut_points.loc[measure, ["q20", "q40", "q60", "q80"]].to_numpy(dtype=float)


def _segment_of(table: np.ndarray, r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
    return table[(r - 1) * 25 + (f - 1) * 5 + (m - 1)]


def _rank(names: np.ndarray, order: tuple[str, ...]) -> np.ndarray:
    """Position of each name in ``order`` (0 = best); names not in it get ``len(order)`` (unranked)."""
    pos = {n: i for i, n in enumerate(order)}
    return np.array([pos.get(str(n), len(order)) for n in names], dtype=int)


def _aov(customers: pd.DataFrame) -> np.ndarray:
    """Average order value (currency per order): spend / orders, at least one cent."""
    f = customers["frequency"].to_numpy(dtype=float)
    m = customers["monetary"].to_numpy(dtype=float)
    return np.maximum(np.where(f > 0, m / np.maximum(f, 1), 0.0), 0.01)


def _segment_facts(customers: pd.DataFrame, rules: GradingRules) -> pd.DataFrame:
    table = rule_table(rules.segment_rules)["segment"].to_numpy(dtype=object)
    r, f, m = (customers[c].to_numpy(dtype="int64") for c in ("r_score", "f_score", "m_score"))
    seg = _segment_of(table, r, f, m)
    rank = _rank(seg, SEGMENT_ORDER)
    aov = _aov(customers)
    freq = customers["frequency"].to_numpy(dtype=float)
    mon = customers["monetary"].to_numpy(dtype=float)
    cut_r, cut_f, cut_m = _cuts(rules, "recency_days"), _cuts(rules, "frequency"), _cuts(rules, "monetary")
    r_new = int(score(pd.Series([0.0]), cut_r, higher_is_better=False).iloc[0])
    n = len(customers)
    k_needed = np.zeros(n, dtype=int)
    nxt = np.full(n, "", dtype=object)
    r2, f2, m2 = np.zeros(n, dtype=int), np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    todo = (rank > 0) & (rank < len(SEGMENT_ORDER))
    for k in range(1, MAX_ORDERS + 1):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        fk = score(pd.Series(freq[idx] + k), cut_f).to_numpy()
        mk = score(pd.Series(mon[idx] + k * aov[idx]), cut_m).to_numpy()
        rk = np.full(len(idx), r_new)
        segk = _segment_of(table, rk, fk, mk)
        better = _rank(segk, SEGMENT_ORDER) < rank[idx]
        hit = idx[better]
        k_needed[hit], nxt[hit] = k, segk[better]
        r2[hit], f2[hit], m2[hit] = rk[better], fk[better], mk[better]
        todo[hit] = False
    return pd.DataFrame(
        {
            "segment": seg,
            "segment_rank": rank,
            "segment_next": nxt,
            "segment_orders": k_needed,
            "segment_r2": r2,
            "segment_f2": f2,
            "segment_m2": m2,
            "aov": aov,
        },
        index=customers.index,
    )


def _value_class_facts(customers: pd.DataFrame) -> pd.DataFrame:
    cols = ["recency_days", "frequency", "monetary"]
    means = customers[cols].astype(float).mean()
    flags = value_class_flags(customers[cols].astype(float), means)
    names = np.array([VALUE_CLASS_NAMES[tuple(map(bool, row))] for row in flags.itertuples(index=False)], dtype=object)
    rank = _rank(names, VALUE_CLASS_ORDER)
    aov = _aov(customers)
    freq = customers["frequency"].to_numpy(dtype=float)
    mon = customers["monetary"].to_numpy(dtype=float)
    n = len(customers)
    k_needed = np.zeros(n, dtype=int)
    nxt = np.full(n, "", dtype=object)
    todo = rank > 0
    for k in range(1, MAX_ORDERS + 1):
        if not todo.any():
            break
        idx = np.flatnonzero(todo)
        moved = pd.DataFrame({"recency_days": 0.0, "frequency": freq[idx] + k, "monetary": mon[idx] + k * aov[idx]})
        fl = value_class_flags(moved, means)
        namek = np.array([VALUE_CLASS_NAMES[tuple(map(bool, row))] for row in fl.itertuples(index=False)], dtype=object)
        better = _rank(namek, VALUE_CLASS_ORDER) < rank[idx]
        hit = idx[better]
        k_needed[hit], nxt[hit] = k, namek[better]
        todo[hit] = False
    # not within MAX_ORDERS average orders (spend stays below the mean): one larger order lifting spend above it
    one_order = np.full(n, np.nan)
    if todo.any():
        idx = np.flatnonzero(todo)
        mean_m = float(means["monetary"])
        amount = np.maximum(np.ceil(np.round((mean_m - mon[idx]) * 100, 6)) / 100 + 0.01, aov[idx])
        moved = pd.DataFrame({"recency_days": 0.0, "frequency": freq[idx] + 1, "monetary": mon[idx] + amount})
        fl = value_class_flags(moved, means)
        name1 = np.array([VALUE_CLASS_NAMES[tuple(map(bool, row))] for row in fl.itertuples(index=False)], dtype=object)
        better = _rank(name1, VALUE_CLASS_ORDER) < rank[idx]
        one_order[idx[better]], nxt[idx[better]] = amount[better], name1[better]
    return pd.DataFrame(
        {
            "value_class": names,
            "r_high": flags["r_high"].to_numpy(),
            "f_high": flags["f_high"].to_numpy(),
            "m_high": flags["m_high"].to_numpy(),
            "mean_recency_days": float(means["recency_days"]),
            "mean_frequency": float(means["frequency"]),
            "mean_monetary": float(means["monetary"]),
            "value_class_next": nxt,
            "value_class_orders": k_needed,
            "value_class_one_order": one_order,
        },
        index=customers.index,
    )


def spend_to_reach(values: pd.Series, limit: float) -> pd.Series:
    """Extra spend (currency, whole cents rounded up) each customer needs for the customers ranked above them to
    hold less than ``limit`` of total revenue, everyone else's spend fixed (0 when they already do).

    With ``v'`` = the customer's new spend, the customers above are those with spend ≥ ``v'`` (ties against the
    customer) and the total grows by ``v' − v``; the condition is monotone in ``v'``, found by bisection.
    """
    v = values.to_numpy(dtype=float)
    n = len(v)
    if n == 0:
        return pd.Series(dtype=float, index=values.index)
    asc = np.sort(v)
    suffix = np.concatenate([np.cumsum(asc[::-1])[::-1], [0.0]])  # suffix[i] = sum(asc[i:])
    total = float(v.sum())

    def above(new: np.ndarray) -> np.ndarray:
        """Revenue of the others with spend ≥ ``new`` (new > own value, so the customer is not among them)."""
        return suffix[np.searchsorted(asc, new, side="left")]

    def ok(new: np.ndarray) -> np.ndarray:
        grown = total - v + new
        return np.round(above(new) / np.where(grown > 0, grown, 1.0), 12) < limit

    lo = v.copy()
    hi = np.full(n, max(float(asc[-1]) if n else 0.0, 0.0) + 0.01)  # above everyone: nobody ranks above
    for _ in range(64):
        mid = (lo + hi) / 2
        good = ok(mid)
        hi = np.where(good, mid, hi)
        lo = np.where(good, lo, mid)
    extra = np.maximum(np.ceil(np.round((hi - v) * 100, 6)) / 100, 0.01)
    for _ in range(3):  # whole cents: where rounding landed on the limit itself, one cent more (monotone)
        short = ~ok(v + extra)
        if not short.any():
            break
        extra = np.where(short, extra + 0.01, extra)
    return pd.Series(extra, index=values.index)


def _abc_facts(customers: pd.DataFrame, rules: GradingRules) -> pd.DataFrame:
    a, b = rules.abc
    tiers = abc_classes(customers, tuple(rules.abc))
    cls = tiers["abc_class"].to_numpy(dtype=object)
    value = tiers["value"]
    extra = np.full(len(tiers), np.nan)
    to_b = cls == "C"
    to_a = cls == "B"
    if to_a.any():
        extra[to_a] = spend_to_reach(value, a).to_numpy()[to_a]
    if to_b.any():
        extra[to_b] = spend_to_reach(value, b).to_numpy()[to_b]
    nxt = np.where(to_a, "A", np.where(to_b, "B", ""))
    return pd.DataFrame(
        {
            "abc_class": cls,
            "abc_rank": tiers["rank"].to_numpy(),
            "abc_share_before": tiers["share_before"].to_numpy(),
            "abc_customers": len(tiers),
            "abc_next": nxt.astype(object),
            "abc_extra_spend": extra,
        },
        index=customers.index,
    )


#: Lifecycle rule ids, in the order the rules are tried (first match wins).
LIFECYCLE_RULES: tuple[str, ...] = (
    "new", "lost_days", "lost_gap", "lost_p_alive", "dormant_gap", "dormant_days", "reactivated", "active",
    "active_censored",
)  # fmt: skip


def lifecycle_rule(facts: pd.DataFrame, rules: GradingRules, p_alive: pd.Series | None = None) -> pd.DataFrame:
    """Which lifecycle rule fires for each customer, from :func:`analysis.customers.lifecycle.purchase_facts`.

    The conditions are those of :func:`analysis.customers.lifecycle.stages_from_facts` (the test compares the two
    on every rule). Returns the rule id (:data:`LIFECYCLE_RULES`), its stage, recency, usual gap, the stage at the
    previous period's end and ``keep_until`` (the last day a purchase keeps the customer active: the day the
    dormant or lost limit is passed).
    """
    from analysis.customers.lifecycle import stages_from_facts

    lc = rules.lifecycle
    as_of, start = rules.as_of, rules.period_start - pd.Timedelta(days=1)
    judged = stages_from_facts(
        facts, as_of, start, dormant_multiple=lc.dormant_multiple, dormant_days=lc.dormant_days,
        lost_multiple=lc.lost_multiple, lost_days=lc.lost_days, lost_p_alive=lc.lost_p_alive, p_alive=p_alive,
    )  # fmt: skip
    rec = judged["recency_days"].astype(float)
    gap = judged["usual_gap_days"].astype(float)
    has_gap = judged["purchase_days"] >= 2
    pa = p_alive.reindex(judged.index).astype(float) if p_alive is not None else pd.Series(np.nan, judged.index)
    lost_days = rec > lc.lost_days
    lost_gap = has_gap & (rec > lc.lost_multiple * gap)
    lost_pa = pa < lc.lost_p_alive
    dorm_gap = has_gap & (rec > lc.dormant_multiple * gap)
    dorm_days = ~has_gap & (rec > lc.dormant_days)
    new = judged["first_purchase"] > start
    react = judged["stage"].eq("reactivated")
    rule = np.select(
        [new, lost_days, lost_gap, lost_pa, dorm_gap, dorm_days, react],
        ["new", "lost_days", "lost_gap", "lost_p_alive", "dormant_gap", "dormant_days", "reactivated"],
        "active",
    )
    stage = judged["stage"].to_numpy(dtype=object).copy()
    if rules.left_censored:
        rule = np.where(rule == "new", "active_censored", rule)
        stage = np.where(stage == "new", "active", stage)
    limit = np.where(
        has_gap, np.minimum(lc.dormant_multiple * gap.to_numpy(), lc.lost_days), min(lc.dormant_days, lc.lost_days)
    )
    keep = judged["last_purchase"] + pd.to_timedelta(np.floor(np.nan_to_num(limit)), unit="D")
    return pd.DataFrame(
        {
            "lifecycle_rule": rule,
            "lifecycle_stage": stage,
            "recency_days": rec.to_numpy(),
            "usual_gap_days": gap.to_numpy(),
            "first_purchase": judged["first_purchase"].to_numpy(),
            "last_purchase": judged["last_purchase"].to_numpy(),
            "previous_stage": judged["previous_stage"].to_numpy(dtype=object),
            "p_alive": pa.to_numpy(),
            "active_limit_days": limit,
            "keep_until": keep.to_numpy(),
        },
        index=judged.index,
    )


def _lifecycle_next(life: pd.DataFrame, rules: GradingRules) -> pd.Series:
    """The stage a purchase late in the next period gives: reactivated when the customer is still dormant or lost
    (without P(alive)) at the next period's start, else active; none for customers in good standing."""
    lc = rules.lifecycle
    next_start = pd.Timestamp(rules.next_end).replace(day=1)
    rec = life["recency_days"] + (next_start - pd.Timedelta(days=1) - rules.as_of).days
    gap = life["usual_gap_days"]
    has_gap = gap.notna()
    bad_then = (
        (rec > lc.lost_days) | (has_gap & (rec > lc.dormant_multiple * gap)) | (~has_gap & (rec > lc.dormant_days))
    )
    down = ~life["lifecycle_stage"].isin(GOOD_STAGES)
    return pd.Series(np.where(down, np.where(bad_then, "reactivated", "active"), ""), index=life.index, dtype=object)


def _cluster_facts(customers: pd.DataFrame, profile: pd.DataFrame | None) -> pd.DataFrame:
    out = pd.DataFrame(index=customers.index)
    if profile is None or "cluster" not in customers.columns or customers["cluster"].isna().all():
        out["cluster"] = pd.Series(pd.NA, index=customers.index, dtype=object)
        return out
    by_name = profile.reset_index().set_index("name")
    name = customers["cluster"].astype(object)
    label = name.map(by_name["cluster"])
    out["cluster"] = name
    out["cluster_label"] = label
    for col in ("recency_days", "frequency", "monetary"):
        out[f"cluster_mean_{col}"] = name.map(by_name[col]).astype(float)
    above = (label - 1).where(label > 0)
    out["cluster_next"] = above.map(profile["name"]).astype(object)
    out["cluster_next_frequency"] = above.map(profile["frequency"]).astype(float)
    out["cluster_next_monetary"] = above.map(profile["monetary"]).astype(float)
    return out


def grade_facts(
    customers: pd.DataFrame,
    rules: GradingRules,
    purchase_facts: pd.DataFrame,
    cluster_profile: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The facts behind every grade of every customer, and what would move each grade up.

    Parameters
    ----------
    customers : DataFrame
        Scored customers (index ``customer_id``): ``recency_days``, ``frequency``, ``monetary``, the scores, and
        ``cluster`` (name) when clustering ran; ``p_alive`` when the CLV models ran.
    rules : GradingRules
        The rule tables the grades were assigned with.
    purchase_facts : DataFrame
        :func:`analysis.customers.lifecycle.purchase_facts` of the run's transactions up to ``as_of`` and the
        previous period's end.
    cluster_profile : DataFrame, optional
        The clusters' profile (:attr:`analysis.customers.cluster.RFMClusterer.profile_`).

    Returns
    -------
    DataFrame
        Index ``customer_id``; the grades, their rule ids and facts, and per grade ``<grade>_next`` (the nearest
        better grade, empty at the top) with the change that reaches it.
    """
    idx = customers.index
    seg = _segment_facts(customers, rules)
    vc = _value_class_facts(customers)
    abc = _abc_facts(customers, rules)
    facts = purchase_facts.copy()
    facts.index = facts.index.astype(str)
    life = lifecycle_rule(facts, rules, customers["p_alive"] if "p_alive" in customers.columns else None)
    life = life.reindex(idx.astype(str))
    life.index = idx
    life["lifecycle_next"] = _lifecycle_next(life, rules)
    clu = _cluster_facts(customers, cluster_profile)
    base = customers[["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"]].copy()
    life = life.drop(columns=["recency_days"])
    return pd.concat([base, seg, vc, abc, life, clu], axis=1)


# ------------------------------------------------------------------------------------------ sentences


def _range(name: str, lo: float, hi: float) -> str:
    return f"{name} {lo:g}" if lo == hi else f"{name} {lo:g}–{hi:g}"


def rule_text(rule: SegmentRule) -> str:
    """A segment rule as conditions: ``R 3–4, FM 4–5`` (full 1–5 ranges left out)."""
    parts = [_range(n, *getattr(rule, k)) for k, n in (("r", "R"), ("f", "F"), ("m", "M"), ("fm", "FM"))
             if tuple(getattr(rule, k)) != (1, 5)]  # fmt: skip
    return ", ".join(parts) or "R/F/M 1–5"


def _segment_name(name: str, language: str) -> str:
    return text.label(f"segment.{name}", language, default=name)


def grade_sentences(facts: pd.DataFrame, rules: GradingRules, language: str, currency: str = "$") -> pd.DataFrame:
    """The reason and the move-up sentence of every grade in ``language``, from :func:`grade_facts`.

    Returns
    -------
    DataFrame
        Index ``customer_id``; per grade ``<grade>_reason`` and ``<grade>_move_up``; ``reason`` (all reasons,
        one after the other), ``next_grade`` (the nearest better segment) and ``move_up`` (its sentence).
    """

    templates: dict[str, str] = {}

    def t(key: str, **v: object) -> str:
        if key not in templates:  # one catalog lookup per key, not per customer
            templates[key] = text.t(f"grading.{key}", language)
        return templates[key].format(**v) if v else templates[key]

    @cache
    def money(x: float) -> str:
        return fmt.money(x, currency, language, decimals=None)

    @cache
    def days(x: float) -> str:
        return fmt.integer(x, language)

    facts = facts.astype({c: object for c in facts.columns if pd.api.types.is_string_dtype(facts[c])})
    date_next = fmt.date_long(rules.next_end, language)
    hl = {True: t("high"), False: t("low")}
    out: dict[str, list[str]] = {k: [] for k in (
        "segment_reason", "segment_move_up", "value_class_reason", "value_class_move_up", "abc_class_reason",
        "abc_class_move_up", "lifecycle_stage_reason", "lifecycle_stage_move_up", "cluster_reason",
        "cluster_move_up")}  # fmt: skip
    a, b = rules.abc
    for row in facts.itertuples():
        seg = _segment_name(row.segment, language)
        rule = rules.segment_rules.get(row.segment)
        out["segment_reason"].append(
            t("segment.reason", segment=seg, r=row.r_score, f=row.f_score, m=row.m_score,
              fm=f"{(row.f_score + row.m_score) / 2:g}", days=days(row.recency_days), orders=days(row.frequency),
              spend=money(row.monetary), rule=rule_text(rule) if rule is not None else "")
        )  # fmt: skip
        if row.segment_rank == 0:
            out["segment_move_up"].append(t("segment.top"))
        elif row.segment_rank >= len(SEGMENT_ORDER):
            out["segment_move_up"].append(t("segment.unranked", segment=seg))
        elif row.segment_orders == 0:
            out["segment_move_up"].append(t("segment.unreachable", k=MAX_ORDERS))
        else:
            out["segment_move_up"].append(
                t("segment.move_up", k=row.segment_orders, aov=money(row.aov), date=date_next,
                  next=_segment_name(row.segment_next, language), r=row.segment_r2, f=row.segment_f2,
                  m=row.segment_m2)
            )  # fmt: skip
        vc = value_class_label(row.value_class, language)
        out["value_class_reason"].append(
            t("value_class.reason", cls=vc, days=days(row.recency_days), mean_days=fmt.number(row.mean_recency_days,
              language), r=hl[bool(row.r_high)], orders=days(row.frequency),
              mean_orders=fmt.number(row.mean_frequency, language), f=hl[bool(row.f_high)],
              spend=money(row.monetary), mean_spend=money(row.mean_monetary), m=hl[bool(row.m_high)])
        )  # fmt: skip
        if row.value_class == VALUE_CLASS_ORDER[0]:
            out["value_class_move_up"].append(t("value_class.top"))
        elif row.value_class_orders == 0 and pd.notna(row.value_class_one_order):
            out["value_class_move_up"].append(
                t("value_class.one_order", amount=money(row.value_class_one_order), date=date_next,
                  next=value_class_label(row.value_class_next, language))
            )  # fmt: skip
        elif row.value_class_orders == 0:
            out["value_class_move_up"].append(t("value_class.unreachable", k=MAX_ORDERS))
        else:
            out["value_class_move_up"].append(
                t("value_class.move_up", k=row.value_class_orders, aov=money(row.aov), date=date_next,
                  next=value_class_label(row.value_class_next, language))
            )  # fmt: skip
        out["abc_class_reason"].append(
            t("abc.reason", tier=row.abc_class, spend=money(row.monetary), rank=fmt.integer(row.abc_rank, language),
              n=fmt.integer(row.abc_customers, language), before=fmt.percent(row.abc_share_before, language),
              a=fmt.percent(a, language, 0), b=fmt.percent(b, language, 0))
        )  # fmt: skip
        if row.abc_class == "A":
            out["abc_class_move_up"].append(t("abc.top"))
        else:
            out["abc_class_move_up"].append(
                t("abc.move_up", extra=money(row.abc_extra_spend), total=money(row.monetary + row.abc_extra_spend),
                  next=row.abc_next)
            )  # fmt: skip
        out["lifecycle_stage_reason"].append(_stage_reason(row, rules, language))
        if row.lifecycle_stage in GOOD_STAGES:
            out["lifecycle_stage_move_up"].append(t("stage.keep", date=fmt.date_long(row.keep_until, language)))
        else:
            out["lifecycle_stage_move_up"].append(
                t("stage.move_up", date=date_next, next=text.label(f"stage.{row.lifecycle_next}", language))
            )
        cluster = getattr(row, "cluster", pd.NA)
        if pd.isna(cluster):
            out["cluster_reason"].append(t("cluster.none"))
            out["cluster_move_up"].append("")
            continue
        from analysis.customers.segments import cluster_name_label

        out["cluster_reason"].append(
            t("cluster.reason", name=cluster_name_label(cluster, language),
              days=fmt.number(row.cluster_mean_recency_days, language, 0),
              orders=fmt.number(row.cluster_mean_frequency, language), spend=money(row.cluster_mean_monetary))
        )  # fmt: skip
        if pd.isna(row.cluster_next):
            out["cluster_move_up"].append(t("cluster.top"))
        else:
            out["cluster_move_up"].append(
                t("cluster.move_up", next=cluster_name_label(row.cluster_next, language),
                  orders=fmt.number(row.cluster_next_frequency, language), spend=money(row.cluster_next_monetary),
                  more_orders=fmt.number(max(row.cluster_next_frequency - row.frequency, 0), language),
                  more_spend=money(max(row.cluster_next_monetary - row.monetary, 0)))
            )  # fmt: skip
    res = pd.DataFrame(out, index=facts.index)
    sep = t("separator")
    res["reason"] = [sep.join(x for x in parts if x) for parts in zip(
        res["segment_reason"], res["value_class_reason"], res["abc_class_reason"], res["lifecycle_stage_reason"],
        res["cluster_reason"], strict=True)]  # fmt: skip
    res["next_grade"] = [_segment_name(s, language) if s else "" for s in facts["segment_next"]]
    res["move_up"] = res["segment_move_up"]
    return res


def _stage_reason(row: object, rules: GradingRules, language: str) -> str:
    lc = rules.lifecycle
    r = row  # a namedtuple from itertuples

    def t(key: str, **v: object) -> str:
        return text.t(f"grading.stage.{key}", language, **v)

    rule = r.lifecycle_rule  # type: ignore[attr-defined]
    rec = fmt.integer(r.recency_days, language)  # type: ignore[attr-defined]
    gap = fmt.number(r.usual_gap_days, language, 0)  # type: ignore[attr-defined]
    if rule == "new":
        return t(
            "new",
            date=fmt.date_long(r.first_purchase, language),  # type: ignore[attr-defined]
            start=fmt.date_long(rules.period_start, language),
            end=fmt.date_long(rules.as_of, language),
        )
    if rule == "active_censored":
        return t("active_censored", date=fmt.date_long(r.first_purchase, language))  # type: ignore[attr-defined]
    if rule == "lost_days":
        return t("lost_days", days=rec, limit=lc.lost_days)
    if rule == "lost_gap":
        return t("lost_gap", days=rec, mult=f"{lc.lost_multiple:g}", gap=gap)
    if rule == "lost_p_alive":
        return t("lost_p_alive", p=fmt.number(r.p_alive, language, 2), limit=f"{lc.lost_p_alive:g}")  # type: ignore[attr-defined]
    if rule == "dormant_gap":
        return t("dormant_gap", days=rec, mult=f"{lc.dormant_multiple:g}", gap=gap)
    if rule == "dormant_days":
        return t("dormant_days", days=rec, limit=lc.dormant_days)
    if rule == "reactivated":
        prev = text.label(f"stage.{r.previous_stage}", language)  # type: ignore[attr-defined]
        return t("reactivated", date=fmt.date_long(r.last_purchase, language), prev=prev)  # type: ignore[attr-defined]
    return t("active", days=rec, limit=fmt.number(r.active_limit_days, language, 0))  # type: ignore[attr-defined]
