"""A deterministic, realistic synthetic transaction log: the kit's embedded default data.

Purchase behaviour follows a buy-till-you-die process, so the CLV models have a known truth:

* customers are acquired uniformly over the period (their first purchase day);
* while alive, a customer buys at rate λ per week, λ ~ Gamma(shape ``r``, rate ``alpha``);
* right after each repeat purchase the customer drops out for good with probability p,
  p ~ Beta(``a``, ``b``) (the BG/NBD process of Fader, Hardie & Lee 2005, whose likelihood lets
  customers drop out only after a repeat purchase);
* each purchase occasion's spend is Gamma(shape ``p``, rate ν) with ν ~ Gamma(shape ``q``, rate
  ``gamma``) per customer (the Gamma-Gamma model of Fader & Hardie 2013), in the log's currency.

An occasion is one order (``SO…`` id) of one to three lines over product lines. Customers have a
home region, a preferred channel and a sales rep of their region. About 2 % of orders are partly
returned (a ``C…`` order with a negative amount). With ``dirty=True`` a small share of rows is
broken on purpose (missing customer ids, unparseable dates, non-numeric and zero amounts, exact
duplicates) so that cleaning has something to quarantine. The same arguments give the same rows.

A known treatment effect (for testing :mod:`analysis.strategy.experiment`): given the customers of an
action's treatment group and a window, each of them makes one *extra* purchase occasion on a uniformly drawn
day of the window with probability ``treatment_effect``, independently of their own purchases, with a spend
drawn from their own Gamma-Gamma spend process. Since a customer who buys anyway still counts once, the
true uplift in the share of treated customers buying in the window is ``treatment_effect × (1 − p)``, with p
the share that buys without it. The extra rows come from their own random stream and are added after the
dirty rows, so every other row is the same as without the effect, and ``treatment_effect=0`` gives exactly
the log without it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.errors import ParamsError
from analysis.window import as_day

#: The true process parameters (time unit: weeks; spend in currency units).
TRUTH: dict[str, float] = {"r": 0.6, "alpha": 6.0, "a": 0.8, "b": 4.0, "p": 6.0, "q": 3.5, "gamma": 30.0}

REGIONS = ("North", "South", "East", "West")
REGION_WEIGHTS = (0.35, 0.25, 0.25, 0.15)
CHANNELS = ("Online", "Store", "Phone")
CHANNEL_WEIGHTS = (0.55, 0.35, 0.10)
PRODUCT_LINES = ("Electronics", "Home", "Apparel", "Beauty", "Grocery")
PRODUCT_WEIGHTS = (0.15, 0.2, 0.25, 0.15, 0.25)
MARGIN = {"Electronics": 0.18, "Home": 0.35, "Apparel": 0.45, "Beauty": 0.55, "Grocery": 0.22}


def simulate_customers(
    customers: int, start: dt.date, end: dt.date, seed: int, truth: dict[str, float] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate purchase occasions of ``customers`` customers between ``start`` and ``end``.

    Returns
    -------
    occasions : DataFrame
        One row per purchase occasion: ``customer_idx``, ``day`` (days since ``start``), ``spend``.
    people : DataFrame
        One row per customer: ``lam`` (purchases per week while alive), ``p_drop``, ``nu``,
        ``first_day`` and whether they are still alive at ``end`` (``alive``).
    """
    truth = {**TRUTH, **(truth or {})}
    rng = np.random.default_rng(seed)
    horizon = (end - start).days + 1
    n = customers
    first_day = np.sort(rng.integers(0, max(horizon - 7, 1), size=n))
    lam = rng.gamma(truth["r"], 1 / truth["alpha"], size=n) / 7.0  # per day
    p_drop = rng.beta(truth["a"], truth["b"], size=n)
    nu = rng.gamma(truth["q"], 1 / truth["gamma"], size=n)
    # repeat purchases before dropping out (BG/NBD: drop-out only right after a repeat purchase):
    # K ~ Geometric(p) on 1, 2, …, capped for safety; time may run out before all K happen
    k = np.minimum(rng.geometric(p_drop), 400)
    idx = np.repeat(np.arange(n), k)
    gaps = rng.exponential(1.0, size=idx.size) / np.maximum(lam[idx], 1e-12)
    cum = np.cumsum(gaps)
    offsets = np.concatenate([[0], np.cumsum(k)[:-1]])
    starts = np.repeat(np.concatenate([[0.0], cum])[offsets], k)  # gaps summed before each customer's block
    times = first_day[idx] + (cum - starts)
    in_window = times < horizon
    rep_idx, rep_day = idx[in_window], np.floor(times[in_window]).astype(int)
    cust = np.concatenate([np.arange(n), rep_idx])
    day = np.concatenate([first_day, rep_day])
    spend = rng.gamma(truth["p"], 1 / nu[cust])
    occasions = pd.DataFrame({"customer_idx": cust, "day": day, "spend": np.round(spend, 2)})
    occasions = occasions.sort_values(["day", "customer_idx"], kind="stable").reset_index(drop=True)
    alive = np.ones(n, dtype=bool)
    n_done = np.bincount(rep_idx, minlength=n)
    alive &= n_done >= k  # all possible purchases happened within the window → drop-out is not yet known
    people = pd.DataFrame({"lam_per_week": lam * 7, "p_drop": p_drop, "nu": nu, "first_day": first_day})
    return occasions, people


def generate_transactions(
    customers: int = 20_000,
    start: dt.date | str = dt.date(2023, 1, 1),
    end: dt.date | str = dt.date(2024, 12, 31),
    seed: int = 42,
    dirty: bool = True,
    treated: Iterable[str] | pd.DataFrame | None = None,
    treatment_effect: float = 0.0,
    treatment_window: tuple[dt.date | str, dt.date | str] | None = None,
) -> pd.DataFrame:
    """A raw transaction log in canonical column names, as a shop's export would look.

    Columns: ``order_id``, ``customer_id``, ``order_date`` (``YYYY-MM-DD``), ``region``, ``channel``,
    ``product_line``, ``sales_rep``, ``quantity``, ``unit_price``, ``amount`` (currency), ``cost``
    (currency). Dirty rows (``dirty=True``) are text that cleaning must reject, so every column is
    returned as text, like a CSV export.

    ``treated`` (customer ids, or an assignments frame whose ``group == "treatment"`` rows are taken),
    ``treatment_effect`` (extra purchase probability, 0–1) and ``treatment_window`` (first and last day,
    inclusive) inject a known effect of an action; see the module docstring.
    """
    start = pd.Timestamp(start).date()
    end = pd.Timestamp(end).date()
    if not 0.0 <= treatment_effect <= 1.0:
        raise ParamsError(f"treatment_effect must be a probability in [0, 1], got {treatment_effect}")
    if treatment_effect > 0 and (treated is None or treatment_window is None):
        raise ParamsError(
            "treatment_effect needs both 'treated' (customer ids) and 'treatment_window' (first, last day)"
        )
    rng = np.random.default_rng(seed + 1)
    occ, people = simulate_customers(customers, start, end, seed)
    n = customers
    region = rng.choice(len(REGIONS), size=n, p=REGION_WEIGHTS)
    channel = rng.choice(len(CHANNELS), size=n, p=CHANNEL_WEIGHTS)
    rep = rng.integers(0, 3, size=n)
    cust_ids = np.array([f"C{100000 + i}" for i in range(n)], dtype=object)

    # split each occasion into 1–3 order lines over product lines
    n_occ = len(occ)
    lines = rng.choice([1, 2, 3], size=n_occ, p=[0.6, 0.3, 0.1])
    occ_idx = np.repeat(np.arange(n_occ), lines)
    weights = rng.dirichlet(np.ones(3), size=n_occ)
    line_no = np.arange(occ_idx.size) - np.repeat(np.cumsum(lines) - lines, lines)
    share = weights[occ_idx, line_no]
    share = share / np.bincount(occ_idx, weights=share)[occ_idx]
    amount = np.round(occ["spend"].to_numpy()[occ_idx] * share, 2)
    amount = np.maximum(amount, 0.5)
    product = rng.choice(len(PRODUCT_LINES), size=occ_idx.size, p=PRODUCT_WEIGHTS)
    quantity = rng.choice([1, 1, 1, 2, 2, 3, 4], size=occ_idx.size)
    unit_price = np.round(amount / quantity, 2)
    amount = np.round(unit_price * quantity, 2)
    margin = np.array([MARGIN[p] for p in PRODUCT_LINES])[product]
    cost = np.round(amount * (1 - margin * rng.uniform(0.8, 1.2, size=amount.size)), 2)
    cidx = occ["customer_idx"].to_numpy()[occ_idx]
    day = occ["day"].to_numpy()[occ_idx]
    dates = (pd.Timestamp(start) + pd.to_timedelta(day, unit="D")).strftime("%Y-%m-%d")
    order_ids = np.array([f"SO{i + 1:07d}" for i in range(n_occ)], dtype=object)[occ_idx]
    # channel: mostly the customer's own, sometimes another
    ch = np.where(rng.random(occ_idx.size) < 0.85, channel[cidx], rng.integers(0, len(CHANNELS), occ_idx.size))
    reg = region[cidx]
    log = pd.DataFrame(
        {
            "order_id": order_ids,
            "customer_id": cust_ids[cidx],
            "order_date": np.asarray(dates, dtype=object),
            "region": np.array(REGIONS, dtype=object)[reg],
            "channel": np.array(CHANNELS, dtype=object)[ch],
            "product_line": np.array(PRODUCT_LINES, dtype=object)[product],
            "sales_rep": np.array(
                [f"{REGIONS[g][0]}-rep{r + 1}" for g, r in zip(reg, rep[cidx], strict=True)], dtype=object
            ),
            "quantity": quantity,
            "unit_price": unit_price,
            "amount": amount,
            "cost": cost,
        }
    )

    # returns: ~2 % of lines come back within 30 days as a C-order with negative quantity/amount
    ret = log.sample(frac=0.02, random_state=seed + 2).copy()
    ret_day = pd.to_datetime(ret["order_date"]) + pd.to_timedelta(rng.integers(1, 31, len(ret)), unit="D")
    ret = ret[ret_day.dt.date.to_numpy() <= end]
    ret_day = ret_day[ret.index]
    ret["order_id"] = "C" + ret["order_id"].str[2:]
    ret["order_date"] = ret_day.dt.strftime("%Y-%m-%d").to_numpy()
    ret["quantity"] = -ret["quantity"]
    ret["amount"] = -ret["amount"]
    ret["cost"] = -ret["cost"]
    log = pd.concat([log, ret], ignore_index=True)
    log = log.astype({c: object for c in ("quantity", "unit_price", "amount", "cost")})
    for col in ("quantity", "unit_price", "amount", "cost"):
        log[col] = log[col].map(lambda v: f"{v:g}" if isinstance(v, (int, np.integer)) else f"{v:.2f}")

    if dirty:
        m = len(log)
        pick = np.random.default_rng(seed + 3)

        def rows(frac: float) -> np.ndarray:
            return pick.choice(m, size=max(1, int(m * frac)), replace=False)

        def put(col: str, frac: float, choices: list[str]) -> None:
            at = rows(frac)
            log.loc[at, col] = pick.choice(choices, size=at.size)

        big = rows(0.0003)  # a few extreme, but real, orders (before any amount is broken): flagged, not dropped
        for col in ("amount", "cost"):
            log.loc[big, col] = [
                f"{float(v) * 2000:.2f}" if not str(v).startswith("-") else v for v in log.loc[big, col]
            ]
        put("customer_id", 0.004, ["", " ", "nan"])
        put("order_date", 0.002, ["2024-13-45", "not a date", "31/02/2024", ""])
        put("amount", 0.002, ["n/a", "", "12,3x"])
        put("amount", 0.001, ["0.00"])
        dup = log.iloc[rows(0.003)]
        log = pd.concat([log, dup], ignore_index=True)
    if treatment_effect > 0:
        extra = _treatment_rows(
            _treated_indices(treated, n), treatment_effect, treatment_window, people["nu"].to_numpy(),
            region, channel, rep, n_occ, seed,
        )  # fmt: skip
        log = pd.concat([log, extra], ignore_index=True)
    order = pd.to_datetime(log["order_date"], errors="coerce", format="%Y-%m-%d")
    log = log.assign(_d=order).sort_values(["_d", "order_id"], kind="stable", na_position="first")
    return log.drop(columns="_d").reset_index(drop=True).astype(str)


def _treated_indices(treated: Iterable[str] | pd.DataFrame | None, n: int) -> np.ndarray:
    """Simulated customer numbers (0 … n−1) of the treated customer ids ``C100000``, ``C100001``, …"""
    if isinstance(treated, pd.DataFrame):
        treated = treated.index[treated["group"].astype(str).to_numpy() == "treatment"]
    ids = pd.Index([str(c) for c in ([] if treated is None else treated)])
    num = pd.to_numeric(ids.str.removeprefix("C"), errors="coerce") - 100000
    ok = np.isfinite(num) & (num >= 0) & (num < n)
    return np.unique(np.asarray(num[ok], dtype=int))


def _treatment_rows(
    idx: np.ndarray,
    effect: float,
    window: tuple[dt.date | str, dt.date | str] | None,
    nu: np.ndarray,
    region: np.ndarray,
    channel: np.ndarray,
    rep: np.ndarray,
    n_occ: int,
    seed: int,
) -> pd.DataFrame:
    """One extra order (one line) for each treated customer with probability ``effect``, in ``window``."""
    assert window is not None
    w0, w1 = as_day(window[0]), as_day(window[1])
    rng = np.random.default_rng(seed + 4)
    buys = idx[rng.random(idx.size) < effect]
    days = rng.integers(0, (w1 - w0).days + 1, size=buys.size)
    amount = np.maximum(np.round(rng.gamma(TRUTH["p"], 1 / nu[buys]), 2), 0.5)
    product = rng.choice(len(PRODUCT_LINES), size=buys.size, p=PRODUCT_WEIGHTS)
    margin = np.array([MARGIN[p] for p in PRODUCT_LINES])[product]
    cost = np.round(amount * (1 - margin), 2)
    reg = region[buys]
    return pd.DataFrame(
        {
            "order_id": [f"SO{n_occ + i + 1:07d}" for i in range(buys.size)],
            "customer_id": [f"C{100000 + i}" for i in buys],
            "order_date": (w0 + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d"),
            "region": np.array(REGIONS, dtype=object)[reg],
            "channel": np.array(CHANNELS, dtype=object)[channel[buys]],
            "product_line": np.array(PRODUCT_LINES, dtype=object)[product],
            "sales_rep": [f"{REGIONS[g][0]}-rep{r + 1}" for g, r in zip(reg, rep[buys], strict=True)],
            "quantity": "1",
            "unit_price": [f"{v:.2f}" for v in amount],
            "amount": [f"{v:.2f}" for v in amount],
            "cost": [f"{v:.2f}" for v in cost],
        }
    )
