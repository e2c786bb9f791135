"""The sales funnel: per window, how many deals entered each stage, advanced, were lost, are still open.

Two kinds of export, two sets of measures:

**With stage history** (one row per stage change): each time a deal enters a stage starts a *spell* that ends when it
enters another stage. For an open stage ``s`` and a window of days ``[first, last]``:

* ``entered``: spells of ``s`` that began in the window;
* ``advanced``: spells of ``s`` that ended in the window by entering a later stage (skipping one counts as advancing);
* ``lost``: spells of ``s`` that ended in the window by entering a lost stage;
* ``open``: spells of ``s`` that began on or before ``last`` and had not ended by then (deals in ``s`` at the end);
* ``conversion_to_next`` = advanced / (advanced + lost): of the deals that left ``s`` in the window, the share that
  went forward (a deal moved back to an earlier stage is neither);
* ``cumulative_conversion``: the product of the conversions up to and including ``s``, the share of deals entering
  the first stage that get past ``s`` at this window's rates;
* ``median_days_in_stage``, ``p90_days_in_stage``: days from entering ``s`` to leaving it, over the spells that ended
  in the window (forward, lost or back).

The won stage's row counts the deals won in the window (``entered``). A deal without any history row is left out of
the stage measures (counted in :attr:`Funnel.without_history`); a closed deal whose history lacks its close gets it
from the opportunity's close date.

**Without stage history** (only each deal's current stage) the stage a lost deal was lost from, and how long deals
spent in each stage, are unknown: only won versus lost and created-to-close can be measured. The funnel then has one
row, ``"<first stage> → <won stage>"``: ``entered`` = deals created in the window, ``advanced`` = won and ``lost`` =
lost among deals closed in the window, ``open`` = deals open at the window's last day, conversion = win rate,
days = created-to-close days of the won deals closed in the window. When the window reaches the export's last day,
one row per open stage gives the deals in that stage now (``open`` only).

Both kinds give, per window, the **win rate** (won / (won + lost) of the deals closed in the window) and the
**median sales cycle** (days from created to close of the won deals closed in the window).

Breakdowns (``by``): ``all``, ``sales_rep``, ``product``, ``source``, ``region``, ``team`` (a deal counts under its
current value of the column) and ``segment`` (the account's RFM segment at the period's start, when the run scored the
transaction log: :func:`analysis.sales.run.sales_stage`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.sales.inputs import SalesData
from analysis.sales.windows import SalesWindow, Span

#: The columns of ``funnel.csv`` after the window and group columns.
FUNNEL_COLUMNS: tuple[str, ...] = (
    "stage", "entered", "advanced", "lost", "open", "conversion_to_next", "cumulative_conversion",
    "median_days_in_stage", "p90_days_in_stage",
)  # fmt: skip
#: Breakdowns of the funnel, in the order written.
BREAKDOWNS: tuple[str, ...] = ("all", "sales_rep", "team", "region", "product", "source", "segment")


def spells(data: SalesData) -> pd.DataFrame:
    """One row per stage entered (history only): ``opportunity_id``, ``stage``, ``entered_at``, ``left_at``
    (NaT while in the stage), ``outcome`` (``advanced``, ``lost``, ``back``, or NA while open), ``days`` (whole days
    in the stage, NaN while open)."""
    hist = data.stage_history
    if hist is None or hist.empty:
        return pd.DataFrame(columns=["opportunity_id", "stage", "entered_at", "left_at", "outcome", "days"])
    opps = data.opportunities
    last = hist.groupby("opportunity_id", sort=False).tail(1).set_index("opportunity_id")
    closed = opps.loc[opps.index.isin(last.index) & (opps["status"] != "open")]
    missing_close = closed.loc[
        (last.loc[closed.index, "stage"] != closed["stage"])
        & (closed["close_date"] >= last.loc[closed.index, "entered_at"])
    ]
    extra = pd.DataFrame(
        {"opportunity_id": missing_close.index, "stage": missing_close["stage"].to_numpy(),
         "entered_at": missing_close["close_date"].to_numpy()}
    )  # fmt: skip
    frame = pd.concat([hist, extra], ignore_index=True) if len(extra) else hist.copy()
    rank = {s: i for i, s in enumerate(data.stages)}
    frame = frame.sort_values(["opportunity_id", "entered_at"], kind="stable").reset_index(drop=True)
    same = frame["opportunity_id"].eq(frame["opportunity_id"].shift(-1))
    nxt = frame["stage"].shift(-1).where(same)
    frame["left_at"] = frame["entered_at"].shift(-1).where(same)
    here, there = frame["stage"].map(rank), nxt.map(rank)
    outcome = np.where(
        nxt.isin(data.lost), "lost", np.where(there > here, "advanced", np.where(there < here, "back", ""))
    )
    frame["outcome"] = pd.Series(outcome, index=frame.index).replace("", pd.NA).where(nxt.notna())
    frame["days"] = (frame["left_at"] - frame["entered_at"]).dt.days.astype(float)
    return frame


@dataclass(frozen=True)
class Funnel:
    """The funnel of one run.

    Attributes
    ----------
    table : DataFrame
        The rows of ``funnel.csv``: ``window`` (``period``, ``previous``, ``year_ago``), ``window_first``,
        ``window_last``, ``by``, ``group`` and :data:`FUNNEL_COLUMNS`.
    closed : DataFrame
        Per window (index ``period``, ``previous``, ``year_ago``): ``first``, ``last``, ``covered`` (False for a
        window that ends before the data's first day: its measures are NaN and it has no rows in ``table``),
        ``won``, ``lost``, ``win_rate``, ``median_cycle_days``, ``p90_cycle_days``, ``won_value`` (all groups).
    has_history : bool
        Whether stages were measured (stage history given) or only won vs lost and created-to-close.
    biggest_loss : dict or None
        The stage with the largest lost share this period: ``stage``, ``next_stage``, ``lost_share``,
        ``lost_share_previous``, ``median_days`` (None when no deal left a stage, or without history).
    without_history : int
        Deals left out of the stage measures because they have no stage history row.
    """

    table: pd.DataFrame
    closed: pd.DataFrame
    has_history: bool
    biggest_loss: dict[str, Any] | None
    without_history: int


def _q(values: pd.Series, q: float) -> float:
    values = values.dropna()
    return float(values.quantile(q)) if len(values) else float("nan")


def _ratio(a: float, b: float) -> float:
    return float(a) / float(b) if b else float("nan")


def closed_in(opps: pd.DataFrame, span: Span) -> dict[str, float]:
    """Won and lost deals closed in ``span``, win rate, median and p90 created-to-close days (won deals), won value."""
    inside = opps["close_date"].between(span.first, span.last)
    won = opps.loc[inside & (opps["status"] == "won")]
    lost = opps.loc[inside & (opps["status"] == "lost")]
    cycle = (won["close_date"] - won["created_date"]).dt.days
    return {
        "won": len(won),
        "lost": len(lost),
        "win_rate": _ratio(len(won), len(won) + len(lost)),
        "median_cycle_days": _q(cycle, 0.5),
        "p90_cycle_days": _q(cycle, 0.9),
        "won_value": float(won["amount"].sum()),
    }


def _stage_rows(sp: pd.DataFrame, stages: list[str], span: Span) -> list[dict[str, Any]]:
    rows, cumulative = [], 1.0
    for stage in stages[:-1]:
        s = sp.loc[sp["stage"] == stage]
        left = s["left_at"].between(span.first, span.last)
        advanced = int((left & (s["outcome"] == "advanced")).sum())
        lost = int((left & (s["outcome"] == "lost")).sum())
        conversion = _ratio(advanced, advanced + lost)
        cumulative = cumulative * conversion
        days = s.loc[left, "days"]
        rows.append(
            {
                "stage": stage,
                "entered": int(s["entered_at"].between(span.first, span.last).sum()),
                "advanced": advanced,
                "lost": lost,
                "open": int(((s["entered_at"] <= span.last) & ~(s["left_at"] <= span.last)).sum()),
                "conversion_to_next": conversion,
                "cumulative_conversion": cumulative,
                "median_days_in_stage": _q(days, 0.5),
                "p90_days_in_stage": _q(days, 0.9),
            }
        )
    won = sp.loc[sp["stage"] == stages[-1]]
    rows.append({"stage": stages[-1], "entered": int(won["entered_at"].between(span.first, span.last).sum())})
    return rows


def open_at(opps: pd.DataFrame, day: pd.Timestamp, data_end: pd.Timestamp) -> pd.Series:
    """Whether each deal was open at the end of ``day``: created on or before it and not closed by then (a deal
    without a created date counts only when ``day`` reaches the export's last day, where its current stage holds)."""
    created = opps["created_date"]
    not_closed = opps["close_date"].isna() | (opps["close_date"] > day)
    known = (created <= day) & not_closed
    undated = created.isna() & (opps["status"] == "open") & (day >= data_end)
    return (known | undated).fillna(False)


def _current_stage_rows(opps: pd.DataFrame, stages: list[str], span: Span, data_end: pd.Timestamp) -> list[dict]:
    c = closed_in(opps, span)
    inside = opps["close_date"].between(span.first, span.last)
    won = opps.loc[inside & (opps["status"] == "won")]
    cycle = (won["close_date"] - won["created_date"]).dt.days
    rows = [
        {
            "stage": f"{stages[0]} → {stages[-1]}",
            "entered": int(opps["created_date"].between(span.first, span.last).sum()),
            "advanced": c["won"],
            "lost": c["lost"],
            "open": int(open_at(opps, span.last, data_end).sum()),
            "conversion_to_next": c["win_rate"],
            "cumulative_conversion": c["win_rate"],
            "median_days_in_stage": _q(cycle, 0.5),
            "p90_days_in_stage": _q(cycle, 0.9),
        }
    ]
    if span.last >= data_end:  # the current stage is known only at the export's day
        now = opps.loc[opps["status"] == "open", "stage"].value_counts()
        rows += [{"stage": s, "open": int(now.get(s, 0))} for s in stages[:-1]]
    return rows


def funnel(data: SalesData, window: SalesWindow, by: tuple[str, ...] = BREAKDOWNS) -> Funnel:
    """The funnel of every window of ``window`` and every breakdown in ``by`` present in the data.

    Parameters
    ----------
    data : SalesData
        Clean CRM inputs (already scoped to a region by the caller, if any).
    window : SalesWindow
        The period, the period before and a year ago (see :mod:`analysis.sales.windows`).
    by : tuple of str
        Breakdowns: ``all`` and columns of the opportunities (``sales_rep``, ``team``, ``region``, ``product``,
        ``source``); those absent from the data are skipped.
    """
    opps = _with_team(data)
    sp = spells(data) if data.has_history else None
    without = int((~opps.index.isin(data.stage_history["opportunity_id"])).sum()) if data.has_history else 0
    rows = []
    spans = {"period": window.current, "previous": window.previous, "year_ago": window.year_ago}
    covered = {name: data.data_start is None or span.last >= data.data_start for name, span in spans.items()}
    for name, span in spans.items():
        if not covered[name]:  # a window before the data's first day: nothing to report, not zeros
            continue
        for dim in by:
            if dim != "all" and (dim not in opps.columns or opps[dim].isna().all()):
                continue
            groups = [("all", opps)] if dim == "all" else list(opps.groupby(dim, sort=True))
            for group, part in groups:
                if sp is not None:
                    part_rows = _stage_rows(sp.loc[sp["opportunity_id"].isin(part.index)], data.stages, span)
                else:
                    part_rows = _current_stage_rows(part, data.stages, span, data.data_end)
                head = {"window": name, "window_first": span.first.date(), "window_last": span.last.date(),
                        "by": dim, "group": str(group)}  # fmt: skip
                rows += [{**head, **r} for r in part_rows]
    table = pd.DataFrame(rows).reindex(
        columns=["window", "window_first", "window_last", "by", "group", *FUNNEL_COLUMNS]
    )
    for col in ("entered", "advanced", "lost", "open"):
        table[col] = table[col].astype("Int64")
    closed = pd.DataFrame(
        {
            name: {"first": s.first.date(), "last": s.last.date(), "covered": covered[name], **closed_in(opps, s)}
            for name, s in spans.items()
        }
    ).T
    measures = ["won", "lost", "win_rate", "median_cycle_days", "p90_cycle_days", "won_value"]
    closed.loc[~closed["covered"].astype(bool), measures] = np.nan
    return Funnel(
        table=table.reset_index(drop=True),
        closed=closed,
        has_history=sp is not None,
        biggest_loss=_biggest_loss(table, data) if sp is not None else None,
        without_history=without,
    )


def _with_team(data: SalesData) -> pd.DataFrame:
    opps = data.opportunities
    if data.teams is None:
        return opps
    extra = data.teams.reindex(opps["sales_rep"].to_numpy())
    opps = opps.copy()
    opps["team"] = extra["team"].to_numpy()
    if "region" not in opps.columns or opps["region"].isna().all():
        opps["region"] = extra["region"].to_numpy()
    opps["manager"] = extra["manager"].to_numpy()
    return opps


def _biggest_loss(table: pd.DataFrame, data: SalesData) -> dict[str, Any] | None:
    rows = table.loc[(table["by"] == "all") & table["stage"].isin(data.stages[:-1])]
    now = rows.loc[rows["window"] == "period"].set_index("stage")
    exits = (now["advanced"] + now["lost"]).astype(float)
    share = (now["lost"].astype(float) / exits).where(exits > 0)
    if share.dropna().empty:
        return None
    stage = str(share.idxmax())
    before = rows.loc[rows["window"] == "previous"].set_index("stage")
    prev_exits = float(before.loc[stage, "advanced"] + before.loc[stage, "lost"]) if stage in before.index else 0.0
    return {
        "stage": stage,
        "next_stage": data.stages[data.stages.index(stage) + 1],
        "lost": int(now.loc[stage, "lost"]),
        "lost_share": float(share[stage]),
        "lost_share_previous": float(before.loc[stage, "lost"]) / prev_exits if prev_exits else float("nan"),
        "median_days": float(now.loc[stage, "median_days_in_stage"]),
    }


def loss_sentence(result: Funnel, language: str = "en", escape: Callable[[str], str] = str) -> str:
    """The headline of the funnel: where most deals are lost (with history), or what can be measured (without).

    ``escape`` is applied to the stage names (data from the params) before they enter the sentence: a report passes
    its Markdown escaping, so a stage name never becomes markup.
    """
    from analysis.text import t
    from analysis.text.format import number, percent

    if not result.has_history:
        c = result.closed
        return t(
            "sales.no_history",
            language,
            lost_share=percent(1 - c.loc["period", "win_rate"], language),
            lost_share_previous=percent(1 - c.loc["previous", "win_rate"], language),
            cycle=number(c.loc["period", "median_cycle_days"], language, 0),
        )
    b = result.biggest_loss
    if b is None:
        return t("sales.no_exits", language)
    return t(
        "sales.biggest_loss",
        language,
        stage=escape(b["stage"]),
        next_stage=escape(b["next_stage"]),
        lost_share=percent(b["lost_share"], language),
        lost_share_previous=percent(b["lost_share_previous"], language),
        days=number(b["median_days"], language, 0),
    )
