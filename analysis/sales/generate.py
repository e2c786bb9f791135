"""A CRM sample with known truth: opportunities, stage history, teams and targets, shaped like real exports.

The process (time in days):

* deals are created at a constant rate between ``start`` and ``end`` (uniform creation days), each owned by a rep
  (reps drawn with equal weight) and for a product (drawn from :data:`PRODUCTS`);
* a deal enters the first stage on its creation day; in each open stage ``s`` it stays ``D_s`` whole days,
  ``D_s = max(1, round(X))`` with ``X`` log-normal of median ``median_days[s]`` and log-sd ``sigma``, then advances
  to the next stage with probability ``conversion[s]`` or is lost; at the last open stage the probability is
  multiplied by the rep's effect (``rep_effects``, capped at 0.99), so reps differ in win rate;
* a won deal's value is its product's list price × Uniform(0.8, 1.2), rounded to whole currency units;
* the export is taken on ``end``: later changes are not in it (those deals are open), like a real export.

Truth (:attr:`CRMSample.truth`): per stage the conversion, the median and 90th-percentile days (of the whole-day
duration, ``round(median × exp(1.2816 σ))`` for the p90), per rep the probability that a deal ends won
(the product of the conversions with the rep's effect) and the monthly revenue target.

Shapes (``quirks=True``), as in the public B2B pipeline export: the current-stage file holds ``opportunity_id``,
``sales_agent``, ``product``, ``account``, ``deal_stage``, ``engage_date`` (the day the deal entered the second
stage: empty for deals that never got there), ``close_date`` and ``close_value`` (empty while open, 0 when lost);
about a third of open deals have no account; one product is spelled ``GTX Pro`` in part of the rows and ``GTXPro``
in the rest (two source systems); a few stage values differ in case (``won``); the teams file spells one office
``Centrl`` once (a typo) and lists a rep with no deal; one rep has no target rows. The stage history file
(``history=True``) has one row per stage entered (``opportunity_id``, ``stage``, ``entered_at`` with a time of day),
like Salesforce's OpportunityHistory.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

#: Product list prices (currency units), as in the public B2B sample.
PRODUCTS: dict[str, float] = {
    "GTX Basic": 550.0, "GTX Pro": 4821.0, "MG Special": 55.0, "MG Advanced": 3393.0, "GTX Plus Pro": 5482.0,
    "GTX Plus Basic": 1096.0, "GTK 500": 26768.0,
}  # fmt: skip
PRODUCT_WEIGHTS = (0.18, 0.15, 0.17, 0.16, 0.12, 0.18, 0.04)
#: The default truth of the process.
STAGES: tuple[str, ...] = ("Prospecting", "Engaging", "Won")
CONVERSION: dict[str, float] = {"Prospecting": 0.7, "Engaging": 0.6}
MEDIAN_DAYS: dict[str, float] = {"Prospecting": 12.0, "Engaging": 40.0}
SIGMA = 0.6
DEFAULT_REPS: tuple[str, ...] = (
    "Anna Snelling", "Cassey Cress", "Darcel Schlecht", "Elease Gluck", "Garret Kinder", "Hayden Neloms",
    "Jonathan Berthelot", "Kami Bicknell",
)  # fmt: skip


@dataclass(frozen=True)
class CRMSample:
    """Generated CRM files (raw, all text like a CSV export) and the truth they were drawn from."""

    opportunities: pd.DataFrame
    stage_history: pd.DataFrame
    sales_teams: pd.DataFrame
    targets: pd.DataFrame
    truth: dict[str, Any] = field(default_factory=dict)

    def frames(self) -> dict[str, pd.DataFrame]:
        """The four files by input name (the names of the params keys)."""
        return {
            "opportunities": self.opportunities,
            "stage_history": self.stage_history,
            "sales_teams": self.sales_teams,
            "targets": self.targets,
        }


def _duration(rng: np.random.Generator, median: float, sigma: float, size: int) -> np.ndarray:
    return np.maximum(1, np.round(median * np.exp(sigma * rng.standard_normal(size)))).astype(int)


def generate_crm(
    start: dt.date | str = "2023-01-01",
    end: dt.date | str = "2023-12-31",
    deals_per_month: float = 300.0,
    seed: int = 0,
    reps: tuple[str, ...] = DEFAULT_REPS,
    rep_effects: dict[str, float] | None = None,
    rep_regions: dict[str, str] | None = None,
    accounts: dict[str, list[str]] | None = None,
    conversion: dict[str, float] | None = None,
    median_days: dict[str, float] | None = None,
    sigma: float = SIGMA,
    quirks: bool = True,
) -> CRMSample:
    """Draw a CRM export (see the module docstring) with stages :data:`STAGES` and lost stage ``Lost``.

    Parameters
    ----------
    start, end : date or str
        First creation day and the export's day (inclusive).
    deals_per_month : float
        Deals created per 30.44 days, all reps together.
    rep_effects : dict, optional
        Multiplier of each rep's win probability at the last open stage (default: 0.7 to 1.3 spread over the reps).
    rep_regions, accounts : dict, optional
        Each rep's region (teams file ``regional_office``), and the accounts each rep's deals are drawn from
        (default: ``ACC-<rep number>-<n>``, 40 per rep).
    conversion, median_days, sigma
        The stage process (defaults :data:`CONVERSION`, :data:`MEDIAN_DAYS`, :data:`SIGMA`).
    """
    conversion = {**CONVERSION, **(conversion or {})}
    median_days = {**MEDIAN_DAYS, **(median_days or {})}
    open_stages = list(STAGES[:-1])
    rng = np.random.default_rng(seed)
    first, last = pd.Timestamp(start), pd.Timestamp(end)
    span = int((last - first).days) + 1
    n = int(rng.poisson(deals_per_month * span / 30.44))
    effects = rep_effects or dict(zip(reps, np.linspace(0.7, 1.3, len(reps)).round(3).tolist(), strict=True))
    regions = rep_regions or {r: ("Central", "East", "West")[i % 3] for i, r in enumerate(reps)}
    accounts = accounts or {r: [f"ACC-{i + 1:02d}-{j + 1:03d}" for j in range(40)] for i, r in enumerate(reps)}
    rep_idx = rng.integers(0, len(reps), size=n)
    created = np.sort(rng.integers(0, span, size=n))
    product_names = np.array(list(PRODUCTS))
    product = rng.choice(len(PRODUCTS), size=n, p=PRODUCT_WEIGHTS)
    rep_eff = np.array([effects[r] for r in reps])[rep_idx]

    t = created.astype(int).copy()  # day the deal entered its current stage
    alive = np.ones(n, dtype=bool)
    entries: list[tuple[np.ndarray, str, np.ndarray]] = [(np.arange(n), open_stages[0], t.copy())]
    outcome = np.full(n, "", dtype=object)
    close = np.full(n, -1)
    engage = np.full(n, -1)
    for i, stage in enumerate(open_stages):
        d = _duration(rng, median_days[stage], sigma, n)
        p = np.full(n, conversion[stage])
        if i == len(open_stages) - 1:
            p = np.minimum(p * rep_eff, 0.99)
        forward = rng.random(n) < p
        leave = t + d
        moving = alive & (leave < span)
        nxt = open_stages[i + 1] if i + 1 < len(open_stages) else STAGES[-1]
        adv, lose = moving & forward, moving & ~forward
        entries.append((np.flatnonzero(adv), nxt, leave[adv]))
        entries.append((np.flatnonzero(lose), "Lost", leave[lose]))
        if i == 0:
            engage[adv] = leave[adv]
        outcome[lose], close[lose] = "Lost", leave[lose]
        if nxt == STAGES[-1]:
            outcome[adv], close[adv] = STAGES[-1], leave[adv]
        outcome[alive & ~moving] = stage
        alive = adv if nxt != STAGES[-1] else np.zeros(n, dtype=bool)
        t = np.where(adv, leave, t)

    ids = np.array([f"{k:08X}" for k in rng.permutation(np.arange(0x1A2B0000, 0x1A2B0000 + n))], dtype=object)
    day = np.vectorize(lambda k: "" if k < 0 else (first + pd.Timedelta(days=int(k))).strftime("%Y-%m-%d"))
    won = outcome == STAGES[-1]
    price = np.array([PRODUCTS[p] for p in product_names[product]])
    value = np.where(won, np.round(price * rng.uniform(0.8, 1.2, n)), np.where(outcome == "Lost", 0.0, np.nan))
    rep_names = np.array(reps, dtype=object)[rep_idx]
    account = np.array([accounts[r][rng.integers(0, len(accounts[r]))] for r in rep_names], dtype=object)
    product_text = product_names[product].astype(object)
    stage_text = outcome.astype(object)
    is_open = ~np.isin(outcome, [STAGES[-1], "Lost"])
    if quirks:
        account[is_open & (rng.random(n) < 0.35)] = ""
        pro = product_text == "GTX Pro"
        product_text[pro & (rng.random(n) < 0.3)] = "GTXPro"
        stage_text[won & (rng.random(n) < 0.02)] = "won"
    opportunities = pd.DataFrame(
        {
            "opportunity_id": ids,
            "sales_agent": rep_names,
            "product": product_text,
            "account": account,
            "deal_stage": stage_text,
            "engage_date": day(engage) if n else [],
            "close_date": day(close) if n else [],
            "close_value": [("" if np.isnan(v) else f"{v:.0f}") for v in value],
        }
    )
    hist_parts = [
        pd.DataFrame({"opportunity_id": ids[who], "stage": stage, "day": when}) for who, stage, when in entries
    ]
    hist = pd.concat(hist_parts, ignore_index=True).sort_values(["opportunity_id", "day"], kind="stable")
    seconds = rng.integers(8 * 3600, 18 * 3600, size=len(hist))
    stamps = first + pd.to_timedelta(hist["day"].to_numpy(), unit="D") + pd.to_timedelta(seconds, unit="s")
    stage_history = pd.DataFrame(
        {
            "opportunity_id": hist["opportunity_id"].to_numpy(),
            "stage": hist["stage"].to_numpy(),
            "entered_at": pd.DatetimeIndex(stamps).strftime("%Y-%m-%d %H:%M:%S"),
        }
    )
    managers = {r: ("Dustin Brinkmann", "Melvin Marxen", "Summer Sewald")[i % 3] for i, r in enumerate(reps)}
    teams = pd.DataFrame(
        {
            "sales_agent": list(reps),
            "manager": [managers[r] for r in reps],
            "regional_office": [regions[r] for r in reps],
        }
    )
    if quirks:
        teams.loc[len(teams)] = ["Wilburn Farren", managers[reps[0]], regions[reps[0]]]  # a rep with no deal
        centrl = teams.index[teams["regional_office"] == "Central"]
        if len(centrl):
            teams.loc[centrl[-1], "regional_office"] = "Centrl"  # a typo in a category
    # targets: each rep's expected monthly won value × a stretch factor; the last rep has none (quirks)
    p_won = {
        r: float(
            np.prod([conversion[s] for s in open_stages[:-1]]) * min(conversion[open_stages[-1]] * effects[r], 0.99)
        )
        for r in reps
    }
    mean_value = float(np.dot(PRODUCT_WEIGHTS, list(PRODUCTS.values())))
    monthly = {r: round(deals_per_month / len(reps) * p_won[r] * mean_value * 1.1, -3) for r in reps}
    months = pd.period_range(first, last, freq="M")
    with_target = list(reps[:-1]) if quirks else list(reps)
    targets = pd.DataFrame(
        [
            {"sales_agent": r, "month": str(m), "revenue_target": f"{monthly[r]:.0f}"}
            for r in with_target
            for m in months
        ]
    )
    p90 = {s: float(round(median_days[s] * np.exp(1.2815515655446004 * sigma))) for s in open_stages}
    truth = {
        "stages": list(STAGES),
        "conversion": dict(conversion),
        "median_days": {s: float(round(median_days[s])) for s in open_stages},
        "p90_days": p90,
        "rep_effects": dict(effects),
        "rep_win_probability": p_won,
        "monthly_target": monthly,
        "deals": n,
    }
    return CRMSample(opportunities, stage_history, teams, targets, truth)


@functools.cache
def sample_crm(
    customers: int = 20_000,
    start: dt.date | str = "2023-01-01",
    end: dt.date | str = "2024-12-31",
    seed: int = 42,
    dirty: bool = True,
) -> dict[str, pd.DataFrame]:
    """The CRM side of the bundled sample (:func:`analysis.data.sample.generate_transactions` with the same
    arguments): the sample's reps (``N-rep1`` …), each dealing with the sample's customers of its region and rep, in
    canonical column names; ``dirty`` adds the quirks of real exports. Returns the four files by input name (computed
    once per process and arguments: callers copy before changing a frame)."""
    from analysis.data.sample import CHANNEL_WEIGHTS, CHANNELS, REGION_WEIGHTS, REGIONS

    rng = np.random.default_rng(seed + 1)  # the same draws as generate_transactions: each customer's region and rep
    region = rng.choice(len(REGIONS), size=customers, p=REGION_WEIGHTS)
    rng.choice(len(CHANNELS), size=customers, p=CHANNEL_WEIGHTS)
    rep = rng.integers(0, 3, size=customers)
    ids = np.array([f"C{100000 + i}" for i in range(customers)], dtype=object)
    reps = tuple(f"{g[0]}-rep{r + 1}" for g in REGIONS for r in range(3))
    accounts = {f"{g[0]}-rep{r + 1}": list(ids[(region == gi) & (rep == r)][:400]) or [f"C-{g}-{r}"]
                for gi, g in enumerate(REGIONS) for r in range(3)}  # fmt: skip
    sample = generate_crm(
        start=start,
        end=end,
        deals_per_month=max(20.0, customers / 80.0),
        seed=seed + 7,
        reps=reps,
        rep_regions={r: REGIONS[i // 3] for i, r in enumerate(reps)},
        accounts=accounts,
        quirks=dirty,
    )
    canonical = {
        "opportunities": {"sales_agent": "sales_rep", "account": "customer_id", "deal_stage": "stage",
                          "engage_date": "created_date", "close_value": "amount"},
        "stage_history": {},
        "sales_teams": {"sales_agent": "sales_rep", "regional_office": "region"},
        "targets": {"sales_agent": "sales_rep", "month": "period"},
    }  # fmt: skip
    return {name: frame.rename(columns=canonical[name]) for name, frame in sample.frames().items()}
