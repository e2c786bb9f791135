"""Charts for cleaning and RFM scoring. Each takes ``ax=None`` and ``language=``, and returns the Axes.

Titles, axes and legends come from the text catalog (``chart.*``); segment and value-class names are
translated at display, the data keep their canonical names. Money axes carry the currency symbol.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from analysis import text
from analysis.customers.segments import order_like
from analysis.report.plots.style import TickFormatter, finish, format_axis
from analysis.text import format as fmt
from analysis.window import month_coverage, partial_label

__all__ = [
    "money_formatter",
    "monthly_revenue",
    "order_like",
    "quarantine_reasons",
    "rf_heatmap",
    "score_distribution",
    "segment_bars",
]


def _ax(ax: Axes | None, size: tuple[float, float] = (8, 4)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def money_formatter(currency: str = "$", language: str = "en") -> TickFormatter:
    """Axis labels such as $250 / $1.5k / -$3.4M / ¥250: the kit's money tick labels
    (:class:`analysis.report.plots.style.TickFormatter`; :func:`~analysis.report.plots.style.format_axis` also spaces
    the ticks)."""
    return TickFormatter("money", currency, language)


def quarantine_reasons(quality: dict, ax: Axes | None = None, language: str = "en") -> Axes:
    """Bar chart of quarantined rows per reason (``quality.json`` of the cleaning step)."""
    ax = _ax(ax, (7, 3))
    s = pd.Series(quality["reasons"], dtype=float).sort_values()
    s.index = [text.label(f"quality.reason.{r}", language, default=str(r)) for r in s.index]
    sns.barplot(x=s.to_numpy(), y=list(s.index), ax=ax, color="tab:red", orient="h")
    ax.set(xlabel=text.t("chart.quarantine_x", language), ylabel="", title=text.t("chart.quarantine_title", language))
    for i, v in enumerate(s.to_numpy()):
        ax.text(v, i, f" {fmt.integer(v, language)}", va="center")
    finish(ax, language)
    return ax


def monthly_revenue(
    transactions: pd.DataFrame,
    currency: str = "$",
    ax: Axes | None = None,
    language: str = "en",
    data_days: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None,
) -> Axes:
    """Revenue per calendar month (bars), money on the axis.

    A month the data cover only in part (``data_days``: the data's first and last day, the whole input's; default
    the first and last purchase of ``transactions``) is drawn lighter and hatched, labelled with the days it holds
    ("1–9 Dec (partial)", :func:`analysis.window.partial_label`): its bar is not a whole month's revenue.
    """
    ax = _ax(ax, (8, 3.5))
    month = transactions["order_date"].dt.to_period("M").astype(str)
    g = transactions.groupby(month).agg(revenue=("amount", "sum"))
    bars = ax.bar(range(len(g)), g["revenue"], color="tab:blue", alpha=0.8)
    format_axis(ax.yaxis, "money", currency, language)
    ax.set(xlabel="", ylabel=text.t("chart.revenue", language), title=text.t("chart.monthly_revenue_title", language))
    if data_days is None:
        days = transactions["order_date"].dropna()
        data_days = (days.min(), days.max()) if len(days) else (None, None)
    labels = list(g.index)
    partial = set()
    for i, m in enumerate(g.index):
        covered = month_coverage(m, *data_days)
        if covered is not None:
            bars[i].set(alpha=0.35, hatch="//", edgecolor="tab:blue")
            labels[i] = f"{m} {partial_label(covered, language)}"  # one line: two would run into the next label
            partial.add(i)
    step = max(1, len(g) // 12)
    shown = sorted(set(range(0, len(g), step)) | partial)
    ax.set_xticks(shown, [labels[i] for i in shown], rotation=45, ha="right")
    finish(ax, language)
    return ax


def score_distribution(customers: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Customers per score (1–5) for R, F and M side by side."""
    ax = _ax(ax, (8, 3.5))
    long = pd.concat(
        [
            customers[c].value_counts().rename_axis("score").rename("customers").reset_index().assign(measure=m)
            for c, m in (("r_score", "R"), ("f_score", "F"), ("m_score", "M"))
        ]
    )
    sns.barplot(data=long, x="score", y="customers", hue="measure", ax=ax, order=[1, 2, 3, 4, 5])
    ax.set(
        title=text.t("chart.score_title", language),
        xlabel=text.t("chart.score_x", language),
        ylabel=text.t("chart.customers", language),
    )
    if ax.get_legend() is not None:
        ax.get_legend().set_title(text.t("chart.measure", language))
    finish(ax, language)
    return ax


def rf_heatmap(
    customers: pd.DataFrame,
    value: str = "count",
    currency: str = "$",
    ax: Axes | None = None,
    language: str = "en",
) -> Axes:
    """R × F grid: customers per cell (``value='count'``) or mean monetary (``value='monetary'``)."""
    ax = _ax(ax, (6, 4.5))
    if value == "count":
        grid = pd.crosstab(customers["r_score"], customers["f_score"])
        title = text.t("chart.rf_count_title", language)
    else:
        grid = customers.pivot_table(index="r_score", columns="f_score", values="monetary", aggfunc="mean")
        title = text.t("chart.rf_spend_title", language, currency=fmt.currency_symbol(currency))
    grid = grid.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])
    if value == "count":
        grid = grid.fillna(0).astype(int)
    sns.heatmap(grid, annot=True, fmt=",.0f", cmap="YlGnBu", cbar=False, ax=ax, linewidths=0.5)
    ax.set(xlabel=text.t("chart.f_score", language), ylabel=text.t("chart.r_score", language), title=title)
    ax.tick_params(axis="y", labelrotation=0)
    finish(ax, language)
    return ax


def segment_bars(
    summary: pd.DataFrame, currency: str = "$", label: str = "segment", language: str = "en"
) -> plt.Figure:
    """Two panels: customers and revenue per group (``summary``: :func:`analysis.customers.summaries.group_summary`).

    ``label`` is the grouping column (``segment`` or ``value_class``), named in the titles; the group
    names (canonical data values) are shown in ``language``.
    """
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 0.35 * len(summary) + 1.2), sharey=True)
    names = [str(text.name(str(i), language)) for i in summary.index]
    sns.barplot(x=summary["customers"].to_numpy(), y=names, ax=a1, color="tab:blue", orient="h")
    sns.barplot(x=summary["revenue"].to_numpy(), y=names, ax=a2, color="tab:green", orient="h")
    group = text.column_label(label.replace(" ", "_"), language)
    a1.set(xlabel=text.t("chart.customers", language), ylabel="",
           title=text.t("chart.per_group_customers", language, group=group))  # fmt: skip
    a2.set(xlabel=text.t("chart.revenue", language), ylabel="",
           title=text.t("chart.per_group_revenue", language, group=group))  # fmt: skip
    format_axis(a2.xaxis, "money", currency, language)
    finish(fig, language)
    fig.tight_layout()
    return fig
