"""Apply a strategy playbook to scored customers: who gets which action, at what cost and return.

Definitions
-----------
Play chosen per customer
    ``warnings`` overrides — ``service_recovery`` (the customer is in the play's audience: an ABC tier and a
    satisfaction band of :mod:`analysis.grading.satisfaction`, when satisfaction measures are given), then
    ``churn_warning`` (customer flagged, e.g. by :func:`analysis.strategy.churn.churn_warnings`) >
    ``lifecycle`` override (the customer's lifecycle stage has a play) > the play of their segment.
Untargeted actions
    A playbook action that reaches nobody because the data to target it is missing (``service_recovery``
    without satisfaction measures: no feedback input) or because nobody is in its audience is listed in
    ``StrategyResult.untargeted`` with the reason, and the notes say so; it does not vanish silently.
Value at stake (currency)
    With a ``value`` (:func:`analysis.strategy.value.value_at_stake`, what the strategy stage passes): the
    customer's CLV from the purchase models, else the run-rate estimate, net of returns, with its basis
    (``value_basis``: ``clv``, ``run_rate`` or ``net_spend``) named wherever it is shown; ``monetary`` is
    then net spend (returns netted; order counts unchanged). Without one (a bare customer frame): ``clv``
    when present, else ``monetary`` in the scoring window (basis ``monetary``).
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

from analysis import text
from analysis.data.spreadsheet import write_spreadsheet_csv
from analysis.errors import InputError
from analysis.filenames import is_device_name
from analysis.strategy.playbook import SEGMENTS, Audience, Play, Playbook
from analysis.strategy.value import ValueAtStake
from analysis.text import format as fmt

#: The reader-facing texts of a play (bilingual in the playbook).
TEXT_FIELDS: tuple[str, ...] = ("objective", "action", "channel", "offer")


def play_texts(playbook: Playbook, language: str = "en") -> pd.DataFrame:
    """The playbook's texts in ``language``: index ``action_id``; columns objective, action, channel, offer."""
    text.check_language(language)
    rows = {p.id: {f: getattr(getattr(p, f), language) for f in TEXT_FIELDS} for p in playbook.plays()}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=list(TEXT_FIELDS))
    out.index.name = "action_id"
    return out


def rule_label(rule: str, language: str = "en") -> str:
    """Who a playbook entry reaches, for readers: ``segment:At Risk`` → "At Risk" / "有流失风险客户",
    ``lifecycle:reactivated`` → "reactivated customers" / "回流客户"."""
    if rule.startswith("segment:"):
        return text.name(rule.removeprefix("segment:"), language)
    return text.label(f"strategy.group.{rule}", language, default=rule)


@dataclass(frozen=True)
class StrategyResult:
    """Everything :func:`apply_playbook` computes.

    Attributes
    ----------
    assignments : DataFrame
        One row per customer (index ``customer_id``): segment, value class, monetary, clv (when
        present), ``value_at_stake``, the play chosen (``action_id``), ``rule`` (which playbook entry
        applied), ``budget`` and ``expected_return`` (currency).
    actions : DataFrame
        One row per action used (index ``action_id``); see :func:`summarise_actions`.
    by_segment : DataFrame
        One row per segment present (index ``segment``, value order).
    recommendations : DataFrame
        Actions in priority order with the figures of their recommendation (:func:`recommendations`);
        the sentences, in a language, come from :meth:`sentences`.
    has_clv : bool
        Whether the value at stake is a model's CLV (``value_basis == "clv"``).
    notes : list of str
        Catalog keys of the caveats that apply (``strategy.note_*``); :meth:`note_texts` gives them in a
        language.
    playbook : Playbook, optional
        The playbook applied (its texts name the actions).
    currency : str, default="$"
        Symbol or code of the amounts.
    missing_clv : int, default=0
        Customers without a CLV whose monetary value stood in.
    value_basis : str, default=""
        What the value at stake is: ``clv``, ``run_rate`` (the run-rate estimate), ``net_spend`` or
        ``monetary`` (see the module docstring); empty means ``clv`` when ``has_clv`` else ``monetary``.
    horizon : float, optional
        The horizon of a ``clv``/``run_rate`` value at stake, in ``time_unit`` units (``D``, ``W``, ``M``).
    time_unit : str, optional
    untargeted : dict of str to str
        Actions of the playbook that reach nobody, with the catalog key of why (``strategy.untargeted.*``:
        ``no_satisfaction``, no feedback input to tell who is unhappy; ``nobody``, nobody in the audience).
    """

    assignments: pd.DataFrame
    actions: pd.DataFrame
    by_segment: pd.DataFrame
    recommendations: pd.DataFrame
    has_clv: bool
    notes: list[str] = field(default_factory=list)
    playbook: Playbook | None = None
    currency: str = "$"
    missing_clv: int = 0
    value_basis: str = ""
    horizon: float | None = None
    time_unit: str | None = None
    untargeted: dict[str, str] = field(default_factory=dict)

    @property
    def basis(self) -> str:
        """What the value at stake is (``clv``, ``run_rate``, ``net_spend`` or ``monetary``)."""
        return self.value_basis or ("clv" if self.has_clv else "monetary")

    def sentences(self, language: str = "en") -> pd.Series:
        """One sentence per action in ``language``, in priority order (index ``action_id``)."""
        if self.playbook is None:
            raise InputError("this strategy result has no playbook; build it with apply_playbook")
        return recommendation_sentences(
            self.actions, self.playbook, language=language, currency=self.currency, basis=self.basis
        )

    def note_texts(self, language: str = "en") -> list[str]:
        """The caveats in ``language``."""
        horizon = ""
        if self.horizon is not None and self.time_unit:
            horizon = text.t(f"strategy.horizon.{self.time_unit}", language, n=f"{self.horizon:g}")
        notes = [text.t(key, language, n=self.missing_clv, horizon=horizon) for key in self.notes]
        return notes + self.untargeted_texts(language)

    def untargeted_texts(self, language: str = "en") -> list[str]:
        """One sentence per untargeted action in ``language`` (see :attr:`untargeted`)."""
        if not self.untargeted or self.playbook is None:
            return []
        names = play_texts(self.playbook, language)["action"]
        return [text.t(key, language, action=names.get(aid, aid)) for aid, key in self.untargeted.items()]


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


def in_audience(customers: pd.DataFrame, satisfaction: pd.DataFrame, audience: Audience) -> pd.Series:
    """Boolean Series (index as ``customers``): the customer's ABC tier is among ``audience.abc_class`` (column
    ``abc_class``, else computed from ``monetary``), their value class among ``audience.value_class`` (either name;
    any when None) and their satisfaction band over the scoring window (``satisfaction["satisfaction"]``, index
    ``customer_id`` as text; :func:`analysis.grading.satisfaction.customer_measures`) among
    ``audience.satisfaction``. Customers without a band (no feedback) are never in it."""
    if "abc_class" in customers.columns:
        tier = customers["abc_class"].astype(object)
    else:
        from analysis.customers.tiers import abc_classes

        tier = abc_classes(customers)["abc_class"].astype(object)
    hit = tier.isin(audience.abc_class).to_numpy(dtype=bool, copy=True)
    if audience.value_class is not None:
        names = set(audience.value_class)
        by_class = np.zeros(len(customers), dtype=bool)
        for col in ("value_class", "value_class_en"):
            if col in customers.columns:
                by_class |= customers[col].isin(names).to_numpy(dtype=bool)
        hit &= by_class
    band = satisfaction["satisfaction"].reindex(customers.index.astype(str))
    hit &= band.isin(audience.satisfaction).to_numpy(dtype=bool)
    return pd.Series(hit, index=customers.index)


def assign_actions(
    customers: pd.DataFrame,
    playbook: Playbook,
    *,
    stages: pd.Series | None = None,
    warnings: pd.Series | pd.DataFrame | Iterable[str] | None = None,
    value: ValueAtStake | None = None,
    satisfaction: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Choose one play per customer.

    Parameters
    ----------
    customers : DataFrame
        Customer frame (index ``customer_id``) with ``segment`` and ``monetary`` (currency);
        optional ``value_class``, ``value_class_en``, ``abc_class``, ``clv``, ``lifecycle_stage``, ``churn_warning``.
    playbook : Playbook
        From :func:`analysis.strategy.playbook.load_playbook`.
    stages : Series, optional
        Lifecycle stage per customer (index ``customer_id``); defaults to the ``lifecycle_stage``
        column when present. Stages with a ``lifecycle`` play override the segment play.
    warnings : Series of bool, DataFrame, or iterable of customer ids, optional
        Customers carrying the churn warning (e.g. the frame returned by
        :func:`analysis.strategy.churn.churn_warnings`); defaults to the ``churn_warning`` column.
    value : ValueAtStake, optional
        Value at stake and net spend per customer (:func:`analysis.strategy.value.value_at_stake`); see the
        module docstring.
    satisfaction : DataFrame, optional
        Per-customer satisfaction measures over the scoring window (index ``customer_id`` as text; column
        ``satisfaction``, the band, and ``complaints``; :func:`analysis.grading.satisfaction.customer_measures`):
        customers in the ``service_recovery`` play's audience get it (:func:`in_audience`). None: no feedback
        input, so nobody can get it. The band and complaints are kept as columns ``satisfaction`` and
        ``complaints``.

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
    for col in ("value_class", "value_class_en", "abc_class"):
        if col in customers.columns:
            out[col] = customers[col]
    out["monetary"] = customers["monetary"].astype(float)
    has_clv = _has_clv(customers)
    if has_clv:
        out["clv"] = customers["clv"].astype(float)
    if value is not None:
        out["monetary"] = value.monetary_net.reindex(customers.index).astype(float)  # net of returns
        out["value_at_stake"] = value.values.reindex(customers.index).astype(float)
    elif has_clv:
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
    recovery = playbook.warnings.get("service_recovery")
    if satisfaction is not None and "satisfaction" in satisfaction.columns:
        ids = customers.index.astype(str)
        out["satisfaction"] = satisfaction["satisfaction"].reindex(ids).fillna("no feedback").to_numpy()
        if "complaints" in satisfaction.columns:
            out["complaints"] = satisfaction["complaints"].reindex(ids).fillna(0).astype(int).to_numpy()
        if recovery is not None and recovery.audience is not None:
            hit = in_audience(customers, satisfaction, recovery.audience).to_numpy()
            rule = rule.where(~hit, "warning:service_recovery")
    out["rule"] = rule

    plays: dict[str, Play] = {f"segment:{k}": v for k, v in playbook.segments.items()}
    plays |= {f"lifecycle:{k}": v for k, v in playbook.lifecycle.items()}
    plays |= {f"warning:{k}": v for k, v in playbook.warnings.items()}
    rule = out["rule"]
    out["action_id"] = rule.map({k: p.id for k, p in plays.items()})
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
        Index ``action_id``; columns ``priority``, ``rules`` (the playbook entries that chose the
        action, comma-separated: ``segment:At Risk``, ``lifecycle:reactivated``; :func:`rule_label`
        names them), ``segments`` (comma-separated segments reached), ``customers``,
        ``revenue_at_stake`` (sum of monetary), ``clv_at_stake`` (sum of CLV; NaN without CLV),
        ``value_at_stake``, ``budget``, ``uplift_rate``, ``expected_return``, ``net_return``,
        ``roi`` (NaN when the budget is 0) and ``priority`` (1 = highest net return).
        All amounts in currency.
    """
    a = assignments
    g = a.groupby("action_id", sort=True)
    first = g[["uplift_rate"]].first()
    order = {s: i for i, s in enumerate(SEGMENTS)}
    segs = g["segment"].agg(lambda s: ", ".join(sorted(set(s), key=lambda x: order.get(x, 99))))

    def rule_key(rule: str) -> tuple[int, int, str]:
        kind = 0 if rule.startswith("segment:") else 1
        return kind, order.get(rule.removeprefix("segment:"), 99), rule

    rules = g["rule"].agg(lambda s: sorted(set(s), key=rule_key))
    t = first.assign(
        rules=rules.map(", ".join),
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
        "action_id", "priority", "rules", "segments", "customers", "revenue_at_stake",
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
        Index ``segment`` (value order, only segments present); columns ``customers``, ``revenue``
        (sum of monetary), ``clv`` (sum; NaN without CLV),
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
    t.index.name = "segment"
    return t


def recommendations(actions: pd.DataFrame) -> pd.DataFrame:
    """The figures behind each action's recommendation, in priority order.

    Parameters
    ----------
    actions : DataFrame
        Output of :func:`summarise_actions`.

    Returns
    -------
    DataFrame
        Columns ``priority``, ``action_id``, ``customers``, ``value_at_stake``, ``uplift_rate``,
        ``budget``, ``expected_return``, ``net_return`` (currency) and ``pays_back``
        (``net_return >= 0``). :func:`recommendation_sentences` words them.
    """
    t = actions.sort_values("priority").reset_index()
    out = t[["priority", "action_id", "customers", "value_at_stake", "uplift_rate", "budget", "expected_return",
             "net_return"]].copy()  # fmt: skip
    out["priority"] = out["priority"].astype(int)
    out["customers"] = out["customers"].astype(int)
    out["pays_back"] = out["net_return"] >= 0
    return out


def recommendation_sentences(
    actions: pd.DataFrame,
    playbook: Playbook,
    *,
    language: str = "en",
    currency: str = "$",
    has_clv: bool = False,
    basis: str | None = None,
) -> pd.Series:
    """One plain-language sentence per action in ``language``, in priority order.

    Parameters
    ----------
    actions : DataFrame
        Output of :func:`summarise_actions` (``StrategyResult.actions``).
    playbook : Playbook
        The playbook applied: its texts name the action, channel and offer.
    language : {"en", "zh"}, default="en"
    currency : str, default="$"
        Symbol or ISO code of the amounts (``-$593``, ``¥1,234``).
    has_clv : bool, default=False
        Whether the value at stake is CLV (changes the wording only).
    basis : str, optional
        What the value at stake is (``clv``, ``run_rate``, ``net_spend``, ``monetary``); overrides
        ``has_clv``.

    Returns
    -------
    Series of str
        Index ``action_id``. A sentence carries no priority number (``priority`` is a column of the
        actions), e.g. "Champions (2 customers): Invite to the VIP programme … via Email, offering Early
        access. Budget $40, expected return $45 (3% of $1,500 revenue at stake), so it pays back."
    """
    texts = play_texts(playbook, language)
    sep = text.t("strategy.list_separator", language)
    basis = text.t(f"strategy.basis.{basis or ('clv' if has_clv else 'monetary')}", language)
    out: dict[str, str] = {}
    for aid, r in actions.sort_values("priority").iterrows():
        rules = [x for x in str(r["rules"]).split(", ") if x]
        segments = [x for x in str(r["segments"]).split(", ") if x]
        group = sep.join(rule_label(x, language) for x in rules)
        n = int(r["customers"])
        who = text.t("strategy.who_one", language) if n == 1 else text.t("strategy.who", language, n=fmt.integer(n))
        if any(not x.startswith("segment:") for x in rules):  # an override: say where its customers come from
            who = text.t("strategy.from_segments", language, who=who,
                         segments=sep.join(text.name(x, language) for x in segments))  # fmt: skip
        play = texts.loc[aid]
        verdict = "strategy.pays_back" if r["net_return"] >= 0 else "strategy.does_not_pay_back"
        out[str(aid)] = text.t(
            "strategy.sentence",
            language,
            group=group[:1].upper() + group[1:],
            who=who,
            action=play["action"],
            channel=play["channel"],
            offer=play["offer"],
            budget=fmt.money(r["budget"], currency, language, decimals=None),
            expected_return=fmt.money(r["expected_return"], currency, language, decimals=None),
            uplift=fmt.percent(r["uplift_rate"], language, decimals=0),
            value_at_stake=fmt.money(r["value_at_stake"], currency, language, decimals=None),
            basis=basis,
            verdict=text.t(verdict, language),
        )
    return pd.Series(out, name="sentence", dtype=object).rename_axis("action_id")


def apply_playbook(
    customers: pd.DataFrame,
    playbook: Playbook,
    *,
    stages: pd.Series | None = None,
    warnings: pd.Series | pd.DataFrame | Iterable[str] | None = None,
    currency: str | None = None,
    value: ValueAtStake | None = None,
    satisfaction: pd.DataFrame | None = None,
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
        Symbol or ISO code of the amounts (params ``currency``); defaults to the playbook's ``currency``.
    value : ValueAtStake, optional
        Value at stake and net spend per customer; see :func:`assign_actions`.
    satisfaction : DataFrame, optional
        Satisfaction measures per customer (the ``service_recovery`` play's audience); see :func:`assign_actions`.
        Without them that play is untargeted (:attr:`StrategyResult.untargeted`).

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
    a = assign_actions(customers, playbook, stages=stages, warnings=warnings, value=value, satisfaction=satisfaction)
    basis = value.basis if value is not None else ("clv" if _has_clv(customers) else "monetary")
    has_clv = basis == "clv"
    n_missing = int(a["clv"].isna().sum()) if has_clv and value is None else 0
    notes = {"clv": [], "run_rate": ["strategy.note_run_rate"], "net_spend": ["strategy.note_net_spend"],
             "monetary": ["strategy.note_no_clv"]}[basis]  # fmt: skip
    if n_missing:
        notes.append("strategy.note_missing_clv")
    if value is not None:
        notes.append("strategy.note_returns")
    notes.append("strategy.note_uplift")

    actions = summarise_actions(a)
    return StrategyResult(
        assignments=a,
        actions=actions,
        by_segment=segment_summary(a),
        recommendations=recommendations(actions),
        has_clv=has_clv,
        notes=notes,
        playbook=playbook,
        currency=currency or playbook.currency,
        missing_clv=n_missing,
        value_basis=basis,
        horizon=value.horizon if value is not None else None,
        time_unit=value.time_unit if value is not None else None,
        untargeted=untargeted_actions(playbook, a, satisfaction),
    )


def untargeted_actions(
    playbook: Playbook, assignments: pd.DataFrame, satisfaction: pd.DataFrame | None
) -> dict[str, str]:
    """The audience plays (``service_recovery``) that reach nobody, with the catalog key of why: no satisfaction
    measures (``strategy.untargeted.no_satisfaction``) or nobody in the audience (``strategy.untargeted.nobody``)."""
    recovery = playbook.warnings.get("service_recovery")
    if recovery is None or (assignments["action_id"] == recovery.id).any():
        return {}
    if satisfaction is None or "satisfaction" not in satisfaction.columns:
        return {recovery.id: "strategy.untargeted.no_satisfaction"}
    return {recovery.id: "strategy.untargeted.nobody"}


def safe_filename(name: str) -> str:
    """A file-system-safe stem: lower-case ASCII letters, digits, ``_`` and ``-`` only.

    >>> safe_filename("Win back / At Risk!")
    'win_back_at_risk'
    """
    stem = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_-")[:64] or "action"
    return f"{stem}_" if is_device_name(stem) else stem


def write_action_csvs(
    plan: StrategyResult | pd.DataFrame,
    folder: str | Path,
    *,
    playbook: Playbook | None = None,
    language: str = "en",
    encoding: str = "utf-8-sig",
) -> dict[str, Path]:
    """Write one CSV of customers per action, for CRM import.

    Parameters
    ----------
    plan : StrategyResult or DataFrame
        The result of :func:`apply_playbook`, or its ``assignments`` (then pass ``playbook``).
    folder : str or Path
        Created if missing. Files are named ``<action_id>.csv`` (made safe by :func:`safe_filename`;
        clashes get ``_2``, ``_3``...). Existing files of the same name are overwritten.
    playbook : Playbook, optional
        The playbook applied, when ``plan`` is a frame of assignments.
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
    Columns: ``customer_id``, ``customer`` (the pseudonym reports show, when ``plan`` has that column),
    ``segment``, ``value_class`` (when present), ``monetary`` (currency),
    ``clv`` (currency, when present), ``satisfaction`` and ``complaints`` (the scoring window, with a feedback
    input), ``action_id``, ``action``, ``channel``, ``offer``. Rows are sorted
    by value at stake, highest first. Data values (segment, value class) keep their canonical names,
    so a CRM import does not depend on the report's language.
    """
    text.check_language(language)
    if isinstance(plan, StrategyResult):
        assignments, playbook = plan.assignments, playbook or plan.playbook
    else:
        assignments = plan
    if playbook is None:
        raise InputError("write_action_csvs: pass the playbook applied (playbook=...) or the StrategyResult")
    texts = play_texts(playbook, language)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cols = ["customer", "segment", "value_class", "monetary", "clv", "satisfaction", "complaints"]
    cols = [c for c in cols if c in assignments.columns]
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
            out[n] = texts.at[aid, n]
        out.index.name = "customer_id"
        path = folder / f"{stem}.csv"
        write_spreadsheet_csv(out, path, encoding=encoding)  # formula-safe: ids can be typed by anyone
        written[str(aid)] = path
    return written
