"""Rep scorecards: each sales rep's period against target, and a roll-up per manager.

Per rep (every rep with a deal, a team row or a target), over the run's window (:class:`analysis.sales.windows.Span`,
first and last day inclusive; money in the source's currency):

* ``won_deals``, ``lost_deals``: deals closed in the window as won / lost; ``win_rate`` = won / (won + lost)
  (NaN with no closed deal); ``won_value``: sum of the won deals' amounts (the rep's revenue from the CRM);
  ``avg_deal_size`` = won_value / won_deals; ``median_cycle_days``: median days from created to close of the won
  deals (those with a created date);
* ``open_pipeline_value``: amounts of the deals open at the window's last day (deals without an amount add nothing;
  ``open_deals`` counts them all);
* ``new_customers_won``: accounts whose first won deal (any rep, all history) is a won deal of this rep in the window;
* ``retention``: of the accounts the rep won deals from in the ``history_months`` months before the window, the share
  with a won deal (any rep) in the window (NaN when the rep had none);
* ``target``: the rep's revenue target for the period (a month of a quarterly target is a third of it; a quarter of
  monthly targets is their sum; a rep without a target row has none: NaN), ``attainment`` = won_value / target;
  ``expected_attainment``: the share of the period's days the data cover (1 for a full period), ``pace`` =
  attainment / expected_attainment, the attainment the rep reaches at the period's end at the same rate;
* ``rank``: by won value, highest first (ties share the best rank); ``previous_rank`` the same for the window before,
  ``rank_change`` = previous_rank − rank (positive: moved up);
* ``book_customers``, ``book_expected``, ``book_revenue``, ``vs_book``, ``above_book``, ``book_rank`` (when the
  transaction log names reps): what the rep's own customers were expected to buy in the period (their forecast at the
  period's start), what they bought, the ratio, the difference, and the rank by the difference
  (:mod:`analysis.sales.book`).

The team roll-up (:func:`team_rollup`) sums counts and money per manager and recomputes the rates from the sums.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.sales.funnel import open_at
from analysis.sales.inputs import SalesData
from analysis.sales.windows import SalesWindow, Span

#: The book columns (:mod:`analysis.sales.book`), after :data:`SCORECARD_COLUMNS` when the log names reps.
BOOK_COLUMNS: tuple[str, ...] = (
    "book_customers", "book_expected", "book_revenue", "vs_book", "above_book", "book_rank",
)  # fmt: skip
#: The columns of ``rep_scorecard.csv``.
SCORECARD_COLUMNS: tuple[str, ...] = (
    "sales_rep", "team", "manager", "won_deals", "lost_deals", "win_rate", "won_value", "avg_deal_size",
    "median_cycle_days", "open_deals", "open_pipeline_value", "new_customers_won", "retention", "target",
    "attainment", "expected_attainment", "pace", "rank", "previous_rank", "rank_change",
)  # fmt: skip


def _period_target(targets: pd.DataFrame | None, period: str, column: str, owner: str = "sales_rep") -> pd.Series:
    """Per owner, the target of ``period`` from monthly and quarterly rows (see the module docstring)."""
    if targets is None or targets.empty or column not in targets.columns:
        return pd.Series(dtype=float)
    rows = targets.loc[targets[owner].notna() & targets[column].notna()]
    p = pd.Period(period.replace("-Q", "Q"), freq="Q" if "Q" in period else "M")
    if p.freqstr.startswith("Q"):
        months = {pd.Period(p.start_time, "M") + i for i in range(3)}
        month_rows = rows.loc[rows["period"].isin({m.strftime("%Y-%m") for m in months})]
        exact = rows.loc[rows["period"] == period].groupby(owner)[column].sum()
        summed = month_rows.groupby(owner)[column].sum()
        return exact.combine_first(summed)
    exact = rows.loc[rows["period"] == period].groupby(owner)[column].sum()
    quarter = f"{p.year}-Q{p.quarter}"
    third = rows.loc[rows["period"] == quarter].groupby(owner)[column].sum() / 3.0
    return exact.combine_first(third)


def _per_rep(opps: pd.DataFrame, span: Span, data_end: pd.Timestamp, history_months: int) -> pd.DataFrame:
    inside = opps["close_date"].between(span.first, span.last)
    won = opps.loc[inside & (opps["status"] == "won")]
    lost = opps.loc[inside & (opps["status"] == "lost")]
    g = pd.DataFrame(
        {
            "won_deals": won.groupby("sales_rep").size(),
            "lost_deals": lost.groupby("sales_rep").size(),
            "won_value": won.groupby("sales_rep")["amount"].sum(),
            "median_cycle_days": (won["close_date"] - won["created_date"]).dt.days.groupby(won["sales_rep"]).median(),
        }
    )
    is_open = opps.loc[open_at(opps, span.last, data_end)]
    g["open_deals"] = is_open.groupby("sales_rep").size()
    g["open_pipeline_value"] = is_open.groupby("sales_rep")["amount"].sum(min_count=0)
    all_won = opps.loc[(opps["status"] == "won") & opps["customer_id"].notna()].sort_values(
        ["close_date"], kind="stable"
    )
    first_won = all_won.drop_duplicates("customer_id")
    new = first_won.loc[first_won["close_date"].between(span.first, span.last)]
    g["new_customers_won"] = new.groupby("sales_rep")["customer_id"].nunique()
    before_first = span.first - pd.DateOffset(months=history_months)
    base = all_won.loc[all_won["close_date"].between(before_first, span.first - pd.Timedelta(days=1))]
    base = base[["sales_rep", "customer_id"]].drop_duplicates()
    again = set(all_won.loc[all_won["close_date"].between(span.first, span.last), "customer_id"])
    base = base.assign(back=base["customer_id"].isin(again))
    g["retention"] = base.groupby("sales_rep")["back"].mean()
    for col in ("won_deals", "lost_deals", "open_deals", "new_customers_won"):
        g[col] = g[col].fillna(0).astype(int)
    for col in ("won_value", "open_pipeline_value"):
        g[col] = g[col].fillna(0.0)
    g["win_rate"] = (g["won_deals"] / (g["won_deals"] + g["lost_deals"])).where(g["won_deals"] + g["lost_deals"] > 0)
    g["avg_deal_size"] = (g["won_value"] / g["won_deals"]).where(g["won_deals"] > 0)
    return g


def rep_scorecard(
    data: SalesData,
    window: SalesWindow,
    history_months: int = 12,
    reps: list[str] | None = None,
    book: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per rep for ``window.current`` (see the module docstring), sorted by rank then name.

    Parameters
    ----------
    data : SalesData
        Clean CRM inputs.
    window : SalesWindow
        The period (and the one before, for the rank change).
    history_months : int
        Months before the window in which a rep's customers for ``retention`` are taken.
    reps : list of str, optional
        Every rep to list (default: reps with a deal, a team row or a target), so a rep with no deal shows zeros.
    book : DataFrame, optional
        Indexed by ``sales_rep``: ``book_customers``, ``book_expected``, ``book_revenue``
        (:func:`analysis.sales.book.book_forecast`); adds :data:`BOOK_COLUMNS`.
    """
    opps = data.opportunities
    if reps is None:
        named = set(opps["sales_rep"].dropna())
        if data.teams is not None:
            named |= set(data.teams.index)
        if data.targets is not None:
            named |= set(data.targets["sales_rep"].dropna())
        reps = sorted(named)
    now = _per_rep(opps, window.current, data.data_end, history_months).reindex(reps)
    before = _per_rep(opps, window.previous, data.data_end, history_months).reindex(reps)
    for frame in (now, before):
        for col in ("won_deals", "lost_deals", "open_deals", "new_customers_won"):
            frame[col] = frame[col].fillna(0).astype(int)
        for col in ("won_value", "open_pipeline_value"):
            frame[col] = frame[col].fillna(0.0)
    card = now.copy()
    card.index.name = "sales_rep"
    if data.teams is not None:
        teams = data.teams.reindex(reps)
        card["team"], card["manager"] = teams["team"].to_numpy(), teams["manager"].to_numpy()
    else:
        card["team"], card["manager"] = pd.NA, pd.NA
    card["target"] = _period_target(data.targets, window.current.period, "revenue_target").reindex(reps)
    card["attainment"] = card["won_value"] / card["target"].where(card["target"] > 0)
    card["expected_attainment"] = window.elapsed_share
    card["pace"] = card["attainment"] / window.elapsed_share
    card["rank"] = card["won_value"].rank(ascending=False, method="min").astype(int)
    card["previous_rank"] = before["won_value"].rank(ascending=False, method="min").astype(int)
    card["rank_change"] = card["previous_rank"] - card["rank"]
    columns = [c for c in SCORECARD_COLUMNS if c != "sales_rep"]
    if book is not None:
        card = card.join(book[["book_customers", "book_expected", "book_revenue"]], how="left")
        card["book_customers"] = card["book_customers"].fillna(0).astype(int)
        card[["book_expected", "book_revenue"]] = card[["book_expected", "book_revenue"]].fillna(0.0)
        card["vs_book"] = card["book_revenue"] / card["book_expected"].where(card["book_expected"] > 0)
        card["above_book"] = (card["book_revenue"] - card["book_expected"]).where(card["book_customers"] > 0)
        card["book_rank"] = card["above_book"].rank(ascending=False, method="min").astype("Int64")  # no book: none
        columns += list(BOOK_COLUMNS)
    card = card[columns].reset_index()
    return card.sort_values(["rank", "sales_rep"], kind="stable").reset_index(drop=True)


def team_rollup(card: pd.DataFrame) -> pd.DataFrame:
    """Per manager (``(none)`` for reps without one): reps, sums of deals, money and targets, rates recomputed."""
    frame = card.assign(manager=card["manager"].fillna("(none)"))
    g = frame.groupby("manager", sort=True)
    out = pd.DataFrame(
        {
            "reps": g.size(),
            "won_deals": g["won_deals"].sum(),
            "lost_deals": g["lost_deals"].sum(),
            "won_value": g["won_value"].sum(),
            "open_pipeline_value": g["open_pipeline_value"].sum(),
            "target": g["target"].sum(min_count=1),
            "won_value_of_reps_with_target": frame.loc[frame["target"].notna()].groupby("manager")["won_value"].sum(),
        }
    )
    closed = out["won_deals"] + out["lost_deals"]
    out["win_rate"] = (out["won_deals"] / closed).where(closed > 0)
    out["attainment"] = out["won_value_of_reps_with_target"] / out["target"].where(out["target"] > 0)
    expected = card["expected_attainment"].iloc[0] if len(card) else np.nan
    out["pace"] = out["attainment"] / expected
    return out.reset_index()
