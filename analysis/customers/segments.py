"""Segment maps on top of RFM scores.

Two schemes are put on every scored customer:

``segment``
    the common 11-segment map (Champions … Lost). A rule gives inclusive ranges for the R, F and M
    scores and for ``fm`` = (F + M) / 2. A rule set must cover each of the 125 (R, F, M) score
    combinations exactly once; :func:`validate_rules` checks that on load and names every
    combination that falls in no rule or in several, so no customer ever lands in a catch-all.
``value_class``
    the Chinese 8-class RFM value model (RFM 八类客户价值模型). Against the mean over the scored
    customers: R is high when ``recency_days`` < mean, F is high when ``frequency`` > mean and M is
    high when ``monetary`` > mean (strict inequalities, so a value equal to the mean is low).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from analysis import text
from analysis.errors import SegmentRuleError
from analysis.params import SegmentRule

#: The 11 segments, best first; this order is also the value ranking used for migration.
SEGMENT_ORDER: tuple[str, ...] = (
    "Champions",
    "Loyal Customers",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "Cannot Lose Them",
    "At Risk",
    "Hibernating",
    "Lost",
)

#: Default rules on the R score and the FM score (mean of F and M). R rows × FM columns:
#: R=5: New (FM ≤ 1.5) | Potential Loyalist (2–3.5) | Champions (≥ 4);
#: R=4: Promising | Potential Loyalist | Loyal; R=3: About to Sleep (≤ 2.5) | Need Attention (3–3.5) | Loyal;
#: R=2: Hibernating (≤ 2.5) | At Risk (3–4) | Cannot Lose Them (≥ 4.5); R=1: Lost | At Risk | Cannot Lose Them.
DEFAULT_RULES: dict[str, SegmentRule] = {
    "Champions": SegmentRule(r=(5, 5), fm=(4, 5)),
    "Loyal Customers": SegmentRule(r=(3, 4), fm=(4, 5)),
    "Potential Loyalist": SegmentRule(r=(4, 5), fm=(2, 3.5)),
    "New Customers": SegmentRule(r=(5, 5), fm=(1, 1.5)),
    "Promising": SegmentRule(r=(4, 4), fm=(1, 1.5)),
    "Need Attention": SegmentRule(r=(3, 3), fm=(3, 3.5)),
    "About to Sleep": SegmentRule(r=(3, 3), fm=(1, 2.5)),
    "Cannot Lose Them": SegmentRule(r=(1, 2), fm=(4.5, 5)),
    "At Risk": SegmentRule(r=(1, 2), fm=(3, 4)),
    "Hibernating": SegmentRule(r=(2, 2), fm=(1, 2.5)),
    "Lost": SegmentRule(r=(1, 1), fm=(1, 2.5)),
}

#: The 8 value classes: (R high, F high, M high) → canonical name, most valuable first. The canonical names
#: (the data values of ``value_class``) are the model's Chinese names; their English names are in the text
#: catalog (``value_class.*`` in ``analysis/text/en.yaml``) and fill the ``value_class_en`` column.
VALUE_CLASS_NAMES: dict[tuple[bool, bool, bool], str] = {
    (True, True, True): "重要价值客户",
    (True, False, True): "重要发展客户",
    (False, True, True): "重要保持客户",
    (False, False, True): "重要挽留客户",
    (True, True, False): "一般价值客户",
    (True, False, False): "一般发展客户",
    (False, True, False): "一般保持客户",
    (False, False, False): "一般挽留客户",
}
VALUE_CLASS_ORDER: tuple[str, ...] = tuple(VALUE_CLASS_NAMES.values())
#: The English name of each value class (from the catalog), for the ``value_class_en`` data column.
VALUE_CLASS_EN: dict[str, str] = {name: text.t(f"value_class.{name}", "en") for name in VALUE_CLASS_ORDER}
#: (R high, F high, M high) → (canonical name, English name).
VALUE_CLASSES: dict[tuple[bool, bool, bool], tuple[str, str]] = {
    flags: (name, VALUE_CLASS_EN[name]) for flags, name in VALUE_CLASS_NAMES.items()
}


def _matches(rule: SegmentRule, r: int, f: int, m: int) -> bool:
    fm = (f + m) / 2
    return (
        rule.r[0] <= r <= rule.r[1]
        and rule.f[0] <= f <= rule.f[1]
        and rule.m[0] <= m <= rule.m[1]
        and rule.fm[0] <= fm <= rule.fm[1]
    )


def rule_table(rules: Mapping[str, SegmentRule]) -> pd.DataFrame:
    """Every (R, F, M) combination with the segment the rules give it (validated first)."""
    validate_rules(rules)
    rows = []
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        seg = next(name for name, rule in rules.items() if _matches(rule, r, f, m))
        rows.append((r, f, m, seg))
    return pd.DataFrame(rows, columns=["r_score", "f_score", "m_score", "segment"])


def validate_rules(rules: Mapping[str, SegmentRule | dict], origin: str = "segment rules") -> dict[str, SegmentRule]:
    """Check that ``rules`` cover each (R, F, M) combination exactly once.

    Raises
    ------
    SegmentRuleError
        Naming the uncovered combinations (gaps) and those claimed by several segments (overlaps).
    """
    parsed = {name: r if isinstance(r, SegmentRule) else SegmentRule.model_validate(r) for name, r in rules.items()}
    if not parsed:
        raise SegmentRuleError(f"{origin}: no segment rules given")
    gaps: list[str] = []
    overlaps: list[str] = []
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        hits = [name for name, rule in parsed.items() if _matches(rule, r, f, m)]
        if not hits:
            gaps.append(f"{r}{f}{m}")
        elif len(hits) > 1:
            overlaps.append(f"{r}{f}{m} ({' & '.join(hits)})")
    if gaps or overlaps:
        parts = [f"{origin}: every (R, F, M) score combination must belong to exactly one segment."]
        if gaps:
            parts.append(
                f"{len(gaps)} combination(s) in no segment (RFM codes): {', '.join(gaps[:25])}"
                + (" …" if len(gaps) > 25 else "")
            )
        if overlaps:
            parts.append(
                f"{len(overlaps)} combination(s) in several segments: {', '.join(overlaps[:25])}"
                + (" …" if len(overlaps) > 25 else "")
            )
        parts.append("Fix the r/f/m/fm ranges under rfm.segment_rules in the params.")
        raise SegmentRuleError("\n".join(parts))
    return parsed


#: pandas' Arrow-backed text (``str``): the type the data contract gives text columns (:mod:`analysis.contract`)
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)


def gather_text(names: np.ndarray | list[str], codes: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``names[codes]`` as Arrow-backed text (:data:`TEXT`): a gather from the few names, no conversion of every
    value from Python objects."""
    return pd.array(np.asarray(names, dtype=object), dtype=TEXT).take(np.asarray(codes, dtype="int64"))


def assign_segments(scores: pd.DataFrame, rules: Mapping[str, SegmentRule] | None = None) -> pd.Series:
    """The segment of each customer from its ``r_score``, ``f_score`` and ``m_score`` columns (text, :data:`TEXT`)."""
    table = rule_table(rules or DEFAULT_RULES)  # (r, f, m) in product order: row (r-1)*25 + (f-1)*5 + (m-1)
    names = table["segment"].to_numpy(dtype=object)
    r, f, m = (scores[c].to_numpy(dtype="int64") for c in ("r_score", "f_score", "m_score"))
    return pd.Series(gather_text(names, (r - 1) * 25 + (f - 1) * 5 + (m - 1)), index=scores.index, name="segment")


def value_classes(summary: pd.DataFrame) -> pd.DataFrame:
    """The 8-class value model: ``value_class`` (Chinese), ``value_class_en`` (text, :data:`TEXT`) and the three
    flags.

    Means are taken over the customers in ``summary`` (the scored customers of this run).
    """
    if summary.empty:
        return pd.DataFrame(
            {"r_high": [], "f_high": [], "m_high": [], "value_class": [], "value_class_en": []},
            index=summary.index,
        ).astype({"r_high": bool, "f_high": bool, "m_high": bool, "value_class": object, "value_class_en": object})
    out = value_class_flags(summary, summary[["recency_days", "frequency", "monetary"]].mean())
    by_code = np.array([VALUE_CLASS_NAMES[(bool(c & 4), bool(c & 2), bool(c & 1))] for c in range(8)], dtype=object)
    en_by_code = np.array([VALUE_CLASS_EN[name] for name in by_code], dtype=object)
    code = out["r_high"].to_numpy() * 4 + out["f_high"].to_numpy() * 2 + out["m_high"].to_numpy() * 1
    out["value_class"] = pd.Series(gather_text(by_code, code), index=out.index)
    out["value_class_en"] = pd.Series(gather_text(en_by_code, code), index=out.index)  # a gather, not a lookup
    return out


def value_class_flags(values: pd.DataFrame, means: pd.Series) -> pd.DataFrame:
    """The rule of the 8-class value model: which of R, F, M are "high" against the means.

    ``r_high``: ``recency_days`` below the mean recency (bought more recently than average); ``f_high`` and
    ``m_high``: ``frequency`` / ``monetary`` above their means. Strict comparisons, where values within
    floating-point rounding of the mean count as equal (not high). Used for customers (:func:`value_classes`,
    means over the scored customers) and for cluster profiles (:mod:`analysis.customers.cluster`, means over
    the clustered customers); :data:`VALUE_CLASSES` maps the flags to the class.

    Parameters
    ----------
    values : DataFrame
        Columns ``recency_days`` (days), ``frequency`` (orders) and ``monetary`` (currency), one row per customer
        or cluster.
    means : Series
        The same three names: the reference means.

    Returns
    -------
    DataFrame
        Boolean ``r_high``, ``f_high``, ``m_high``, indexed like ``values``.
    """
    r_high = _beyond(float(means["recency_days"]), values["recency_days"].to_numpy(dtype=float))
    f_high = _beyond(values["frequency"].to_numpy(dtype=float), float(means["frequency"]))
    m_high = _beyond(values["monetary"].to_numpy(dtype=float), float(means["monetary"]))
    return pd.DataFrame({"r_high": r_high, "f_high": f_high, "m_high": m_high}, index=values.index).astype(bool)


def _beyond(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """``a > b`` strictly, where values within floating-point rounding of each other count as equal."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    scale = np.maximum(1.0, np.abs(np.asarray(b, dtype=float)))
    return diff > 1e-9 * scale


def value_class_label(name: str, language: str = "en") -> str:
    """The display name of a value class (given by its canonical name) in ``language``."""
    return text.label(f"value_class.{name}", language, default=name)


def segment_label(name: str, language: str = "en") -> str:
    """The display name of a segment (given by its canonical English name) in ``language``."""
    return text.label(f"segment.{name}", language, default=name)


def cluster_name_label(name: object, language: str = "en") -> str:
    """A cluster's name in ``language``. Cluster names are English value-class names, with a number when two
    clusters share one ("Important Value 2"); other names are shown as they are."""
    shown = str(name)
    for canonical, en in VALUE_CLASS_EN.items():
        if shown == en or shown.startswith(en + " "):
            return value_class_label(canonical, language) + shown[len(en) :]
    return shown


def order_like(index: Iterable[str], kind: str) -> list[str]:
    """Segment (``kind="segment"``) or value-class names in their canonical order, unknown names last."""
    order = SEGMENT_ORDER if kind == "segment" else VALUE_CLASS_ORDER
    present = set(index)
    known = [s for s in order if s in present]
    return known + sorted(present - set(known), key=str)
