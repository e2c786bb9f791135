"""The chart of "Did last period's actions work?": measured uplift per action against the playbook's assumption.

Titles, axes and legends come from the text catalog (``experiment.chart_*``).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from analysis import text
from analysis.report.plots.style import finish

#: Characters per line of an action's name on the chart (longer names wrap).
LABEL_WIDTH = 36


def plot_uplift(
    results: pd.DataFrame,
    ax: Axes | None = None,
    labels: Mapping[str, str] | None = None,
    language: str = "en",
) -> Axes:
    """Measured uplift in response rate per action (percentage points) with its 95 % interval, the playbook's
    assumed uplift beside it, and zero marked. An unreliable result (``reliable`` false, see
    :func:`analysis.strategy.experiment.with_reliability`) shows its interval dashed without a point, and "(not
    reliable)" under the action's name (the reason is in the tables' reliability column).

    Parameters
    ----------
    results : DataFrame
        :func:`analysis.strategy.experiment.measure_uplift` output (``action``, ``uplift``, ``uplift_ci_low``,
        ``uplift_ci_high``, ``assumed_uplift``, ``window_start``, ``window_end``).
    ax : Axes, optional
    labels : mapping of action id to str, optional
        Reader-facing action names; ids without one are shown as they are.
    language : {"en", "zh"}, default="en"

    Returns
    -------
    Axes
    """
    r = results.sort_values("uplift", na_position="first").reset_index(drop=True)
    names = labels or {}
    unreliable = ~r["reliable"].astype(bool) if "reliable" in r.columns else pd.Series(False, index=r.index)
    ticks = [
        textwrap.fill(str(names.get(a, a)), LABEL_WIDTH)
        + ("\n" + text.t("experiment.chart_unreliable", language) if u else "")
        for a, u in zip(r["action"], unreliable, strict=True)
    ]
    if ax is None:  # each row as tall as its longest label needs (a line of text ~0.19 in), at least 0.5 in
        row = max(0.5, 0.19 * max((label.count("\n") + 1 for label in ticks), default=1))
        ax = plt.subplots(figsize=(9, row * len(r) + 2.0), layout="constrained")[1]
    y = np.arange(len(r))
    measured = r["uplift"].to_numpy(dtype=float) * 100
    low = r["uplift_ci_low"].to_numpy(dtype=float) * 100
    high = r["uplift_ci_high"].to_numpy(dtype=float) * 100
    ok = np.isfinite(measured)
    reliable = r["reliable"].astype(bool).to_numpy() if "reliable" in r.columns else np.ones(len(r), dtype=bool)
    if (~reliable & ok).any():  # the interval only: no point estimate to read as a figure
        bad = ~reliable & ok
        ax.hlines(y[bad], low[bad], high[bad], color="#7f9fbf", linestyle="--")
        ok = ok & reliable
    ax.errorbar(
        measured[ok],
        y[ok],
        xerr=np.vstack([measured[ok] - low[ok], high[ok] - measured[ok]]),
        fmt="o",
        color="#1f4e79",
        ecolor="#7f9fbf",
        capsize=3,
        label=text.t("experiment.chart_measured", language),
    )
    ax.scatter(
        r["assumed_uplift"].to_numpy(dtype=float) * 100,
        y,
        marker="x",
        color="#c0504d",
        zorder=3,
        label=text.t("experiment.chart_assumed", language),
    )
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(y, ticks)
    ax.set_xlabel(text.t("experiment.chart_x", language))
    first = r["window_start"].iloc[0] if len(r) else ""
    last = r["window_end"].iloc[0] if len(r) else ""
    ax.set_title(text.t("experiment.chart_title", language, a=first, b=last), pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2, fontsize="small", frameon=False)
    finish(ax, language)
    return ax
