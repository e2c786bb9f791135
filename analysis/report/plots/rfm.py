"""Charts for cleaning and RFM scoring. Each takes ``ax=None`` and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from analysis.customers.segments import SEGMENT_ORDER, VALUE_CLASS_ORDER


def _ax(ax: Axes | None, size: tuple[float, float] = (8, 4)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def money_formatter(currency: str = "$") -> FuncFormatter:
    """Axis labels such as $1.2k / $3.4M."""

    def fmt(x: float, _pos: int | None = None) -> str:
        for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(x) >= div:
                return f"{currency}{x / div:,.1f}{suffix}"
        return f"{currency}{x:,.0f}"

    return FuncFormatter(fmt)


def quarantine_reasons(quality: dict, ax: Axes | None = None) -> Axes:
    """Bar chart of quarantined rows per reason."""
    ax = _ax(ax, (7, 3))
    s = pd.Series(quality["reasons"]).sort_values()
    sns.barplot(x=s.to_numpy(), y=s.index, ax=ax, color="tab:red", orient="h")
    ax.set(xlabel="rows set aside", ylabel="", title="Quarantined rows by reason")
    for i, v in enumerate(s.to_numpy()):
        ax.text(v, i, f" {v:,}", va="center")
    return ax


def monthly_revenue(transactions: pd.DataFrame, currency: str = "$", ax: Axes | None = None) -> Axes:
    """Revenue and active customers per calendar month."""
    ax = _ax(ax, (8, 3.5))
    month = transactions["order_date"].dt.to_period("M").astype(str)
    g = transactions.groupby(month).agg(revenue=("amount", "sum"), customers=("customer_id", "nunique"))
    ax.bar(g.index, g["revenue"], color="tab:blue", alpha=0.8)
    ax.yaxis.set_major_formatter(money_formatter(currency))
    ax.set(xlabel="", ylabel="revenue", title="Revenue per month")
    step = max(1, len(g) // 12)
    ax.set_xticks(range(0, len(g), step), g.index[::step], rotation=45, ha="right")
    return ax


def score_distribution(customers: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Customers per score (1–5) for R, F and M side by side."""
    ax = _ax(ax, (8, 3.5))
    long = pd.concat(
        [
            customers[c].value_counts().rename_axis("score").rename("customers").reset_index().assign(measure=m)
            for c, m in (("r_score", "R"), ("f_score", "F"), ("m_score", "M"))
        ]
    )
    sns.barplot(data=long, x="score", y="customers", hue="measure", ax=ax, order=[1, 2, 3, 4, 5])
    ax.set(title="How many customers get each score", xlabel="score (5 = best)")
    return ax


def rf_heatmap(customers: pd.DataFrame, value: str = "count", currency: str = "$", ax: Axes | None = None) -> Axes:
    """R × F grid: customers per cell (``value='count'``) or mean monetary (``value='monetary'``)."""
    ax = _ax(ax, (6, 4.5))
    if value == "count":
        grid = pd.crosstab(customers["r_score"], customers["f_score"])
        fmt, title = ",d", "Customers by recency (R) and frequency (F) score"
    else:
        grid = customers.pivot_table(index="r_score", columns="f_score", values="monetary", aggfunc="mean")
        fmt, title = ",.0f", f"Mean spend ({currency}) by R and F score"
    grid = grid.reindex(index=[5, 4, 3, 2, 1], columns=[1, 2, 3, 4, 5])
    if value == "count":
        grid = grid.fillna(0).astype(int)
    sns.heatmap(grid, annot=True, fmt=fmt, cmap="YlGnBu", cbar=False, ax=ax, linewidths=0.5)
    ax.set(xlabel="F score", ylabel="R score", title=title)
    return ax


def segment_bars(summary: pd.DataFrame, currency: str = "$", label: str = "segment") -> plt.Figure:
    """Two panels: customers and revenue per segment (``summary`` from :func:`segment_summary`)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 0.35 * len(summary) + 1.2), sharey=True)
    names = summary.index.astype(str)
    sns.barplot(x=summary["customers"].to_numpy(), y=names, ax=a1, color="tab:blue", orient="h")
    sns.barplot(x=summary["revenue"].to_numpy(), y=names, ax=a2, color="tab:green", orient="h")
    a1.set(xlabel="customers", ylabel="", title=f"Customers per {label}")
    a2.set(xlabel="revenue", ylabel="", title=f"Revenue per {label}")
    a2.xaxis.set_major_formatter(money_formatter(currency))
    fig.tight_layout()
    return fig


def order_like(index: pd.Index, kind: str) -> list[str]:
    """Segment or value-class names in their canonical order (unknown names last)."""
    order = SEGMENT_ORDER if kind == "segment" else VALUE_CLASS_ORDER
    known = [s for s in order if s in set(index)]
    return known + sorted(set(index) - set(known))
