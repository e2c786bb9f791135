"""Closing the loop: a randomised control group in every action list, and what each action earned.

Three steps, each a plain function:

1. :func:`assign_groups` splits each action's customers at random into a *treatment* group (the CRM list: they
   get the action) and a *control* group (held out: they get nothing), stratified by segment.
2. :func:`measure_uplift` compares the two groups over a later measurement window: response rate, revenue per
   customer, their differences (the uplift) with 95 % confidence intervals, incremental revenue against the
   budget, and the power the sample had to detect the playbook's assumed uplift.
3. :func:`learn_uplift` decides, per action, whether the measurement is strong enough evidence to replace the
   playbook's assumption, and if so combines the two with :func:`shrink`.

Definitions
-----------
Seed
    The split of a run is drawn from ``run_seed(seed, period, region)``: the first 8 bytes of
    SHA-256 of ``"{seed}|{period}|{region}"`` as an unsigned integer. Each stratum (action × segment) then
    gets its own generator from ``(run seed, action, segment)``, so the split of one stratum does not
    depend on the others, nor on the order of the rows: customers are sorted by ``customer_id`` first.
Control size per stratum
    ``n × control_share`` rounded at random (the whole part, plus one more with probability equal to the
    fractional part), so tiny strata still hold out customers in the right proportion on average.
Proposed and sent
    A run publishes its groups as *proposed*. They are *sent* once ``rfmkit confirm-actions`` records it
    (:func:`confirm_sent`: the treatment customers the CRM contacted, or all of them without a file). Only sent
    actions are measured (:func:`sent_groups`), by **intention to treat**: every treatment customer of a sent
    action against its whole control group (held out either way), whether the CRM reached them or not — comparing
    only the contacted ones with the randomised control group would be biased when the CRM reaches only some
    (e.g. the opted-in). ``share_contacted`` = contacted / treatment customers; the effect on those reached
    (``uplift_reached``, ``revenue_uplift_reached``) = the intention-to-treat effect / ``share_contacted`` (the
    Bloom estimator: it assumes the action does nothing to those it does not reach). An action with no record that
    it was sent is not measured.
Response
    A customer responded when they have at least one purchase left in the measurement window
    ``[window_start, window_end]`` (days, inclusive) of the net log (a row with ``amount > 0``; an order cancelled
    in full is no purchase). Response rate = responders / customers of the group.
Revenue per customer (currency)
    The sum of the customer's **net** purchase amounts in the window, averaged over every customer of the group,
    non-buyers counting as 0. ``transactions`` is the run's net log (:attr:`analysis.stages.Cleaned.transactions`:
    each order lowered by the returns matched to it, docs/cancellations.md), so a treated customer who ordered and
    cancelled earned nothing; returns matched to no purchase are not attributed to an action (their purchases
    predate the data, so the action). Outliers are kept.
Uplift
    Treatment minus control: in response rate (absolute, a share 0–1) and in revenue per customer. The
    95 % interval of the rate difference is Newcombe's hybrid score interval (method 10 of Newcombe 1998,
    built from the two Wilson score intervals), which keeps its coverage for small groups and rates near
    0 where the Wald interval does not. The interval of the revenue difference is Welch's t interval.
The playbook's assumed uplift
    A play's ``uplift_rate`` is read as the absolute increase in the probability that a targeted customer
    buys again (responds) thanks to the action: the reading under which the playbook's expected return,
    ``uplift_rate × value at stake``, is the expected incremental value. It is what :func:`power_two_proportions`
    tests against and what :func:`shrink` shrinks towards.
Orders
    The orders (:func:`analysis.customers.rfm.order_keys`) of a group's customers in the window.
Reliable
    An action's uplift, revenue uplift, incremental revenue and ROI are *reliable* when each group holds at least
    ``min_group_orders`` customers and ``min_group_orders`` orders in the window (:func:`with_reliability`); one
    order in a group can otherwise make an ROI of thousands of percent. An unreliable result is shown with its
    reason instead of as a figure.
Incremental revenue, budget, ROI (currency)
    Incremental revenue = revenue uplift per customer × treated customers. Budget = ``budget_per_customer``
    × contacted customers (``contacted_customers``: the treatment customers recorded as sent, all of them when
    ``groups`` has no ``contacted`` column; the control group and the treatment customers never reached cost
    nothing). Measured ROI = (incremental revenue − budget) /
    budget, NaN when the budget is 0 — the same definition as the playbook's ROI.
Power
    The probability that a two-sided test at α = 0.05 on groups of this size finds the assumed uplift,
    given the control group's response rate (Fleiss' normal approximation without continuity correction,
    pooled variance under the null). ``detectable`` = power ≥ 0.8.
Enough evidence
    Both groups hold at least ``min_group_customers`` customers and the 95 % interval of the rate uplift is
    narrower (half-width) than ``max(assumed uplift, min_halfwidth)``: the measurement can tell the assumed
    effect from no effect. Only then is the measured uplift used, shrunk towards the assumption.

References: Newcombe, R. G. (1998), *Interval estimation for the difference between independent
proportions*, Statistics in Medicine 17, 873–890; Fleiss, Levin & Paik (2003), *Statistical Methods for
Rates and Proportions*, 3rd ed., §4.2.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import text
from analysis.customers.rfm import order_keys
from analysis.errors import InputError
from analysis.strategy.playbook import Play, Playbook
from analysis.window import as_day

#: Significance level of every interval and power figure (two-sided).
ALPHA = 0.05
#: The two groups of an assignment.
GROUPS: tuple[str, str] = ("treatment", "control")
#: Power at or above which the assumed uplift counts as detectable.
POWER_TARGET = 0.8

#: Columns of :func:`measure_uplift`'s result, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "action",
    "period_assigned",
    "window_start",
    "window_end",
    "treated_customers",
    "control_customers",
    "contacted_customers",
    "share_contacted",
    "treated_responders",
    "control_responders",
    "treated_orders",
    "control_orders",
    "treated_response_rate",
    "control_response_rate",
    "uplift",
    "uplift_ci_low",
    "uplift_ci_high",
    "uplift_reached",
    "treated_revenue_per_customer",
    "control_revenue_per_customer",
    "revenue_uplift",
    "revenue_uplift_ci_low",
    "revenue_uplift_ci_high",
    "revenue_uplift_reached",
    "incremental_revenue",
    "budget",
    "roi",
    "assumed_uplift",
    "power",
    "detectable",
)


def run_seed(seed: int, period: str, region: str) -> int:
    """The seed of one run's split: SHA-256 of ``"{seed}|{period}|{region}"``, first 8 bytes.

    >>> run_seed(0, "2024-11", "North") == run_seed(0, "2024-11", "North")
    True
    >>> run_seed(0, "2024-11", "North") != run_seed(0, "2024-12", "North")
    True
    """
    digest = hashlib.sha256(f"{seed}|{period}|{region}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _stratum_rng(seed: int, *keys: str) -> np.random.Generator:
    digest = hashlib.sha256("|".join([str(seed), *keys]).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def assign_groups(
    assignments: pd.DataFrame,
    control_share: float | Mapping[str, float] = 0.10,
    *,
    seed: int,
    period: str,
    region: str = "all",
    pseudonym: pd.Series | None = None,
) -> pd.DataFrame:
    """Split each action's customers at random into treatment and control, stratified by segment.

    Parameters
    ----------
    assignments : DataFrame
        One row per customer (index ``customer_id``) with ``action_id`` (or ``action``) and ``segment``, as
        :attr:`analysis.strategy.actions.StrategyResult.assignments`; optional ``budget`` (currency per
        customer) and ``uplift_rate`` (the play's assumed uplift) are carried into the result.
    control_share : float or mapping of action id to float, default=0.10
        Share of each stratum held out (0 ≤ share < 1); a mapping gives one share per action (actions
        missing from it use 0.10), e.g. ``{p.id: p.control_share for p in playbook.plays()}``.
    seed : int
        The run's base seed (params ``experiment.seed``); combined with ``period`` and ``region`` by
        :func:`run_seed`.
    period : str
        The period the actions are assigned in (``YYYY-MM``), recorded in ``period``.
    region : str, default="all"
        The run's region, part of the seed and recorded in ``region``.
    pseudonym : Series, optional
        A pseudonymous id per customer (index ``customer_id``), written as column ``pseudonym``.

    Returns
    -------
    DataFrame
        Index ``customer_id`` (sorted); columns ``action``, ``segment``, ``group`` (``treatment`` /
        ``control``), ``control_share``, ``period``, ``region``, ``seed`` (the run seed, as text), and when present
        ``budget_per_customer``, ``uplift_rate`` and ``pseudonym``. The same inputs give the same frame.

    Raises
    ------
    InputError
        If a required column is missing or a share is outside [0, 1).
    """
    action_col = "action_id" if "action_id" in assignments.columns else "action"
    missing = [c for c in (action_col, "segment") if c not in assignments.columns]
    if missing:
        raise InputError(
            f"assignments: missing column(s) {missing}; pass StrategyResult.assignments (action_id, segment)"
        )
    if assignments.index.has_duplicates:
        dup = assignments.index[assignments.index.duplicated()].unique()[:5].tolist()
        raise InputError(f"assignments: customer_id {dup} appear more than once; one action per customer")
    shares = _shares(control_share, assignments[action_col].astype(str).unique())
    a = assignments.sort_index(kind="stable")
    base = run_seed(seed, period, region)
    group = np.full(len(a), GROUPS[0], dtype=object)
    positions = pd.Series(np.arange(len(a)), index=a.index)
    for (action, segment), idx in a.groupby([action_col, "segment"], sort=True).groups.items():
        pos = positions.loc[idx].to_numpy()
        share = shares[str(action)]
        rng = _stratum_rng(base, str(action), str(segment))
        expected = len(pos) * share
        n_control = int(np.floor(expected)) + int(rng.random() < expected - np.floor(expected))
        control = rng.permutation(len(pos))[:n_control]
        group[pos[control]] = GROUPS[1]
    out = pd.DataFrame(
        {
            "action": a[action_col].astype(str).to_numpy(),
            "segment": a["segment"].astype(str).to_numpy(),
            "group": group,
            "control_share": a[action_col].astype(str).map(shares).to_numpy(dtype=float),
            "period": str(period),
            "region": str(region),
            "seed": str(base),
        },
        index=pd.Index(a.index.astype(str), name="customer_id"),
    )
    if "budget" in a.columns:
        out["budget_per_customer"] = a["budget"].astype(float).to_numpy()
    if "uplift_rate" in a.columns:
        out["uplift_rate"] = a["uplift_rate"].astype(float).to_numpy()
    if pseudonym is not None:
        out["pseudonym"] = pseudonym.reindex(a.index).astype("string").to_numpy()
    return out


def _shares(control_share: float | Mapping[str, float], actions: np.ndarray) -> dict[str, float]:
    if isinstance(control_share, Mapping):
        shares = {str(k): float(control_share.get(k, 0.10)) for k in actions}
    else:
        shares = {str(k): float(control_share) for k in actions}
    bad = {k: v for k, v in shares.items() if not 0 <= v < 1}
    if bad:
        raise InputError(f"control_share {bad} outside [0, 1); set each play's control_share to e.g. 0.10")
    return shares


def treatment_list(groups: pd.DataFrame, assignments: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``assignments`` whose customer is in the treatment group (what the CRM lists hold).

    Customers of ``assignments`` missing from ``groups`` are kept (treated): nobody is held out unknowingly.
    """
    control = groups.index[groups["group"].to_numpy() == GROUPS[1]]
    return assignments[~assignments.index.isin(control)]


# ---------------------------------------------------------------------------------------------- what was sent


@dataclass(frozen=True)
class Confirmation:
    """What ``rfmkit confirm-actions`` records: the treatment customers the CRM contacted.

    ``record``: one row per sent customer (index ``customer_id``, real ids) with ``action`` and, as in the
    assignments, ``period``, ``region`` and ``pseudonym`` when present. ``unmatched``: ids of the sent file that
    are no customer of the assignments; ``control``: ids of the sent file that are in a control group (they stay
    held out and are not counted as sent).
    """

    record: pd.DataFrame
    unmatched: int = 0
    control: int = 0


def confirm_sent(groups: pd.DataFrame, contacted: pd.Series | None = None) -> Confirmation:
    """The treatment customers of ``groups`` (a run's assignments) recorded as sent.

    ``contacted``: the ids the CRM actually contacted, real customer ids or the pseudonyms of the CRM lists
    (compared as text); ``None``: every treatment customer counts as sent. Control customers are never sent:
    an id of the file that is in a control group is counted in ``control`` and left out.
    """
    if "group" not in groups.columns or "action" not in groups.columns:
        raise InputError("assignments: missing column 'group' or 'action'; expected the output of assign_groups")
    ids = groups.index.astype(str)
    treated = groups["group"].to_numpy() == GROUPS[0]
    if contacted is None:
        sent = treated
        unmatched = control = 0
    else:
        wanted = set(contacted.dropna().astype(str).str.strip())
        hit = ids.isin(wanted)
        if "pseudonym" in groups.columns:
            hit = hit | groups["pseudonym"].astype(str).isin(wanted).to_numpy()
        sent = treated & hit
        control = int((hit & ~treated).sum())
        known = set(ids) | (set(groups["pseudonym"].astype(str)) if "pseudonym" in groups.columns else set())
        unmatched = len(wanted - known)
    keep = [c for c in ("action", "period", "region", "pseudonym") if c in groups.columns]
    record = groups.loc[sent, keep].copy()
    record.index = record.index.astype(str).rename("customer_id")
    return Confirmation(record.sort_index(kind="stable"), unmatched, control)


def merge_sent(earlier: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """The record of sent customers after a further confirmation: ``earlier`` plus the customers ``new`` adds
    (a CRM may send one campaign after another; a confirmation never un-sends anyone)."""
    if earlier is None or earlier.empty:
        return new
    added = new.loc[~new.index.isin(earlier.index.astype(str))]
    return pd.concat([earlier, added]).sort_index(kind="stable")


def sent_groups(groups: pd.DataFrame, sent: pd.DataFrame | None) -> tuple[pd.DataFrame, list[str]]:
    """The assignments that can be measured, and the actions that cannot (no record that they were sent).

    An action is measured when at least one of its treatment customers is in ``sent`` (the record of
    :func:`confirm_sent`): by intention to treat, its whole treatment group against its whole control group (held
    out either way), with ``contacted`` (bool) True for the treatment customers in ``sent``
    (:func:`measure_uplift` reports the share contacted from it). ``sent`` None (nothing confirmed): nothing is
    measured.
    """
    actions = sorted(groups["action"].astype(str).unique())
    if sent is None or sent.empty:
        return groups.iloc[:0].assign(contacted=False), actions
    is_sent = groups.index.astype(str).isin(sent.index.astype(str))
    treated = groups["group"].to_numpy() == GROUPS[0]
    sent_actions = set(groups.loc[treated & is_sent, "action"].astype(str))
    of_sent_action = groups["action"].astype(str).isin(sent_actions).to_numpy()
    measured = groups.loc[of_sent_action].assign(contacted=(treated & is_sent)[of_sent_action])
    return measured, [a for a in actions if a not in sent_actions]


# ---------------------------------------------------------------------------------------------- intervals


def wilson_interval(x: float, n: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Wilson score interval of a proportion ``x / n`` (NaN, NaN when ``n`` is 0)."""
    if n <= 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(1 - alpha / 2)
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def newcombe_interval(x1: float, n1: float, x0: float, n0: float, alpha: float = ALPHA) -> tuple[float, float]:
    """Newcombe's hybrid score interval for ``x1/n1 − x0/n0`` (method 10, no continuity correction)."""
    if n1 <= 0 or n0 <= 0:
        return float("nan"), float("nan")
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, alpha)
    l0, u0 = wilson_interval(x0, n0, alpha)
    d = p1 - p0
    low = d - np.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return float(low), float(high)


def welch_interval(a: np.ndarray, b: np.ndarray, alpha: float = ALPHA) -> tuple[float, float]:
    """Welch's t interval for ``mean(a) − mean(b)`` (NaN when a group has fewer than 2 values)."""
    n1, n0 = len(a), len(b)
    if n1 < 2 or n0 < 2:
        return float("nan"), float("nan")
    v1, v0 = np.var(a, ddof=1) / n1, np.var(b, ddof=1) / n0
    d = float(np.mean(a) - np.mean(b))
    se2 = v1 + v0
    if se2 == 0:
        return d, d
    df = se2**2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    half = stats.t.ppf(1 - alpha / 2, df) * np.sqrt(se2)
    return d - float(half), d + float(half)


def power_two_proportions(p0: float, uplift: float, n1: float, n0: float, alpha: float = ALPHA) -> float:
    """Power of a two-sided two-proportion z-test to detect ``p1 = p0 + uplift`` with groups ``n1``, ``n0``.

    Fleiss' formula without continuity correction: with p̄ the size-weighted mean of p1 and p0,
    power = Φ((|Δ| − z₁₋α/₂·√(p̄(1−p̄)(1/n1 + 1/n0))) / √(p1(1−p1)/n1 + p0(1−p0)/n0)).
    ``p1`` is clipped to [0, 1]. NaN when a group is empty or ``p0`` is unknown.

    >>> round(power_two_proportions(0.10, 0.05, 686, 686), 3)  # the textbook 686 per group for 80 %
    0.8
    """
    if n1 <= 0 or n0 <= 0 or not np.isfinite(p0):
        return float("nan")
    p1 = float(np.clip(p0 + uplift, 0.0, 1.0))
    delta = abs(p1 - p0)
    pbar = (n1 * p1 + n0 * p0) / (n1 + n0)
    z = stats.norm.ppf(1 - alpha / 2)
    null_sd = np.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    alt_sd = np.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    if alt_sd == 0:
        return 1.0 if delta > 0 else alpha
    return float(stats.norm.cdf((delta - z * null_sd) / alt_sd))


# ---------------------------------------------------------------------------------------------- measurement


def _per_action_value(value: float | Mapping[str, float] | None, groups: pd.DataFrame, column: str) -> pd.Series:
    """One value per action: from the mapping/scalar given, else the first value recorded in ``column``."""
    actions = pd.Index(sorted(groups["action"].unique()), name="action")
    if isinstance(value, Mapping):
        return pd.Series([float(value.get(a, np.nan)) for a in actions], index=actions)
    if value is not None:
        return pd.Series(float(value), index=actions)
    if column in groups.columns:
        return groups.groupby("action")[column].first().astype(float).reindex(actions)
    return pd.Series(np.nan, index=actions)


def measure_uplift(
    groups: pd.DataFrame,
    transactions: pd.DataFrame,
    window_start: pd.Timestamp | str,
    window_end: pd.Timestamp | str,
    *,
    budget_per_customer: float | Mapping[str, float] | None = None,
    assumed_uplift: float | Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """What each action earned: treatment against control over a measurement window.

    Parameters
    ----------
    groups : DataFrame
        From :func:`assign_groups` (index ``customer_id``; ``action``, ``group``, ``period``).
    transactions : DataFrame
        Clean transactions (``customer_id``, ``order_date``, ``amount`` in currency), e.g. the run's scope.
    window_start, window_end : Timestamp or str
        First and last day of the measurement window (inclusive).
    budget_per_customer : float or mapping of action id to float, optional
        Spend per treated customer (currency); defaults to the ``budget_per_customer`` recorded in ``groups``.
    assumed_uplift : float or mapping of action id to float, optional
        The playbook's assumed uplift in response rate; defaults to the recorded ``uplift_rate``.

    Returns
    -------
    DataFrame
        One row per action (sorted by action id) with the columns of :data:`RESULT_COLUMNS`; see the module
        docstring for each definition. Rates are shares (0–1), amounts in the transactions' currency.

    Raises
    ------
    InputError
        If a required column is missing or the window ends before it starts.
    """
    need = [c for c in ("action", "group") if c not in groups.columns]
    if need:
        raise InputError(f"assignments: missing column(s) {need}; expected the output of assign_groups")
    need = [c for c in ("customer_id", "order_date", "amount") if c not in transactions.columns]
    if need:
        raise InputError(f"transactions: missing column(s) {need}; pass clean transactions")
    start = as_day(window_start)
    end = as_day(window_end)
    if end < start:
        raise InputError(f"measurement window ends ({end.date()}) before it starts ({start.date()})")
    day = pd.to_datetime(transactions["order_date"]).dt.normalize()
    inside = transactions[(day >= start) & (day <= end) & (transactions["amount"] > 0)]
    revenue = inside.groupby(inside["customer_id"].astype(str))["amount"].sum()
    orders = order_keys(inside).groupby(inside["customer_id"].astype(str)).nunique()
    g = groups.copy()
    g["revenue"] = revenue.reindex(g.index.astype(str)).fillna(0.0).to_numpy()
    g["orders"] = orders.reindex(g.index.astype(str)).fillna(0).astype(int).to_numpy()
    g["responded"] = g["revenue"] > 0
    budget = _per_action_value(budget_per_customer, g, "budget_per_customer")
    assumed = _per_action_value(assumed_uplift, g, "uplift_rate")
    period = g.groupby("action")["period"].first() if "period" in g.columns else pd.Series(dtype=object)
    rows = []
    for action, grp in g.groupby("action", sort=True):
        t = grp[grp["group"] == GROUPS[0]]
        c = grp[grp["group"] == GROUPS[1]]
        n1, n0 = len(t), len(c)
        x1, x0 = int(t["responded"].sum()), int(c["responded"].sum())
        p1 = x1 / n1 if n1 else np.nan
        p0 = x0 / n0 if n0 else np.nan
        low, high = newcombe_interval(x1, n1, x0, n0)
        r1 = float(t["revenue"].mean()) if n1 else np.nan
        r0 = float(c["revenue"].mean()) if n0 else np.nan
        rlow, rhigh = welch_interval(t["revenue"].to_numpy(), c["revenue"].to_numpy())
        incremental = (r1 - r0) * n1
        reached = int(t["contacted"].astype(bool).sum()) if "contacted" in t.columns else n1
        share = reached / n1 if n1 else np.nan
        spend = float(budget.get(action, np.nan)) * reached
        rows.append(
            {
                "action": action,
                "period_assigned": period.get(action, None),
                "window_start": start.date().isoformat(),
                "window_end": end.date().isoformat(),
                "treated_customers": n1,
                "control_customers": n0,
                "contacted_customers": reached,
                "share_contacted": share,
                "treated_responders": x1,
                "control_responders": x0,
                "treated_orders": int(t["orders"].sum()),
                "control_orders": int(c["orders"].sum()),
                "treated_response_rate": p1,
                "control_response_rate": p0,
                "uplift": p1 - p0,
                "uplift_ci_low": low,
                "uplift_ci_high": high,
                "uplift_reached": (p1 - p0) / share if share > 0 else np.nan,
                "treated_revenue_per_customer": r1,
                "control_revenue_per_customer": r0,
                "revenue_uplift": r1 - r0,
                "revenue_uplift_ci_low": rlow,
                "revenue_uplift_ci_high": rhigh,
                "revenue_uplift_reached": (r1 - r0) / share if share > 0 else np.nan,
                "incremental_revenue": incremental,
                "budget": spend,
                "roi": (incremental - spend) / spend if spend > 0 else np.nan,
                "assumed_uplift": float(assumed.get(action, np.nan)),
                "power": power_two_proportions(p0, float(assumed.get(action, np.nan)), n1, n0),
            }
        )
    out = pd.DataFrame(rows, columns=[c for c in RESULT_COLUMNS if c != "detectable"])
    out["detectable"] = out["power"] >= POWER_TARGET
    return out[list(RESULT_COLUMNS)]


#: The columns :func:`with_reliability` adds.
RELIABILITY_COLUMNS: tuple[str, ...] = ("reliable", "reliability")


def with_reliability(results: pd.DataFrame, min_group_orders: int = 5, language: str = "en") -> pd.DataFrame:
    """``results`` (:func:`measure_uplift`) with whether each action's figures can be read as figures.

    ``reliable``: each group holds at least ``min_group_orders`` customers and ``min_group_orders`` orders in the
    window (params ``experiment.min_group_orders``). ``reliability``: why not, in ``language`` ("not reliable:
    1 order in the treatment group": the smaller count first, the treatment group first), ``""`` when reliable.
    """
    reasons = []
    for _, row in results.iterrows():
        reason = ""
        for group, prefix in (("treatment", "treated"), ("control", "control")):
            for what in ("orders", "customers"):
                n = int(row[f"{prefix}_{what}"])
                if not reason and n < min_group_orders:
                    reason = text.t(
                        f"experiment.unreliable_{what}",
                        language,
                        n=n,
                        group=text.t(f"experiment.group.{group}", language),
                    )
        reasons.append(reason)
    out = results.copy()
    out["reliable"] = [not r for r in reasons]
    out["reliability"] = reasons
    return out


# ---------------------------------------------------------------------------------------------- learning


@dataclass(frozen=True)
class Shrunk:
    """A normal-normal posterior: ``mean``, ``sd`` and the ``weight`` the measurement got (0–1)."""

    mean: float
    sd: float
    weight: float


def shrink(measured: float, assumed: float, precision: float, prior_precision: float) -> Shrunk:
    """Combine a measured effect with a prior assumption, each weighted by its precision (1 / variance).

    With the prior N(``assumed``, 1/``prior_precision``) and the measurement N(``measured``, 1/``precision``),
    the posterior is normal with mean ``w·measured + (1 − w)·assumed``, ``w = precision / (precision +
    prior_precision)``, and variance ``1 / (precision + prior_precision)``.

    >>> s = shrink(0.10, 0.02, precision=400.0, prior_precision=100.0)
    >>> round(s.mean, 3), round(s.weight, 2), round(s.sd, 4)
    (0.084, 0.8, 0.0447)
    """
    if precision < 0 or prior_precision <= 0:
        raise InputError("shrink: precision must be >= 0 and prior_precision > 0")
    total = precision + prior_precision
    w = precision / total
    return Shrunk(mean=w * measured + (1 - w) * assumed, sd=float(np.sqrt(1 / total)), weight=w)


def uplift_precision(results: pd.DataFrame) -> pd.Series:
    """Precision (1 / variance) of each measured rate uplift.

    The variance is the Wald variance with Agresti–Caffo's adjustment (one success and one failure added to
    each group), so that a group with no responders never gets an infinite precision.
    """
    p1 = (results["treated_responders"] + 1) / (results["treated_customers"] + 2)
    p0 = (results["control_responders"] + 1) / (results["control_customers"] + 2)
    var = p1 * (1 - p1) / (results["treated_customers"] + 2) + p0 * (1 - p0) / (results["control_customers"] + 2)
    return 1 / var


def learn_uplift(
    results: pd.DataFrame,
    *,
    prior_sd: float = 0.05,
    min_group_customers: int = 30,
    min_halfwidth: float = 0.02,
) -> pd.DataFrame:
    """Decide per action which uplift the recommendations use: the assumption or the shrunk measurement.

    Parameters
    ----------
    results : DataFrame
        From :func:`measure_uplift`.
    prior_sd : float, default=0.05
        How far (standard deviation, in response-rate units) the playbook's assumption may be from the truth:
        the prior's strength is ``1 / prior_sd²``. Smaller trusts the playbook more.
    min_group_customers : int, default=30
        Customers each group needs before a measurement counts.
    min_halfwidth : float, default=0.02
        The interval half-width a measurement must reach when the assumed uplift is smaller than this.

    Returns
    -------
    DataFrame
        Index ``action``; columns ``assumed_uplift``, ``measured_uplift``, ``ci_halfwidth``,
        ``enough_evidence`` (see the module docstring), ``shrunk_uplift`` (NaN without enough evidence),
        ``weight_measured`` (0–1), ``uplift_used`` and ``uplift_basis`` (``measured`` or ``assumed``) and
        ``reason`` (a catalog key under ``experiment.reason``: ``enough``, ``few_customers``, ``wide_interval``).
    """
    r = results.set_index("action")
    half = (r["uplift_ci_high"] - r["uplift_ci_low"]) / 2
    assumed = r["assumed_uplift"].fillna(0.0)
    few = (r["treated_customers"] < min_group_customers) | (r["control_customers"] < min_group_customers)
    wide = ~(half < np.maximum(assumed, min_halfwidth))
    enough = ~few & ~wide
    precision = uplift_precision(r)
    post = [
        shrink(float(m), float(a), float(p), 1 / prior_sd**2) if ok else None
        for m, a, p, ok in zip(r["uplift"], assumed, precision, enough, strict=True)
    ]
    out = pd.DataFrame(
        {
            "assumed_uplift": assumed,
            "measured_uplift": r["uplift"],
            "ci_halfwidth": half,
            "enough_evidence": enough,
            "shrunk_uplift": [s.mean if s else np.nan for s in post],
            "weight_measured": [s.weight if s else 0.0 for s in post],
        },
        index=r.index,
    )
    # a learned uplift may be negative: an action that hurts shows a negative expected return
    out["uplift_used"] = np.where(enough, out["shrunk_uplift"].clip(-1.0, 1.0), assumed)
    out["uplift_basis"] = np.where(enough, "measured", "assumed")
    out["reason"] = np.select([enough, few], ["enough", "few_customers"], "wide_interval")
    return out


def measurement_window(period_assigned: str, months: int = 1) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The default measurement window of actions assigned in ``period_assigned``: the ``months`` months after it.

    Actions are assigned on the period's last day and carried out during the next period, so by default
    their effect is measured over that next period (first and last day, inclusive).

    >>> [d.date().isoformat() for d in measurement_window("2024-11")]
    ['2024-12-01', '2024-12-31']
    """
    if months < 1:
        raise InputError(f"measurement window: months must be at least 1, got {months}")
    p = pd.Period(period_assigned, freq="M")
    return (p + 1).start_time.normalize(), (p + months).end_time.normalize()


# ---------------------------------------------------------------------------------------------- the run


def control_shares(playbook: Playbook) -> dict[str, float]:
    """Each action's ``control_share`` from the playbook."""
    return {p.id: p.control_share for p in playbook.plays()}


def learned_playbook(playbook: Playbook, learned: pd.DataFrame) -> Playbook:
    """``playbook`` with each play's ``uplift_rate`` replaced by the learned one where the evidence was enough.

    ``learned`` is :func:`learn_uplift`'s result; actions it lacks, or whose ``uplift_basis`` is ``assumed``,
    keep the playbook's value. The learned value may be negative (an action that did harm).
    """
    used = learned.loc[learned["uplift_basis"] == "measured", "uplift_used"].astype(float).to_dict()

    def update(plays: dict[str, Play]) -> dict[str, Play]:
        return {k: p.model_copy(update={"uplift_rate": used[p.id]}) if p.id in used else p for k, p in plays.items()}

    return playbook.model_copy(
        update={
            "segments": update(playbook.segments),
            "lifecycle": update(playbook.lifecycle),
            "warnings": update(playbook.warnings),
        }
    )


def keep_published(published: pd.DataFrame, fresh: pd.DataFrame) -> pd.DataFrame:
    """The published assignments unchanged, plus the freshly drawn rows of customers they do not hold."""
    new = fresh.loc[~fresh.index.isin(published.index)]
    if new.empty:
        return published.sort_index(kind="stable")
    return pd.concat([published, new[[c for c in published.columns if c in new.columns]]]).sort_index(kind="stable")


def results_table(results: pd.DataFrame, learned: pd.DataFrame) -> pd.DataFrame:
    """``action_results.csv``: the measurement per action, with which uplift the recommendations use and why."""
    cols = ["enough_evidence", "shrunk_uplift", "weight_measured", "uplift_used", "uplift_basis", "reason"]
    return results.merge(learned[cols], left_on="action", right_index=True, how="left")
