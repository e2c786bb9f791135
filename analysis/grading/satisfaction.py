"""Satisfaction, feedback and contacts per customer, the value × satisfaction grid and the overall grade.

Window
    The scoring window: feedback and contacts dated after ``since`` (exclusive; None = all history) and on or
    before ``as_of`` (inclusive), the window RFM is scored on.
Per customer (:func:`customer_measures`)
    ``feedback_count``; ``last_score`` / ``last_scale`` / ``last_scale_high`` / ``last_date`` (the latest answer as
    given and its day, ties: the later row);
    ``last_score_01`` and ``mean_score_01`` (scores on 0–1, see :mod:`analysis.grading.inputs`); ``nps_class`` of
    the latest NPS answer (0–6 detractor, 7–8 passive, 9–10 promoter; NA without one); ``complaints``; ``contacts``
    in the window, ``inbound_contacts``; ``days_since_contact`` (whole days from the last contact to ``as_of``,
    NA without one). ``satisfaction`` band: ``unhappy`` (mean below ``unhappy_below`` or any complaint),
    ``neutral`` (below 0.75), ``happy``, or ``no feedback``.
Value × satisfaction grid (:func:`value_satisfaction_grid`)
    Customers and spend (currency, the scoring window) per ABC tier × satisfaction band. Valuable (tier A) but
    unhappy customers get the playbook's service-recovery play (``warnings.service_recovery``, its audience in the
    playbook; :func:`service_recovery` lists them as the strategy assigned them).
Overall grade (:func:`overall_grade`)
    Each criterion on 0–1: R, F, M as ``(score − 1) / 4``; satisfaction the mean score on 0–1; contacts the
    percentile rank of the customer's contacts in the window among the customers. The grade score is the weighted
    mean (params ``grading.weights``) over the criteria the customer has (a customer without feedback is graded on
    the others); grade A from 0.75, B from 0.5, C from 0.25, else D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import text
from analysis.params import GradeWeights
from analysis.text import format as fmt

BANDS: tuple[str, ...] = ("unhappy", "neutral", "happy", "no feedback")
HAPPY_FROM = 0.75
#: Overall grade limits on the 0–1 grade score (a grade from its limit up).
GRADE_LIMITS: tuple[tuple[str, float], ...] = (("A", 0.75), ("B", 0.5), ("C", 0.25), ("D", 0.0))


def _in_window(frame: pd.DataFrame, as_of: pd.Timestamp, since: pd.Timestamp | None) -> pd.DataFrame:
    day = frame["date"]
    keep = day <= as_of
    if since is not None:
        keep &= day > since
    return frame[keep.fillna(False)]


def customer_measures(
    customers: pd.Index,
    feedback: pd.DataFrame | None,
    interactions: pd.DataFrame | None,
    as_of: pd.Timestamp,
    since: pd.Timestamp | None = None,
    unhappy_below: float = 0.5,
) -> pd.DataFrame:
    """Satisfaction and contact measures per customer of ``customers`` (see the module docstring).

    Returns
    -------
    DataFrame
        Index ``customer_id`` (the given customers, in their order). Customers with no feedback have
        ``feedback_count`` 0 and NA scores; with no contacts ``contacts`` 0.
    """
    as_of = pd.Timestamp(as_of).normalize()
    idx = pd.Index(customers.astype(str), name="customer_id")
    out = pd.DataFrame(index=idx)
    if feedback is not None:
        fb = _in_window(feedback, as_of, since)
        fb = fb[fb["customer_id"].isin(idx)]
        fb = fb.assign(_row=np.arange(len(fb))).sort_values(["customer_id", "date", "_row"])
        g = fb.groupby("customer_id")
        last = g.tail(1).set_index("customer_id")
        out["feedback_count"] = g.size().reindex(idx).fillna(0).astype(int)
        out["last_score"] = last["score"].reindex(idx)
        out["last_scale"] = last["scale"].reindex(idx)
        out["last_date"] = last["date"].reindex(idx)
        out["last_scale_high"] = last["scale_high"].reindex(idx)
        out["last_score_01"] = last["score_01"].reindex(idx)
        out["mean_score_01"] = g["score_01"].mean().reindex(idx)
        nps = fb[fb["scale"] == "nps"].groupby("customer_id").tail(1).set_index("customer_id")["score"]
        cls = pd.Series(np.select([nps >= 9, nps >= 7], ["promoter", "passive"], "detractor"), index=nps.index)
        out["nps_class"] = cls.reindex(idx).astype(object)
        out["complaints"] = fb.groupby("customer_id")["complaint"].sum().reindex(idx).fillna(0).astype(int)
        band = np.select(
            [out["complaints"] > 0, out["mean_score_01"] < unhappy_below, out["mean_score_01"] < HAPPY_FROM,
             out["mean_score_01"].notna()],
            ["unhappy", "unhappy", "neutral", "happy"], "no feedback",
        )  # fmt: skip
        out["satisfaction"] = band
    if interactions is not None:
        it = _in_window(interactions, as_of, since)
        it = it[it["customer_id"].isin(idx)]
        g = it.groupby("customer_id")
        out["contacts"] = g.size().reindex(idx).fillna(0).astype(int)
        inbound = it["direction"].eq("inbound").fillna(False).astype(int)
        out["inbound_contacts"] = inbound.groupby(it["customer_id"]).sum().reindex(idx).fillna(0).astype(int)
        out["days_since_contact"] = (as_of - g["date"].max()).dt.days.reindex(idx).astype("Int64")
    return out


def contacts_without_purchases(
    interactions: pd.DataFrame, customers: pd.Index, as_of: pd.Timestamp, since: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Contacts in the window of ids that are not among the scored customers (no purchase in the window): per id,
    ``contacts`` and ``last_contact``. They are leads or lapsed customers a rep is talking to."""
    it = _in_window(interactions, pd.Timestamp(as_of).normalize(), since)
    it = it[~it["customer_id"].isin(customers.astype(str))]
    g = it.groupby("customer_id")
    return pd.DataFrame({"contacts": g.size(), "last_contact": g["date"].max()}).sort_values(
        ["contacts", "last_contact"], ascending=False
    )


def value_satisfaction_grid(customers: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """Customers and spend per ABC tier (rows A, B, C) × satisfaction band (columns :data:`BANDS`).

    Returns
    -------
    DataFrame
        Index ``abc_class``; columns MultiIndex (``customers`` | ``spend``, band). Spend in currency over the scoring
        window (``monetary``).
    """
    band = measures["satisfaction"].reindex(customers.index.astype(str)).to_numpy()
    df = pd.DataFrame({"abc_class": customers["abc_class"].to_numpy(), "band": band,
                       "monetary": customers["monetary"].to_numpy(dtype=float)})  # fmt: skip
    n = df.pivot_table(index="abc_class", columns="band", values="monetary", aggfunc="size", fill_value=0)
    s = df.pivot_table(index="abc_class", columns="band", values="monetary", aggfunc="sum", fill_value=0.0)
    n = n.reindex(index=["A", "B", "C"], columns=list(BANDS), fill_value=0).astype(int)
    s = s.reindex(index=["A", "B", "C"], columns=list(BANDS), fill_value=0.0)
    out = pd.concat({"customers": n, "spend": s}, axis=1)
    out.index.name = "abc_class"
    return out


def satisfaction_by_segment(customers: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """Per segment: ``customers``, ``with_feedback``, ``mean_score_01`` (mean of the customers' mean scores on 0–1),
    ``unhappy_share`` (of customers with feedback or a complaint), ``complaints``, ``contacts_per_customer``."""
    m = measures.reindex(customers.index.astype(str))
    m.index = customers.index
    df = m.assign(segment=customers["segment"])
    g = df.groupby("segment", sort=False)
    out = pd.DataFrame({"customers": g.size()})
    if "feedback_count" in df:
        has = df["feedback_count"] > 0
        out["with_feedback"] = has.groupby(df["segment"]).sum().astype(int)
        out["mean_score_01"] = g["mean_score_01"].mean()
        unhappy = df["satisfaction"].eq("unhappy")
        rated = df["satisfaction"].ne("no feedback")
        out["unhappy_share"] = unhappy.groupby(df["segment"]).sum() / rated.groupby(df["segment"]).sum().where(
            lambda x: x > 0
        )
        out["complaints"] = g["complaints"].sum().astype(int)
    if "contacts" in df:
        out["contacts_per_customer"] = g["contacts"].mean()
    from analysis.customers.segments import order_like

    return out.loc[order_like(out.index, "segment")]


def complaints_by_product_line(
    feedback: pd.DataFrame, transactions: pd.DataFrame | None, as_of: pd.Timestamp, since: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Complaints in the window per product line: the feedback's own ``product_line``, else the product line of the
    order it names (``order_id``, the order's largest line), else ``(unknown)``. Columns ``complaints``,
    ``feedback`` (answers naming the line) and ``complaint_share``."""
    fb = _in_window(feedback, pd.Timestamp(as_of).normalize(), since)
    line = fb["product_line"] if "product_line" in fb else pd.Series(pd.NA, index=fb.index, dtype=object)
    if "order_id" in fb and transactions is not None and {"order_id", "product_line"} <= set(transactions.columns):
        tx = transactions.sort_values("amount", ascending=False).drop_duplicates("order_id")
        by_order = tx.set_index(tx["order_id"].astype(str))["product_line"]
        line = line.where(line.notna(), fb["order_id"].map(by_order))
    line = line.fillna("(unknown)").astype(str)
    g = fb.assign(line=line.to_numpy()).groupby("line")
    out = pd.DataFrame({"complaints": g["complaint"].sum().astype(int), "feedback": g.size()})
    out["complaint_share"] = out["complaints"] / out["feedback"]
    out.index.name = "product_line"
    return out.sort_values(["complaints", "feedback"], ascending=False)


def service_recovery(assignments: pd.DataFrame, measures: pd.DataFrame, action_id: str) -> pd.DataFrame:
    """The service-recovery action's customers as the strategy assigned them (the playbook's ``service_recovery``
    play, whose audience is valuable but unhappy customers; :func:`analysis.strategy.actions.in_audience`): the
    customers of its CRM list ``actions/<action_id>.csv``, most valuable first, with ``segment``, ``abc_class``
    (when present), ``monetary`` and their ``mean_score_01``, ``complaints``, ``last_score``, ``last_scale``.
    Empty when the action reaches nobody."""
    a = assignments[assignments["action_id"] == action_id]
    m = measures.reindex(a.index.astype(str))
    m.index = a.index
    cols = [c for c in ("segment", "abc_class", "monetary", "value_at_stake") if c in a.columns]
    keep = [c for c in ("mean_score_01", "complaints", "last_score", "last_scale") if c in m.columns]
    out = a[cols].join(m[keep])
    return out.sort_values("value_at_stake" if "value_at_stake" in out else "monetary", ascending=False)


def criteria(customers: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """The grading criteria of every customer on 0–1 (see the module docstring); NA where a customer has none."""
    out = pd.DataFrame(index=customers.index)
    for col, score in (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score")):
        out[col] = (customers[score].astype(float) - 1) / 4
    m = measures.reindex(customers.index.astype(str))
    m.index = customers.index
    out["satisfaction"] = m["mean_score_01"].astype(float) if "mean_score_01" in m else np.nan
    if "contacts" in m:
        out["contacts"] = m["contacts"].astype(float).rank(pct=True, method="average")
    else:
        out["contacts"] = np.nan
    return out


def overall_grade(customers: pd.DataFrame, measures: pd.DataFrame, weights: GradeWeights) -> pd.DataFrame:
    """The overall grade: ``grade_score`` (0–1, the weighted mean of :func:`criteria` the customer has) and
    ``grade`` (:data:`GRADE_LIMITS`), with ``grade_next`` and ``points_to_next`` (grade-score points missing)."""
    c = criteria(customers, measures)
    w = pd.Series(weights.model_dump(), dtype=float).reindex(c.columns)
    have = c.notna() & (w > 0).to_numpy()
    wsum = (have * w.to_numpy()).sum(axis=1)
    score = (c.fillna(0) * w.to_numpy()).where(have, 0).sum(axis=1) / wsum.where(wsum > 0)
    grade = np.select([score >= lim for _, lim in GRADE_LIMITS[:-1]], [g for g, _ in GRADE_LIMITS[:-1]], "D")
    names = [g for g, _ in GRADE_LIMITS]
    limits = dict(GRADE_LIMITS)
    nxt = [names[names.index(g) - 1] if names.index(g) > 0 else "" for g in grade]
    pts = [limits[n] - s if n else np.nan for n, s in zip(nxt, score, strict=True)]
    out = c.add_prefix("criterion_")
    out["grade_score"] = score
    out["grade"] = grade
    out["grade_next"] = nxt
    out["points_to_next"] = pts
    return out


def grade_sentences(grades: pd.DataFrame, weights: GradeWeights, language: str) -> pd.DataFrame:
    """``grade_reason`` (the criteria, weights and the limit that fired) and ``grade_move_up`` per customer."""
    w = weights.model_dump()
    names = {k: text.t(f"grading.criterion.{k}", language) for k in w}
    reasons, moves = [], []
    limits = dict(GRADE_LIMITS)
    for row in grades.itertuples():
        parts = []
        for k in w:
            v = getattr(row, f"criterion_{k}")
            if w[k] > 0 and pd.notna(v):
                parts.append(f"{names[k]} {v:.2f}×{w[k]:g}")
        reasons.append(
            text.t("grading.overall.reason", language, grade=row.grade, score=f"{row.grade_score:.2f}",
                   parts=", ".join(parts), limit=f"{limits[row.grade]:g}")
        )  # fmt: skip
        if not row.grade_next:
            moves.append(text.t("grading.overall.top", language))
            continue
        # the criterion that reaches the next grade with the smallest rise on its own 0–1 scale
        have = {k: getattr(row, f"criterion_{k}") for k in w if w[k] > 0 and pd.notna(getattr(row, f"criterion_{k}"))}
        total_w = sum(w[k] for k in have)
        best = None
        for k, v in have.items():
            rise = row.points_to_next * total_w / w[k]
            if v + rise <= 1 and (best is None or rise < best[1]):
                best = (k, rise)
        if best is None:
            moves.append(text.t("grading.overall.several", language, next=row.grade_next,
                                 points=f"{row.points_to_next:.2f}"))  # fmt: skip
        else:
            moves.append(text.t("grading.overall.move_up", language, next=row.grade_next,
                                 points=f"{row.points_to_next:.2f}", criterion=names[best[0]],
                                 rise=f"{best[1]:.2f}"))  # fmt: skip
    return pd.DataFrame({"grade_reason": reasons, "grade_move_up": moves}, index=grades.index)


def window_text(as_of: pd.Timestamp, since: pd.Timestamp | None, language: str) -> str:
    """The window the measures cover, for table captions."""
    if since is None:
        return text.t("grading.window_all", language, end=fmt.date_long(as_of, language))
    return text.t("grading.window", language, start=fmt.date_long(since + pd.Timedelta(days=1), language),
                  end=fmt.date_long(as_of, language))  # fmt: skip
