"""The sales section of a report (notebooks/06_sales): the tables and sentences, in the run's language.

Only display: every figure comes from :func:`analysis.sales.run.sales_stage` (the ``sales`` stage); here columns
get their labels (catalog ``sales.column.*``), figures their formats, customers their pseudonyms, and each table the
window it counts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from analysis.report import tables
from analysis.sales.funnel import loss_sentence
from analysis.sales.run import SalesRun
from analysis.text import t
from analysis.text.format import date, integer, number, percent

#: The rows of the stalled-deals table shown in a report (the CRM list holds them all).
STALLED_SHOWN = 50


def _labelled(
    frame: pd.DataFrame,
    language: str,
    currency: str | None = None,
    money: tuple[str, ...] = (),
    pct: tuple[str, ...] = (),
    ints: tuple[str, ...] = (),
    decimals: tuple[str, ...] = (),
) -> Styler:
    """``frame`` styled with its columns labelled from ``sales.column.*`` (formats named by the raw columns)."""
    label = {c: t(f"sales.column.{c}", language) for c in frame.columns}

    def pick(cols: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(label[c] for c in cols if c in label)

    return tables.styled(
        frame.rename(columns=label),
        currency,
        money=pick(money),
        pct=pick(pct),
        ints=pick(ints),
        decimals=pick(decimals),
        language=language,
    )


def headline(run: SalesRun, language: str) -> str:
    """Where most deals are lost (with stage history), or what can be measured (without); stage names escaped."""
    from analysis.report.markdown import escape_markdown

    return loss_sentence(run.funnel, language, escape_markdown)


def windows_text(run: SalesRun, language: str) -> str:
    """The three windows the section counts, stated (a partial period with its days)."""
    w = run.window
    partial = (
        t("sales.partial", language, end=date(w.current.last, language), days=w.current.days, period_days=w.period_days)
        if w.partial
        else ""
    )
    covered = run.funnel.closed["covered"]
    year_ago = w.year_ago.text() if bool(covered["year_ago"]) else t("sales.before_data", language)
    return t(
        "sales.windows",
        language,
        current=w.current.text(),
        partial=partial,
        previous=w.previous.text() if bool(covered["previous"]) else t("sales.before_data", language),
        year_ago=year_ago,
    )


def closed_text(run: SalesRun, language: str) -> str:
    """Deals won and lost in the period, the win rate against the two earlier windows, the median cycle."""
    c = run.funnel.closed
    return t(
        "sales.closed",
        language,
        won=integer(c.loc["period", "won"], language),
        lost=integer(c.loc["period", "lost"], language),
        win_rate=percent(c.loc["period", "win_rate"], language),
        win_rate_previous=percent(c.loc["previous", "win_rate"], language),
        win_rate_year_ago=percent(c.loc["year_ago", "win_rate"], language),
        cycle=number(c.loc["period", "median_cycle_days"], language, 0),
    )


FUNNEL_SHOWN = (
    "stage", "entered", "advanced", "lost", "open", "conversion_to_next", "conversion_previous",
    "conversion_year_ago", "cumulative_conversion", "median_days_in_stage", "p90_days_in_stage",
)  # fmt: skip


def funnel_table(run: SalesRun, by: str = "all") -> pd.DataFrame:
    """The funnel of the period (``by``: ``all``, or a breakdown with a ``group`` column first), with the
    conversion of the period before and of a year before beside it."""
    table = run.funnel.table.loc[run.funnel.table["by"] == by]
    keys = ["group", "stage"]
    now = table.loc[table["window"] == "period"].set_index(keys)
    for window, name in (("previous", "conversion_previous"), ("year_ago", "conversion_year_ago")):
        before = table.loc[table["window"] == window].set_index(keys)["conversion_to_next"]
        now[name] = before.reindex(now.index).to_numpy()
    now = now.reset_index()
    columns = [c for c in FUNNEL_SHOWN if c in now.columns]
    return (now[columns] if by == "all" else now[["group", *columns]]).reset_index(drop=True)


def breakdowns(run: SalesRun) -> list[str]:
    """The breakdowns a report shows below the whole funnel: per rep and, when the log was scored, per segment."""
    present = set(run.funnel.table["by"])
    return [by for by in ("sales_rep", "segment") if by in present]


def styled_funnel(run: SalesRun, language: str, by: str = "all") -> Styler:
    """:func:`funnel_table` as a reader sees it."""
    frame = funnel_table(run, by)
    if by != "all":
        frame = frame.rename(columns={"group": by})
    return _labelled(
        frame,
        language,
        pct=("conversion_to_next", "conversion_previous", "conversion_year_ago", "cumulative_conversion"),
        ints=("entered", "advanced", "lost", "open"),
        decimals=("median_days_in_stage", "p90_days_in_stage"),
    )


SCORECARD_SHOWN = (
    "rank", "rank_change", "sales_rep", "team", "manager", "won_deals", "lost_deals", "win_rate", "won_value",
    "avg_deal_size", "median_cycle_days", "open_pipeline_value", "new_customers_won", "retention", "target",
    "attainment", "pace", "book_expected", "book_revenue", "vs_book", "book_rank",
)  # fmt: skip


def styled_scorecard(run: SalesRun, currency: str, language: str) -> Styler:
    """The rep scorecard (rank order), money in ``currency``."""
    card = run.scorecard
    shown = [
        c for c in SCORECARD_SHOWN if c in card.columns and not (c in ("team", "manager") and card[c].isna().all())
    ]
    return _labelled(
        card[shown],
        language,
        currency,
        money=("won_value", "avg_deal_size", "open_pipeline_value", "target", "book_expected", "book_revenue"),
        pct=("win_rate", "retention", "attainment", "pace", "vs_book"),
        ints=("rank", "rank_change", "won_deals", "lost_deals", "new_customers_won", "book_rank"),
        decimals=("median_cycle_days",),
    )


def scorecard_text(run: SalesRun, language: str) -> str:
    """The windows of the scorecard's columns and, in a partial period, what pace means."""
    w = run.window
    pace = t("sales.pace", language, share=percent(w.elapsed_share, language)) if w.partial else ""
    out = t("sales.scorecard", language, window=w.current.text(), end=date(w.current.last, language), pace=pace)
    if run.book_method is not None:
        out += " " + t("sales.book", language, method=t(f"sales.book_method.{run.book_method}", language))
    return out


def styled_teams(run: SalesRun, currency: str, language: str) -> Styler:
    """The roll-up per manager."""
    shown = ["manager", "reps", "won_deals", "lost_deals", "win_rate", "won_value", "open_pipeline_value", "target",
             "attainment", "pace"]  # fmt: skip
    return _labelled(
        run.teams[shown],
        language,
        currency,
        money=("won_value", "open_pipeline_value", "target"),
        pct=("win_rate", "attainment", "pace"),
        ints=("reps", "won_deals", "lost_deals"),
    )


def stalled_text(run: SalesRun, language: str) -> str:
    """How many open deals are stalled as of the run's last day (and how many could not be aged)."""
    s = run.stalled
    out = (
        t("sales.stalled", language, n=len(s.deals), as_of=date(s.as_of, language))
        if len(s.deals)
        else t("sales.stalled_none", language, as_of=date(s.as_of, language))
    )
    if s.not_aged:
        out += " " + t("sales.not_aged", language, n=s.not_aged)
    return out


def styled_stalled(run: SalesRun, currency: str, language: str, key: Any, show_raw: bool = False) -> Styler:
    """The most overdue stalled deals (at most :data:`STALLED_SHOWN`), accounts by pseudonym unless ``show_raw``."""
    from analysis.sales.run import stalled_list

    deals = run.stalled.deals.head(STALLED_SHOWN) if show_raw else stalled_list(run, key).head(STALLED_SHOWN)
    if not show_raw:  # the pseudonym where the account id was
        deals = (
            deals.assign(customer_id=deals["customer"])
            .drop(columns="customer")
            .rename(columns={"customer_id": "customer"})
        )
    return _labelled(
        deals,
        language,
        currency,
        money=("amount",),
        ints=("age_days",),
        decimals=("threshold_days",),
    )


def quality_text(run: SalesRun, language: str) -> str:
    """The row accounting of the CRM inputs (rows in, rows set aside with their reasons in the run folder)."""
    lines = [
        t("sales.quality_line", language, name=name, rows_in=q["rows_in"], rows_quarantined=q["rows_quarantined"])
        for name, q in run.data.quality.items()
    ]
    return t("sales.quality", language, lines="; ".join(lines))
