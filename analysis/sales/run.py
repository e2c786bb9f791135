"""One sales run: the funnel, stalled deals and rep scorecards of a period and region, and the three CSVs.

:func:`sales_stage` is the one function that computes a run (``rfmkit funnel``, the batch and the notebook call it);
:func:`write_sales` is the one writer of ``funnel.csv``, ``rep_scorecard.csv``, ``stalled_deals.csv`` (spreadsheet-safe
CSV: no cell can start a formula) and ``sales_quality.json`` (row accounting of every CRM input, quarantine reasons).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.data.io import json_safe, write_json
from analysis.data.spreadsheet import write_spreadsheet_csv
from analysis.errors import InputError
from analysis.params import RunParams
from analysis.sales.funnel import Funnel, _with_team, funnel
from analysis.sales.inputs import SalesData, load_sales
from analysis.sales.scorecard import BOOK_COLUMNS, SCORECARD_COLUMNS, rep_scorecard, team_rollup
from analysis.sales.stalled import STALLED_COLUMNS, Stalled, stalled_deals
from analysis.sales.windows import SalesWindow, parse_sales_period, sales_window

if TYPE_CHECKING:
    from analysis.missing import Missing

#: Money columns of ``rep_scorecard.csv`` (rounded to cents in the file).
SCORECARD_MONEY: tuple[str, ...] = ("won_value", "avg_deal_size", "open_pipeline_value", "target")
#: The files one run writes, by name.
SALES_FILES: tuple[str, ...] = ("funnel.csv", "rep_scorecard.csv", "stalled_deals.csv", "sales_quality.json")


def scope_region(data: SalesData, region: str | None) -> SalesData:
    """Only the deals of ``region`` (a deal's own region, else its rep's team region) and their reps, history and
    targets; ``None`` keeps every region.

    Raises
    ------
    InputError
        When no region is known for the deals (neither ``opportunities.region`` nor ``sales_teams.region`` mapped).
    """
    if region is None:
        return data
    opps = _with_team(data)
    if "region" not in opps.columns or opps["region"].isna().all():
        raise InputError(
            f"region '{region}' asked for, but no deal has a region: map opportunities.columns.region or "
            "sales_teams.columns.region in the params"
        )
    keep = opps.index[opps["region"] == region]
    reps = set(opps.loc[keep, "sales_rep"])
    teams = data.teams
    if teams is not None:
        reps |= set(teams.index[teams["region"] == region])
        teams = teams.loc[teams.index.isin(reps)]
    history = data.stage_history
    if history is not None:
        history = history.loc[history["opportunity_id"].isin(keep)]
    targets = data.targets
    if targets is not None:
        team_names = set(teams["team"].dropna()) if teams is not None else set()
        targets = targets.loc[targets["sales_rep"].isin(reps) | targets["team"].isin(team_names)]
    return dataclasses.replace(
        data, opportunities=data.opportunities.loc[keep], stage_history=history, teams=teams, targets=targets
    )


@dataclass(frozen=True)
class SalesRun:
    """The sales results of one period and region.

    Attributes
    ----------
    window : SalesWindow
        The period (up to the data's last day when partial), the one before, a year ago.
    funnel : Funnel
        See :mod:`analysis.sales.funnel`.
    scorecard : DataFrame
        One row per rep (:data:`analysis.sales.scorecard.SCORECARD_COLUMNS`).
    teams : DataFrame
        The roll-up per manager.
    stalled : Stalled
        Open deals older than their stage's threshold, as of ``window.current.last``.
    data : SalesData
        The clean inputs of the region (their quality and quarantine included).
    region : str or None
        The region (None: all).
    book_method : str or None
        How the reps' books were forecast (``clv`` or ``run_rate``; None: no book comparison, the transaction log
        names no reps or has no customers before the period).
    """

    window: SalesWindow
    funnel: Funnel
    scorecard: pd.DataFrame
    teams: pd.DataFrame
    stalled: Stalled
    data: SalesData
    region: str | None
    book_method: str | None = None


def sales_stage(
    params: RunParams,
    period: str,
    region: str | None = None,
    data: SalesData | None = None,
    reps: list[str] | None = None,
    transactions: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
) -> SalesRun:
    """Compute the sales side of ``period`` (``YYYY-MM`` or ``YYYY-Qn``) for ``region`` (None: all regions).

    ``data``: the clean CRM inputs when already loaded (:func:`analysis.sales.inputs.load_sales`); ``reps``: only
    these reps' deals (a per-rep report). ``transactions`` (the run's clean purchases) and ``previous`` (its customers
    scored at the day before the period): each rep's book against its forecast (:mod:`analysis.sales.book`).
    """
    if params.funnel is None:
        raise InputError("no funnel block in the params; see docs/sales.md")
    data = scope_region(data or load_sales(params), region)
    if reps is not None:
        data = scope_reps(data, reps)
    window = sales_window(period, data.data_end)
    if previous is not None and "segment" in previous.columns:  # the account's segment at the period's start
        opps = data.opportunities.assign(
            segment=previous["segment"].reindex(data.opportunities["customer_id"]).to_numpy()
        )
        data = dataclasses.replace(data, opportunities=opps)
    result = funnel(data, window)
    book, method = None, None
    if transactions is not None and previous is not None and len(previous) and "sales_rep" in transactions.columns:
        from analysis.sales.book import book_forecast, clv_at_start
        from analysis.strategy.forecast import CLV_FORECAST_COLUMNS

        reps_known = pd.Series(sorted(set(data.opportunities["sales_rep"].dropna())), dtype="string")
        at_start = clv_at_start(transactions, window.current, params.clv.time_unit, params.clv.penalizer)
        if at_start is not None:  # the CLV forecast made at the period's start, over the period's days
            previous = previous.drop(columns=list(CLV_FORECAST_COLUMNS), errors="ignore").join(at_start)
        else:  # the run rate (customer_forecast), never a CLV fitted over another horizon
            previous = previous.drop(columns=list(CLV_FORECAST_COLUMNS), errors="ignore")
        book, method = book_forecast(previous, transactions, window.current, float(window.current.days), reps_known)
    card = rep_scorecard(data, window, params.funnel.history_months, book=book)
    stalled = stalled_deals(data, window.current.last, params.funnel.stalled_days, params.funnel.min_exits)
    return SalesRun(window, result, card, team_rollup(card), stalled, data, region, method)


def scope_reps(data: SalesData, reps: list[str]) -> SalesData:
    """Only the deals, history, team rows and targets of ``reps`` (names matched ignoring case, spaces, punctuation)."""
    from analysis.sales.inputs import name_key

    keys = set(name_key(pd.Series(reps, dtype="string")))
    named = [r for r in data.opportunities["sales_rep"].dropna().unique() if name_key(pd.Series([r])).iloc[0] in keys]
    reps = sorted(set(reps) | set(named))
    opps = data.opportunities.loc[data.opportunities["sales_rep"].isin(reps)]
    history = data.stage_history
    if history is not None:
        history = history.loc[history["opportunity_id"].isin(opps.index)]
    teams = data.teams.loc[data.teams.index.isin(reps)] if data.teams is not None else None
    targets = data.targets.loc[data.targets["sales_rep"].isin(reps)] if data.targets is not None else None
    return dataclasses.replace(data, opportunities=opps, stage_history=history, teams=teams, targets=targets)


def stalled_list(run: SalesRun, key: Any | None = None) -> pd.DataFrame:
    """The stalled deals as a CRM list: the real account ids (the CRM needs them) and, with a pseudonym key, the
    ``customer`` pseudonym reports show."""
    deals = run.stalled.deals.copy()
    if key is not None:
        from analysis.privacy import pseudonyms

        named = deals["customer_id"].notna()
        deals["customer"] = pd.Series(pd.NA, index=deals.index, dtype="object")
        if named.any():
            deals.loc[named, "customer"] = pseudonyms(deals.loc[named, "customer_id"], key).to_numpy()
    return deals


def write_sales(run: SalesRun, out: str | Path, key: Any | None = None) -> dict[str, Path]:
    """Write the run's files into ``out`` (see :data:`SALES_FILES`); returns their paths by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    w = run.window
    card = run.scorecard.assign(period=w.current.period, window_first=w.current.first.date(),
                                window_last=w.current.last.date())  # fmt: skip
    quality = {
        "period": w.current.period,
        "region": run.region or "all",
        "window": w.current.text(),
        "previous_window": w.previous.text(),
        "year_ago_window": w.year_ago.text(),
        "partial_period": w.partial,
        "data_end": f"{run.data.data_end:%Y-%m-%d}",
        "stage_history": run.funnel.has_history,
        "deals_without_history": run.funnel.without_history,
        "stalled_not_aged": run.stalled.not_aged,
        "book_method": run.book_method,
        "stalled_thresholds_days": run.stalled.thresholds.to_dict(),
        "inputs": run.data.quality,
    }
    paths = {
        "funnel.csv": write_spreadsheet_csv(run.funnel.table, out / "funnel.csv", index=False, money=()),
        "rep_scorecard.csv": write_spreadsheet_csv(
            card[
                [
                    "period",
                    "window_first",
                    "window_last",
                    *SCORECARD_COLUMNS,
                    *[c for c in BOOK_COLUMNS if c in card.columns],
                ]
            ],
            out / "rep_scorecard.csv",
            index=False,
            money=[c for c in (*SCORECARD_MONEY, "book_expected", "book_revenue", "above_book") if c in card.columns],
        ),
        "stalled_deals.csv": write_spreadsheet_csv(
            stalled_list(run, key).reindex(columns=[*STALLED_COLUMNS, *(["customer"] if key is not None else [])]),
            out / "stalled_deals.csv",
            index=False,
            money=["amount"],
        ),
        "sales_quality.json": write_json(json_safe(quality), out / "sales_quality.json"),
    }
    for name, frame in run.data.quarantine.items():
        if len(frame):  # the raw rows as they came in: nothing rounded
            paths[f"quarantine_{name}.csv"] = write_spreadsheet_csv(
                frame, out / f"quarantine_{name}.csv", index=False, money=()
            )
    return paths


def sales_for_run(
    params: RunParams,
    period: str,
    region: str,
    data: SalesData | None = None,
    transactions: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
) -> SalesRun | Missing:
    """The sales stage of a batch run (``region`` as the runner holds it: a data region or
    :data:`analysis.regions.ALL_REGIONS`): a :class:`SalesRun`, or a :class:`~analysis.missing.Missing` saying why
    there is none (no CRM input in the params; a region asked for but no deal carries one; the period before the
    CRM data). ``transactions`` and ``previous``: see :func:`sales_stage` (a Missing ``previous`` is none)."""
    from analysis.errors import ParamsError
    from analysis.missing import Missing
    from analysis.regions import ALL_REGIONS

    if params.opportunities is None:
        return Missing("sales_no_opportunities")
    from analysis.regions import run_rep

    data = data or load_sales(params)  # read in each run: nothing outlives a run in a warm batch kernel
    rep = run_rep(region)
    region_ = None if region == ALL_REGIONS or rep is not None else region
    if region_ is not None and "region" not in _with_team(data).columns:
        return Missing("sales_no_region")
    if data.data_start is not None and parse_sales_period(period).end_time < data.data_start:
        return Missing("sales_before_data", {"start": f"{data.data_start:%Y-%m-%d}"})
    try:
        before = previous if isinstance(previous, pd.DataFrame) else None
        reps = [rep] if rep is not None else None  # a rep's run: the rep's deals only
        return sales_stage(params, period, region_, data=data, reps=reps, transactions=transactions, previous=before)
    except ParamsError:  # the period starts after the CRM export ends
        return Missing("sales_after_data", {"end": f"{data.data_end:%Y-%m-%d}"})


def write_stage(run_dir: Path, result: SalesRun | Missing, language: str, key: Any | None) -> list[Path]:
    """The one writer of the sales stage in a run folder: ``sales/`` with :data:`SALES_FILES` (nothing when the
    stage is missing)."""
    from analysis.missing import Missing

    if isinstance(result, Missing):
        return []
    return list(write_sales(result, Path(run_dir) / "sales", key).values())


def won_orders(data: SalesData) -> pd.DataFrame:
    """Won deals as a transaction log, for a company whose only sales record is its CRM: one order per won deal with
    an account, in canonical columns (``order_id`` = opportunity id, ``customer_id`` = account, ``order_date`` = close
    date ``YYYY-MM-DD``, ``amount`` = won amount, ``sales_rep``, and ``region`` / ``product_line`` when known), oldest
    first. Won deals without an account cannot be anyone's purchase and are left out. Write it with
    ``rfmkit funnel … --orders FILE`` and point the params' ``source`` at the file."""
    opps = _with_team(data)
    won = opps.loc[(opps["status"] == "won") & opps["customer_id"].notna()]
    out = pd.DataFrame(
        {
            "order_id": won.index.astype(str),
            "customer_id": won["customer_id"].astype(str).to_numpy(),
            "order_date": won["close_date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "amount": won["amount"].to_numpy(),
            "sales_rep": won["sales_rep"].to_numpy(),
        }
    )
    if "region" in won.columns and won["region"].notna().any():
        out["region"] = won["region"].to_numpy()
    if "product" in won.columns:
        out["product_line"] = won["product"].to_numpy()
    return out.sort_values(["order_date", "order_id"], kind="stable").reset_index(drop=True)
