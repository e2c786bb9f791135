"""The grading section's chart: KANO Better/Worse coefficients per feature. Text from the catalog (``grading.kano``)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from analysis import text
from analysis.report.plots.style import finish

COLORS = {"M": "#1f4e79", "O": "#2e8b57", "A": "#d2691e", "I": "#808080", "R": "#b22222", "Q": "#999999"}


def plot_better_worse(table: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Each feature at (|Worse|, Better), coloured by its KANO category, with the 0.5 lines that split the four
    quadrants (must-be: high |Worse|, low Better; performance: both high; attractive: high Better; indifferent:
    both low).

    Parameters
    ----------
    table : DataFrame
        :func:`analysis.grading.kano.kano_table` (index ``feature``; ``better``, ``worse``, ``category``).
    ax : Axes, optional
    language : {"en", "zh"}, default="en"
    """
    if ax is None:
        ax = plt.subplots(figsize=(7, 5.5), layout="constrained")[1]
    t = table.dropna(subset=["better", "worse"])
    for feature, row in t.iterrows():
        x, y = abs(float(row["worse"])), float(row["better"])
        ax.scatter([x], [y], s=60, color=COLORS.get(row["category"], "#333333"), zorder=3)
        label = f"{feature} ({text.t('grading.kano.' + row['category'], language)})"
        ax.annotate(label, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=9)
    ax.axhline(0.5, color="#cccccc", lw=1, zorder=1)
    ax.axvline(0.5, color="#cccccc", lw=1, zorder=1)
    ax.set_xlim(0, 1.05)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(text.t("grading.kano.worse_axis", language))
    ax.set_ylabel(text.t("grading.kano.better_axis", language))
    ax.set_title(text.t("grading.kano.chart_title", language))
    finish(ax, language)
    return ax


def plot_value_satisfaction(grid: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Customers per ABC tier (rows) × satisfaction band (columns), as a shaded grid with the counts written in.

    Parameters
    ----------
    grid : DataFrame
        :func:`analysis.grading.satisfaction.value_satisfaction_grid` (its ``customers`` block is drawn).
    ax : Axes, optional
    language : {"en", "zh"}, default="en"
    """
    counts = grid["customers"]
    if ax is None:
        ax = plt.subplots(figsize=(7, 3.2), layout="constrained")[1]
    values = counts.to_numpy(dtype=float)
    ax.imshow(values, cmap="Blues", aspect="auto")
    ax.grid(False)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{int(v):,}", ha="center", va="center", color="#000000" if v < values.max() / 2 else "#ffffff")
    ax.set_xticks(range(len(counts.columns)), [text.t(f"grading.band.{b}", language) for b in counts.columns])
    ax.set_yticks(range(len(counts.index)), [str(i) for i in counts.index])
    ax.set_ylabel(text.t("grading.column.abc_class", language))
    ax.set_title(text.t("grading.chart_value_satisfaction", language))
    finish(ax, language)
    return ax
