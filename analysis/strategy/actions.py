"""Apply a strategy playbook to scored customers: who gets which action, at what cost and return.

Definitions
-----------
Play chosen per customer
    ``warnings`` override (customer flagged, e.g. by :func:`analysis.strategy.churn.churn_warnings`) >
    ``lifecycle`` override (the customer's lifecycle stage has a play) > the play of their segment.
Value at stake (currency)
    The customer's ``clv`` when the CLV models ran (CLV columns present); otherwise their
    ``monetary`` value in the scoring window. Customers with a missing CLV fall back to monetary.
Budget (currency)
    ``budget_per_customer`` of the play × customers targeted.
Expected return (currency) — the assumption
    ``uplift_rate`` of the play × value at stake: the share of the value at stake the action is
    expected to earn or save. It is a planning assumption written in the playbook, not an estimate
    from data; validate it with a hold-out group. Net return = expected return − budget;
    ROI = net return / budget.
Priority
    Actions are ranked by net return (highest first), ties by action id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import InputError
from analysis.strategy.playbook import SEGMENT_NAMES_ZH, SEGMENTS, Play, Playbook

_TEXT_FIELDS = ("objective", "action", "channel", "offer")
#: Reader-facing names of the override groups (English, Chinese).
OVERRIDE_LABELS: dict[str, tuple[str, str]] = {
    "lifecycle:new": ("newly acquired customers", "新获客客户"),
    "lifecycle:active": ("active customers", "活跃客户"),
    "lifecycle:dormant": ("dormant customers", "沉睡客户"),
    "lifecycle:lost": ("lost customers", "已流失客户"),
    "lifecycle:reactivated": ("reactivated customers", "回流客户"),
    "warning:churn_warning": ("valuable customers with a churn warning", "有流失预警的高价值客户"),
}


def _rule_label(rule: str) -> tuple[str, str]:
    if rule.startswith("segment:"):
        seg = rule.removeprefix("segment:")
        return seg, SEGMENT_NAMES_ZH.get(seg, seg)
    return OVERRIDE_LABELS.get(rule, (rule, rule))


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


@dataclass(frozen=True)
class StrategyResult:
    """Everything :func:`apply_playbook` computes.

    Attributes
    ----------
    assignments : DataFrame
        One row per customer (index ``customer_id``): segment, value class, monetary, clv (when
        present), ``value_at_stake``, the play chosen (``action_id``, bilingual texts), ``rule``
        (which playbook entry applied), ``budget`` and ``expected_return`` (currency).
    actions : DataFrame
        One row per action used (index ``action_id``): customers, revenue_at_stake, clv_at_stake,
        value_at_stake, budget, uplift_rate, expected_return, net_return, roi, priority.
    by_segment : DataFrame
        One row per segment present (index ``segment``, value order).
    recommendations : DataFrame
        Actions in priority order with one sentence each in English (``sentence_en``) and
        Chinese (``sentence_zh``).
    has_clv : bool
        Whether the value at stake is CLV (True) or monetary (False).
    notes : list of str
        Plain-language caveats (no CLV columns, customers without CLV, ...).
    """

    assignments: pd.DataFrame
    actions: pd.DataFrame
    by_segment: pd.DataFrame
    recommendations: pd.DataFrame
    has_clv: bool
    notes: list[str] = field(default_factory=list)


def _has_clv(customers: pd.DataFrame) -> bool:
    return "clv" in customers.columns and bool(customers["clv"].notna().any())


def _flags(customers: pd.DataFrame, warnings: pd.Series | Iterable[str] | None) -> pd.Series:
    """Boolean Series (index customer_id): customer carries the churn warning."""
    if warnings is None:
        if "churn_warning" in customers.columns:
            return customers["churn_warning"].fillna(False).astype(bool)
        return pd.Series(False, index=customers.index)
    if isinstance(warnings, pd.DataFrame):
        ids = warnings.index
    elif isinstance(warnings, pd.Series) and warnings.dtype == bool:
        ids = warnings.index[warnings.to_numpy()]
    else:
        ids = pd.Index(list(warnings))
    return pd.Series(customers.index.isin(ids), index=customers.index)


def assign_actions(
    customers: pd.DataFrame,
    playbook: Playbook,
    *,
    stages: pd.Series | None = None,
    warnings: pd.Series | pd.DataFrame | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Choose one play per customer.

    Parameters
    ----------
    customers : DataFrame
        Customer frame (index ``customer_id``) with ``segment`` and ``monetary`` (currency);
        optional ``value_class``, ``value_class_en``, ``clv``, ``lifecycle_stage``, ``churn_warning``.
    playbook : Playbook
        From :func:`analysis.strategy.playbook.load_playbook`.
    stages : Series, optional
        Lifecycle stage per customer (index ``customer_id``); defaults to the ``lifecycle_stage``
        column when present. Stages with a ``lifecycle`` play override the segment play.
    warnings : Series of bool, DataFrame, or iterable of customer ids, optional
        Customers carrying the churn warning (e.g. the frame returned by
        :func:`analysis.strategy.churn.churn_warnings`); defaults to the ``churn_warning`` column.

    Returns
    -------
    DataFrame
        See :attr:`StrategyResult.assignments`.

    Raises
    ------
    InputError
        If ``segment`` or ``monetary`` is missing, or a segment has no play.
    """
    missing = [c for c in ("segment", "monetary") if c not in customers.columns]
    if missing:
        raise InputError(
            f"customer frame: missing column(s) {missing}; score the customers with analysis.customers.rfm first"
        )
    unknown = sorted(set(customers["segment"].dropna().astype(str)) - set(playbook.segments))
    n_na = int(customers["segment"].isna().sum())
    if unknown or n_na:
        raise InputError(
            f"customer frame: column 'segment' has value(s) {unknown}{' and missing values' if n_na else ''}"
            f" with no play; valid segments are {list(SEGMENTS)}"
        )
    out = pd.DataFrame(index=customers.index)
    out["segment"] = customers["segment"].astype(str)
    for col in ("value_class", "value_class_en"):
        if col in customers.columns:
            out[col] = customers[col]
    out["monetary"] = customers["monetary"].astype(float)
    has_clv = _has_clv(customers)
    if has_clv:
        out["clv"] = customers["clv"].astype(float)
        out["value_at_stake"] = out["clv"].fillna(out["monetary"])
    else:
        out["value_at_stake"] = out["monetary"]

    rule = "segment:" + out["segment"]
    if stages is None and "lifecycle_stage" in customers.columns:
        stages = customers["lifecycle_stage"]
    if stages is not None:
        st = stages.reindex(customers.index)
        has = st.isin(list(playbook.lifecycle)).to_numpy()
        rule = rule.where(~has, "lifecycle:" + st.astype(str))
    flagged = _flags(customers, warnings).to_numpy()
    if flagged.any() and "churn_warning" in playbook.warnings:
        rule = rule.where(~flagged, "warning:churn_warning")
    out["rule"] = rule

    plays: dict[str, Play] = {f"segment:{k}": v for k, v in playbook.segments.items()}
    plays |= {f"lifecycle:{k}": v for k, v in playbook.lifecycle.items()}
    plays |= {f"warning:{k}": v for k, v in playbook.warnings.items()}
    rule = out["rule"]
    out["action_id"] = rule.map({k: p.id for k, p in plays.items()})
    for name in _TEXT_FIELDS:
        out[name] = rule.map({k: getattr(p, name).en for k, p in plays.items()})
        out[f"{name}_zh"] = rule.map({k: getattr(p, name).zh for k, p in plays.items()})
    out["budget"] = rule.map({k: p.budget_per_customer for k, p in plays.items()}).astype(float)
    out["uplift_rate"] = rule.map({k: p.uplift_rate for k, p in plays.items()}).astype(float)
    out["expected_return"] = out["uplift_rate"] * out["value_at_stake"]
    return out


def summarise_actions(assignments: pd.DataFrame) -> pd.DataFrame:
    """Per-action table from :func:`assign_actions`.

    Parameters
    ----------
    assignments : DataFrame
        Output of :func:`assign_actions`.

    Returns
    -------
    DataFrame
        Index ``action_id``; columns ``priority``, ``action``, ``action_zh``, ``objective``,
        ``objective_zh``, ``channel``, ``channel_zh``, ``offer``, ``offer_zh``, ``group`` /
        ``group_zh`` (who is targeted: the segments, or the override group such as "reactivated
        customers"), ``segments`` (comma-separated segments reached), ``customers``,
        ``revenue_at_stake`` (sum of monetary), ``clv_at_stake`` (sum of CLV; NaN without CLV),
        ``value_at_stake``, ``budget``, ``uplift_rate``, ``expected_return``, ``net_return``,
        ``roi`` (NaN when the budget is 0) and ``priority`` (1 = highest net return).
        All amounts in currency.
    """
    a = assignments
    g = a.groupby("action_id", sort=True)
    first = g[[f"{n}{s}" for n in _TEXT_FIELDS for s in ("", "_zh")] + ["uplift_rate"]].first()
    order = {s: i for i, s in enumerate(SEGMENTS)}
    segs = g["segment"].agg(lambda s: ", ".join(sorted(set(s), key=lambda x: order.get(x, 99))))

    def rule_key(rule: str) -> tuple[int, int, str]:
        kind = 0 if rule.startswith("segment:") else 1
        return kind, order.get(rule.removeprefix("segment:"), 99), rule

    rules = g["rule"].agg(lambda s: sorted(set(s), key=rule_key))
    t = first.assign(
        group=rules.map(lambda rs: ", ".join(_rule_label(r)[0] for r in rs)),
        group_zh=rules.map(lambda rs: "、".join(_rule_label(r)[1] for r in rs)),
        segments=segs,
        customers=g.size(),
        revenue_at_stake=g["monetary"].sum(),
        clv_at_stake=g["clv"].sum(min_count=1) if "clv" in a.columns else np.nan,
        value_at_stake=g["value_at_stake"].sum(),
        budget=g["budget"].sum(),
        expected_return=g["expected_return"].sum(),
    )
    t["net_return"] = t["expected_return"] - t["budget"]
    t["roi"] = t["net_return"] / t["budget"].where(t["budget"] > 0)
    t = t.reset_index().sort_values(["net_return", "action_id"], ascending=[False, True])
    t["priority"] = np.arange(1, len(t) + 1)
    cols = [
        "action_id", "priority", "action", "action_zh", "objective", "objective_zh", "channel",
        "channel_zh", "offer", "offer_zh", "group", "group_zh", "segments", "customers", "revenue_at_stake",
        "clv_at_stake", "value_at_stake", "budget", "uplift_rate", "expected_return", "net_return", "roi",
    ]  # fmt: skip
    return t[cols].set_index("action_id")


def segment_summary(assignments: pd.DataFrame) -> pd.DataFrame:
    """Per-segment view of the assignments.

    Parameters
    ----------
    assignments : DataFrame
        Output of :func:`assign_actions`.

    Returns
    -------
    DataFrame
        Index ``segment`` (value order, only segments present); columns ``segment_zh``,
        ``customers``, ``revenue`` (sum of monetary), ``clv`` (sum; NaN without CLV),
        ``value_at_stake``, ``budget``, ``expected_return``, ``main_action`` (the most common
        action id) and ``overridden`` (customers whose play came from a lifecycle or warning
        override).
    """
    a = assignments
    g = a.groupby("segment", sort=False)
    t = pd.DataFrame(
        {
            "customers": g.size(),
            "revenue": g["monetary"].sum(),
            "clv": g["clv"].sum(min_count=1) if "clv" in a.columns else np.nan,
            "value_at_stake": g["value_at_stake"].sum(),
            "budget": g["budget"].sum(),
            "expected_return": g["expected_return"].sum(),
            "main_action": g["action_id"].agg(lambda s: s.value_counts().index[0]),
            "overridden": g["rule"].agg(lambda s: int((~s.str.startswith("segment:")).sum())),
        }
    )
    present = [s for s in SEGMENTS if s in t.index] + sorted(set(t.index) - set(SEGMENTS))
    t = t.loc[present]
    t.insert(0, "segment_zh", [SEGMENT_NAMES_ZH.get(s, s) for s in t.index])
    t.index.name = "segment"
    return t


def _money(x: float) -> str:
    """Whole units from 1,000 up, two decimals below."""
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:,.2f}"


def recommendations(actions: pd.DataFrame, *, currency: str = "CNY", has_clv: bool = False) -> pd.DataFrame:
    """One plain-language sentence per action, English and Chinese, in priority order.

    Parameters
    ----------
    actions : DataFrame
        Output of :func:`summarise_actions`.
    currency : str, default="CNY"
        Currency label used in the sentences.
    has_clv : bool, default=False
        Whether the value at stake is CLV (changes the wording only).

    Returns
    -------
    DataFrame
        Columns ``priority``, ``action_id``, ``customers``, ``budget``, ``expected_return``,
        ``net_return``, ``sentence_en``, ``sentence_zh`` (sentences carry no priority number; use
        the ``priority`` column for that).
    """
    basis_en = "CLV" if has_clv else "revenue"
    basis_zh = "客户终身价值" if has_clv else "收入"
    rows = []
    for aid, r in actions.sort_values("priority").iterrows():
        verdict_en = "pays back" if r["net_return"] >= 0 else "does not pay back on these assumptions"
        verdict_zh = "可收回成本" if r["net_return"] >= 0 else "按当前假设无法收回成本"
        group, group_zh = r["group"], r["group_zh"]
        n = int(r["customers"])
        who_en = f"{n:,} customer{'s' if n != 1 else ''}"
        who_zh = f"{n:,}位客户"
        if group != r["segments"]:  # an override: say where its customers come from
            segs_zh = "、".join(SEGMENT_NAMES_ZH.get(x, x) for x in r["segments"].split(", "))
            who_en += f", from {r['segments']}"
            who_zh += f"，来自{segs_zh}"
        en = (
            f"{group[0].upper() + group[1:]} ({who_en}): "
            f"{r['action']} via {r['channel']}, offering {r['offer']}. Budget {_money(r['budget'])} "
            f"{currency}, expected return {_money(r['expected_return'])} {currency} "
            f"({r['uplift_rate']:.0%} of {_money(r['value_at_stake'])} {currency} {basis_en} at stake), "
            f"so it {verdict_en}."
        )
        zh = (
            f"{group_zh}（{who_zh}）：通过{r['channel_zh']}"
            f"{r['action_zh']}，优惠：{r['offer_zh']}。预算{_money(r['budget'])} {currency}，"
            f"预期回报{_money(r['expected_return'])} {currency}（涉及{basis_zh}"
            f"{_money(r['value_at_stake'])} {currency}，假设提升率{r['uplift_rate']:.0%}），{verdict_zh}。"
        )
        rows.append(
            {
                "priority": int(r["priority"]),
                "action_id": aid,
                "customers": int(r["customers"]),
                "budget": r["budget"],
                "expected_return": r["expected_return"],
                "net_return": r["net_return"],
                "sentence_en": en,
                "sentence_zh": zh,
            }
        )
    cols = ["priority", "action_id", "customers", "budget", "expected_return", "net_return"]
    return pd.DataFrame(rows, columns=[*cols, "sentence_en", "sentence_zh"])


def apply_playbook(
    customers: pd.DataFrame,
    playbook: Playbook,
    *,
    stages: pd.Series | None = None,
    warnings: pd.Series | pd.DataFrame | Iterable[str] | None = None,
    currency: str | None = None,
) -> StrategyResult:
    """Assign actions, summarise them per action and per segment, and write recommendations.

    Parameters
    ----------
    customers : DataFrame
        Customer frame (index ``customer_id``); see :func:`assign_actions`.
    playbook : Playbook
        From :func:`analysis.strategy.playbook.load_playbook`.
    stages, warnings : optional
        Lifecycle stages and churn-warning flags; see :func:`assign_actions`.
    currency : str, optional
        Currency label for the sentences; defaults to the playbook's ``currency``.

    Returns
    -------
    StrategyResult

    Examples
    --------
    >>> import pandas as pd
    >>> from analysis.strategy.playbook import load_playbook
    >>> c = pd.DataFrame({"segment": ["Champions", "Lost"], "monetary": [500.0, 20.0]},
    ...                  index=pd.Index(["a", "b"], name="customer_id"))
    >>> res = apply_playbook(c, load_playbook())
    >>> res.actions["customers"].sum(), res.has_clv
    (np.int64(2), False)
    """
    a = assign_actions(customers, playbook, stages=stages, warnings=warnings)
    has_clv = _has_clv(customers)
    notes: list[str] = []
    if not has_clv:
        notes.append(
            "No CLV columns: value at stake is each customer's monetary value in the scoring window "
            "(run the CLV models to use predicted lifetime value instead)."
        )
    else:
        n_missing = int(a["clv"].isna().sum())
        if n_missing:
            notes.append(f"{n_missing} customer(s) have no CLV; their monetary value is used instead.")
    notes.append(
        "Expected return = uplift_rate (from the playbook) × value at stake; uplift rates are "
        "planning assumptions, not estimates."
    )
    actions = summarise_actions(a)
    return StrategyResult(
        assignments=a,
        actions=actions,
        by_segment=segment_summary(a),
        recommendations=recommendations(actions, currency=currency or playbook.currency, has_clv=has_clv),
        has_clv=has_clv,
        notes=notes,
    )


def safe_filename(name: str) -> str:
    """A file-system-safe stem: lower-case ASCII letters, digits, ``_`` and ``-`` only.

    >>> safe_filename("Win back / At Risk!")
    'win_back_at_risk'
    """
    stem = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_-")[:64] or "action"
    return f"{stem}_" if stem in _RESERVED else stem


def write_action_csvs(
    assignments: pd.DataFrame,
    folder: str | Path,
    *,
    language: str = "en",
    encoding: str = "utf-8-sig",
) -> dict[str, Path]:
    """Write one CSV of customers per action, for CRM import.

    Parameters
    ----------
    assignments : DataFrame
        Output of :func:`assign_actions` (or ``StrategyResult.assignments``).
    folder : str or Path
        Created if missing. Files are named ``<action_id>.csv`` (made safe by :func:`safe_filename`;
        clashes get ``_2``, ``_3``...). Existing files of the same name are overwritten.
    language : {"en", "zh"}, default="en"
        Language of the ``action``, ``channel`` and ``offer`` texts.
    encoding : str, default="utf-8-sig"
        The BOM lets Excel open Chinese text correctly; use ``"utf-8"`` for systems that reject it.

    Returns
    -------
    dict of str to Path
        File written per action id.

    Notes
    -----
    Columns: ``customer_id``, ``segment``, ``value_class`` (when present), ``monetary`` (currency),
    ``clv`` (currency, when present), ``action_id``, ``action``, ``channel``, ``offer``. Rows are sorted
    by value at stake, highest first.
    """
    if language not in ("en", "zh"):
        raise InputError(f"language must be 'en' or 'zh', got {language!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sfx = "" if language == "en" else "_zh"
    cols = ["segment", *(c for c in ("value_class", "monetary", "clv") if c in assignments.columns)]
    written: dict[str, Path] = {}
    used: set[str] = set()
    for aid, grp in assignments.groupby("action_id", sort=True):
        stem = safe_filename(str(aid))
        base, i = stem, 2
        while stem in used:
            stem, i = f"{base}_{i}", i + 1
        used.add(stem)
        out = grp.sort_values("value_at_stake", ascending=False)[cols].copy()
        out["action_id"] = aid
        for n in ("action", "channel", "offer"):
            out[n] = grp[f"{n}{sfx}"]
        out.index.name = "customer_id"
        path = folder / f"{stem}.csv"
        out.to_csv(path, encoding=encoding)
        written[str(aid)] = path
    return written
