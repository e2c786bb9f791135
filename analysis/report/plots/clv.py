"""Plots of the CLV models (matplotlib). Each function takes ``ax=None`` and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from analysis.clv._transaction import TransactionModel


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots(figsize=(7, 4))[1] if ax is None else ax


def plot_tracking(tracking: pd.DataFrame, ax: Axes | None = None, cumulative: bool = True) -> Axes:
    """Expected vs actual (cumulative) repeat purchases per period, with the calibration end marked.

    ``tracking`` is :func:`analysis.clv.validation.tracking_curve` output or ``CLVResult.tracking``
    (one ``expected*`` column per model).
    """
    ax = _axes(ax)
    suffix = "_cumulative" if cumulative else ""
    actual = "actual_cumulative" if cumulative else "actual"
    ax.plot(tracking.index, tracking[actual], color="black", label="actual")
    for col in tracking.columns:
        if col.startswith("expected") and (("cumulative" in col) == cumulative):
            label = col.replace(f"expected{suffix}", "expected").replace("_", " ").strip()
            ax.plot(tracking.index, tracking[col], linestyle="--", label=label)
    if "in_calibration" in tracking.columns and tracking["in_calibration"].any():
        ax.axvline(
            tracking.index[tracking["in_calibration"].to_numpy()].max(),
            color="grey",
            linestyle=":",
            label="calibration end",
        )
    unit = tracking.attrs.get("time_unit", "period")
    ax.set_xlabel(f"time since the first purchase of the cohort ({unit})")
    ax.set_ylabel("cumulative repeat purchases" if cumulative else "repeat purchases")
    ax.legend()
    return ax


def plot_holdout_by_frequency(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Mean actual vs expected holdout purchases per calibration-frequency bucket."""
    ax = _axes(ax)
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color="black", label="actual")
    for col in table.columns:
        if col.startswith("expected") and not col.endswith("total"):
            ax.plot(x, table[col], marker="s", linestyle="--", label=col.replace("_", " "))
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("mean repeat purchases in the holdout")
    ax.legend()
    return ax


def plot_probability_alive_matrix(
    model: TransactionModel, max_frequency: int | None = None, T: float | None = None, ax: Axes | None = None
) -> Axes:
    """Heat map of P(alive) by frequency (rows) and t_x (columns) for customers of age ``T``."""
    ax = _axes(ax)
    T = 52.0 if T is None else float(T)
    max_frequency = 20 if max_frequency is None else int(max_frequency)
    xs = np.arange(max_frequency + 1)
    tx = np.linspace(0, T, 40)
    grid = pd.DataFrame({"frequency": np.repeat(xs, len(tx)), "t_x": np.tile(tx, len(xs)), "T": T})
    grid.loc[grid["frequency"] == 0, "t_x"] = 0.0
    p = model.conditional_probability_alive(grid).to_numpy().reshape(len(xs), len(tx))
    image = ax.imshow(
        p,
        origin="lower",
        aspect="auto",
        extent=(0, T, -0.5, max_frequency + 0.5),
        vmin=0,
        vmax=1,
        cmap="viridis",
    )
    ax.figure.colorbar(image, ax=ax, label="P(alive)")
    ax.set_xlabel(f"t_x, time of the last purchase ({model.time_unit_})")
    ax.set_ylabel("frequency (repeat purchases)")
    return ax


def plot_clv_distribution(
    predictions: pd.DataFrame, column: str = "clv", ax: Axes | None = None, bins: int = 50
) -> Axes:
    """Histogram of a per-customer prediction (log-spaced bins for positive values)."""
    ax = _axes(ax)
    values = predictions[column].to_numpy(dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size:
        edges = np.geomspace(values.min(), values.max(), bins) if values.max() > values.min() else bins
        ax.hist(values, bins=edges, color="steelblue")
        if values.max() > values.min():
            ax.set_xscale("log")
    ax.set_xlabel(column)
    ax.set_ylabel("customers")
    return ax
