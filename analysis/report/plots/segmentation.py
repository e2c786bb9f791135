"""Charts for segmentation and strategy. Each takes ``ax=None`` and returns the Axes.

No function calls ``plt.show()``; all work with the non-interactive Agg backend. Inputs are the
frames computed in :mod:`analysis.customers` (cluster, tiers, migration, cohorts, kpi and
lifecycle), so the charts only draw. Every function takes ``language=``: titles, axes and legends come
from the text catalog (``chart.*``) and segment, value-class and stage names are translated at display.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from analysis import text
from analysis.customers.kpi import ALL
from analysis.customers.segments import cluster_name_label
from analysis.customers.tiers import pareto_curve
from analysis.report.plots.style import TickFormatter, finish, format_axis

_MAX_ANNOTATED_CELLS = 200
#: KPI columns in currency (drawn with a money axis when a currency is given).
MONEY_METRICS: frozenset[str] = frozenset({"revenue", "aov", "gross_margin", "revenue_prev", "revenue_yoy"})


def _ax(ax: Axes | None, figsize: tuple[float, float] = (7, 4.5)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _names(values, language: str) -> list[str]:
    return [str(text.name(str(v), language)) for v in values]


def snake_plot(snake: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Mean standardised feature per cluster, one line per cluster.

    Parameters
    ----------
    snake : DataFrame
        Long frame with ``name`` (or ``cluster``), ``feature`` and ``value`` — the output of
        :meth:`analysis.customers.cluster.RFMClusterer.snake_data`.
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    data = snake.copy()
    if "name" in data.columns:
        data["name"] = [cluster_name_label(n, language) for n in data["name"]]
        hue = "name"
    else:
        hue = "cluster"
    data["feature"] = [text.column_label(f, language) for f in data["feature"]]
    sns.lineplot(data=data, x="feature", y="value", hue=hue, marker="o", sort=False, ax=ax)
    ax.axhline(0, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("")
    ax.set_ylabel(text.t("chart.snake_y", language))
    ax.set_title(text.t("chart.snake_title", language))
    ax.legend(title=text.t("chart.cluster", language), fontsize="small")
    finish(ax, language)
    return ax


def abc_pareto_plot(
    tiers: pd.DataFrame,
    thresholds: tuple[float, float] = (0.80, 0.95),
    ax: Axes | None = None,
    max_points: int = 200,
    language: str = "en",
) -> Axes:
    """Cumulative revenue share against cumulative customer share, with the A/B/C lines.

    Parameters
    ----------
    tiers : DataFrame
        Output of :func:`analysis.customers.tiers.abc_classes`.
    thresholds : tuple of float, default=(0.80, 0.95)
        Drawn as horizontal lines (use the ones the tiers were computed with).
    ax : Axes, optional
    max_points : int, default=200
        Points plotted on the curve.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    curve = pareto_curve(tiers, max_points=max_points)
    ax.plot(curve["customer_share"], curve["cum_share"], color="C0", lw=2, label=text.t("chart.pareto_curve", language))
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label=text.t("chart.pareto_equal", language))
    for t, lab in zip(thresholds, ("A", "B"), strict=True):
        ax.axhline(t, color="C3", lw=0.8, ls="--")
        ax.text(0.99, t, f"{lab} ≤ {t:.0%}", ha="right", va="bottom", fontsize="small", color="C3")
    for cls in ("A", "B"):
        sub = tiers[tiers["abc_class"] == cls]
        if len(sub):
            x = sub["rank"].max() / len(tiers)
            ax.axvline(x, color="grey", lw=0.6)
            ax.text(x, 0.02, f" {cls}: {x:.0%}", fontsize="small", rotation=90, va="bottom")
    format_axis(ax.xaxis, "percent", language=language)
    format_axis(ax.yaxis, "percent", language=language)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(text.t("chart.pareto_x", language))
    ax.set_ylabel(text.t("chart.pareto_y", language))
    ax.set_title(text.t("chart.pareto_title", language))
    ax.legend(loc="lower right", fontsize="small")
    finish(ax, language)
    return ax


def _heatmap(data: pd.DataFrame, ax: Axes, fmt: str, cmap: str, **kw: object) -> Axes:
    annot = data.size <= _MAX_ANNOTATED_CELLS
    sns.heatmap(data.astype(float), annot=annot, fmt=fmt, cmap=cmap, ax=ax, cbar=True, **kw)
    if fmt.endswith("%"):  # shares: the colour bar in percent too
        colorbar = ax.collections[-1].colorbar
        colorbar.formatter = TickFormatter("percent")
        colorbar.update_ticks()
    return ax


def migration_heatmap(
    matrix: pd.DataFrame, ax: Axes | None = None, *, share: bool = False, language: str = "en"
) -> Axes:
    """Previous (rows) × current (columns) migration matrix.

    Parameters
    ----------
    matrix : DataFrame
        ``counts``, ``revenue`` or ``shares`` of :class:`analysis.customers.migration.MigrationResult`.
    ax : Axes, optional
    share : bool, default=False
        Format cells as percentages (for ``shares``).

    Returns
    -------
    Axes
    """
    ax = _ax(ax, (9, 7))
    fmt = ".0%" if share else ",.0f"
    data = matrix.copy()
    data.index = _names(data.index, language)
    data.columns = _names(data.columns, language)
    _heatmap(data, ax, fmt, "Blues", linewidths=0.5)
    ax.set_xlabel(text.t("chart.migration_x", language))
    ax.set_ylabel(text.t("chart.migration_y", language))
    ax.set_title(text.t("chart.migration_title", language))
    finish(ax, language)
    return ax


def cohort_heatmap(
    retention: pd.DataFrame,
    ax: Axes | None = None,
    language: str = "en",
    data_days: tuple[pd.Timestamp | None, pd.Timestamp | None] | None = None,
) -> Axes:
    """Retention (fraction) by acquisition cohort (rows) and months since first purchase.

    Colours are scaled on months 1 and later (month 0 is 100 % by definition and saturates). With ``data_days``
    (the data's first and last day), a cell whose calendar month the data cover only in part (the last month
    when the data end inside it) is hatched, and a cohort month the data cover in part (the data's first month:
    its customers' first purchase in the data is not known to be their first) is labelled with its days
    ("1–9 Dec (partial)", :func:`analysis.window.partial_label`).

    Parameters
    ----------
    retention : DataFrame
        ``retention`` of :func:`analysis.customers.cohorts.cohort_table` (or ``counts``).
    ax : Axes, optional
    data_days : (Timestamp, Timestamp), optional
        The data's first and last day (the whole input's).

    Returns
    -------
    Axes
    """
    from matplotlib.patches import Rectangle

    from analysis.window import month_coverage, partial_label

    ax = _ax(ax, (10, 6))
    data = retention.copy()
    cohorts = [pd.Period(c, freq="M") for c in data.index]
    data.index = data.index.astype(str)
    values = data.to_numpy(dtype=float)
    is_share = bool(np.nanmax(values, initial=0) <= 1.0)
    # month 0 is 100 % (or the cohort size) by definition: scale the colours on later months
    later = values[:, 1:]
    vmax = float(np.nanmax(later)) if later.size and np.isfinite(later).any() else None
    _heatmap(data, ax, ".0%" if is_share else ".0f", "YlGnBu", vmin=0, vmax=vmax)
    if data_days is not None:
        rows = list(data.index)
        for i, cohort in enumerate(cohorts):
            covered = month_coverage(cohort, *data_days)
            if covered is not None:
                rows[i] = f"{data.index[i]} · {partial_label(covered, language)}"
            for j, m in enumerate(data.columns):
                if np.isnan(values[i, j]) or month_coverage(cohort + int(m), *data_days) is None:
                    continue
                ax.add_patch(Rectangle((j, i), 1, 1, fill=False, hatch="//", edgecolor="0.4", lw=0, gid="partial"))
        ax.set_yticks(np.arange(len(rows)) + 0.5, rows, rotation=0)
    ax.set_xlabel(text.t("chart.cohort_x", language))
    ax.set_ylabel(text.t("chart.cohort_y", language))
    ax.set_title(text.t("chart.cohort_title" if is_share else "chart.cohort_title_counts", language))
    finish(ax, language)
    return ax


def kpi_bar_chart(
    report: pd.DataFrame,
    metric: str = "revenue",
    ax: Axes | None = None,
    top: int = 20,
    language: str = "en",
    currency: str | None = None,
) -> Axes:
    """Horizontal bars of one KPI per group of a sales report (total row left out).

    Parameters
    ----------
    report : DataFrame
        Output of :func:`analysis.customers.kpi.sales_report`.
    metric : str, default="revenue"
        Column to draw.
    ax : Axes, optional
    top : int, default=20
        Largest groups shown.
    language : {"en", "zh"}, default="en"
    currency : str, optional
        Symbol or code for a money metric (``revenue``, ``aov``, ...): the axis shows ``$1.2k``.

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    r = report
    if isinstance(r.index, pd.MultiIndex):
        keep = [not all(v == ALL for v in i) for i in r.index]
        r = r[keep]
        labels = [" × ".join(_names(i, language)) for i in r.index]
    else:
        r = r[r.index != ALL]
        labels = _names(r.index, language)
    s = pd.Series(r[metric].to_numpy(dtype=float), index=labels).nlargest(top).iloc[::-1]
    ax.barh(s.index, s.to_numpy(), color="C0")
    shown = text.column_label(metric, language)
    ax.set_xlabel(shown)
    names = report.index.names if isinstance(report.index, pd.MultiIndex) else [report.index.name]
    by = " × ".join(text.column_label(n, language) for n in names)
    ax.set_title(text.t("chart.kpi_title", language, metric=shown, by=by))
    if metric.endswith(("_rate", "_share", "_pct", "_growth")):
        format_axis(ax.xaxis, "percent", language=language)
    elif currency is not None and metric in MONEY_METRICS:
        format_axis(ax.xaxis, "money", currency, language)
    finish(ax, language)
    return ax


def lifecycle_chart(stage_counts: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Stacked bars of customers per lifecycle stage at each period end.

    Parameters
    ----------
    stage_counts : DataFrame
        Output of :func:`analysis.customers.lifecycle.stage_counts` (stages × period ends).
    ax : Axes, optional

    Returns
    -------
    Axes
    """
    ax = _ax(ax)
    data = stage_counts.T
    data.index = [pd.Timestamp(i).strftime("%Y-%m-%d") for i in data.index]
    data.columns = _names(data.columns, language)
    data.plot(kind="bar", stacked=True, ax=ax, width=0.8)
    ax.set_xlabel(text.t("chart.lifecycle_x", language))
    ax.set_ylabel(text.t("chart.customers", language))
    ax.set_title(text.t("chart.lifecycle_title", language))
    ax.legend(title=text.t("chart.stage", language), fontsize="small")
    ax.tick_params(axis="x", labelrotation=45)
    finish(ax, language)
    return ax
