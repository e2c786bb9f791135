"""The grading table: one row per customer with every grade, its reason and what would move it up.

:func:`grading_rules` collects the rule tables a run graded with (params, cut points, period);
:func:`grading_table` builds the table in one language and the other language's sentences beside it. The table is
written as ``grading.csv`` (real ids and each customer's pseudonym, for the CRM) and shown in the report by
pseudonym (:func:`report_view`).
"""

from __future__ import annotations

import pandas as pd

from analysis.customers.lifecycle import purchase_facts
from analysis.customers.segments import DEFAULT_RULES, validate_rules
from analysis.grading.reasons import GRADES, GradingRules, grade_facts, grade_sentences
from analysis.params import RunParams
from analysis.text import LANGUAGES

#: Columns of ``grading.csv`` in order (``pseudonym`` is added by the writer; ``_<other language>`` columns after).
TABLE_COLUMNS: tuple[str, ...] = (
    "segment", "value_class", "abc_class", "lifecycle_stage", "cluster", "recency_days", "frequency", "monetary",
    "reason", "next_grade", "move_up", "orders_to_next",
    *(f"{g}_{part}" for g in GRADES for part in ("reason", "move_up")),
)  # fmt: skip


def grading_rules(
    params: RunParams,
    cut_points: pd.DataFrame,
    period_start: pd.Timestamp,
    as_of: pd.Timestamp,
    next_end: pd.Timestamp,
    left_censored: bool = False,
) -> GradingRules:
    """The rule tables of a run: its params' segment rules (or the defaults), ABC limits and lifecycle thresholds,
    its cut points and period."""
    rules = validate_rules(params.rfm.segment_rules, "rfm.segment_rules") if params.rfm.segment_rules else DEFAULT_RULES
    seg = params.segmentation
    return GradingRules(
        segment_rules=rules,
        cut_points=cut_points,
        abc=tuple(seg.abc),  # type: ignore[arg-type]
        lifecycle=seg.lifecycle,
        period_start=pd.Timestamp(period_start).normalize(),
        as_of=pd.Timestamp(as_of).normalize(),
        next_end=pd.Timestamp(next_end).normalize(),
        left_censored=left_censored,
    )


def grading_table(
    customers: pd.DataFrame,
    transactions: pd.DataFrame,
    rules: GradingRules,
    language: str,
    currency: str = "$",
    cluster_profile: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every customer's grades with the reason and the move-up sentence of each, in ``language`` (columns of
    :data:`TABLE_COLUMNS`) and in the other language (``reason_<lang>``, ``move_up_<lang>``).

    ``transactions``: the run's clean transactions (for the lifecycle facts, up to ``rules.as_of``). Index
    ``customer_id``, in the order of ``customers``.
    """
    facts_in = purchase_facts(transactions, rules.as_of, rules.period_start - pd.Timedelta(days=1))
    facts = grade_facts(customers, rules, facts_in, cluster_profile)
    words = grade_sentences(facts, rules, language, currency)
    out = pd.concat([facts[["segment", "value_class", "abc_class", "lifecycle_stage"]], words], axis=1)
    out["cluster"] = facts["cluster"]
    out["orders_to_next"] = facts["segment_orders"].where(facts["segment_orders"] > 0).astype("Int64")
    for col in ("recency_days", "frequency", "monetary"):
        out[col] = customers[col]
    out = out[list(TABLE_COLUMNS)]
    for other in LANGUAGES:
        if other == language:
            continue
        more = grade_sentences(facts, rules, other, currency)
        out[f"reason_{other}"] = more["reason"]
        out[f"next_grade_{other}"] = more["next_grade"]
        out[f"move_up_{other}"] = more["move_up"]
    out.index.name = "customer_id"
    return out


def report_view(table: pd.DataFrame, language: str, search: str | None = None) -> pd.DataFrame:
    """The columns the report shows (grades in ``language``, the reason and the move-up sentence), optionally only
    rows whose text contains ``search`` (case-insensitive)."""
    from analysis import text

    cols = ["segment", "value_class", "abc_class", "lifecycle_stage", "reason", "next_grade", "move_up"]
    shown = table[cols].copy()
    for col in ("segment", "value_class", "lifecycle_stage"):
        shown[col] = shown[col].map(lambda v: text.name(v, language))
    if search:
        hit = shown.astype(str).apply(lambda c: c.str.contains(search, case=False, regex=False)).any(axis=1)
        shown = shown[hit]
    return shown
