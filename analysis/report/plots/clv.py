"""Plots of the CLV models (matplotlib). Each function takes ``ax=None`` and ``language=`` and returns the Axes.

Titles, axes and legends come from the text catalog (``chart.*``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from analysis import text
from analysis.clv._transaction import TransactionModel
from analysis.report.plots.style import finish, format_axis
from analysis.text import format as fmt

#: How the models are written (proper names, the same in every language).
MODEL_NAMES: dict[str, str] = {
    "bgnbd": "BG/NBD",
    "mbgnbd": "MBG/NBD",
    "pareto_nbd": "Pareto/NBD",
    "pareto": "Pareto/NBD",
}


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots(figsize=(7, 4))[1] if ax is None else ax


def _unit(unit: object, language: str) -> str:
    return text.label(f"chart.unit.{unit}", language, default=str(unit))


def _model_label(column: str, prefix: str, language: str) -> str:
    """``expected_bgnbd`` → "expected · bgnbd" in ``language`` (the model name stays as it is)."""
    model = column.removeprefix(prefix).strip("_")
    if model == "run_rate":  # the run-rate fallback, backtested beside the models (issue 18)
        model = text.t("clv_fit.method.run_rate", language)
    model = MODEL_NAMES.get(model, model.replace("_", " "))
    expected = text.t("chart.tracking_expected", language)
    return f"{expected} · {model}" if model else expected


def plot_tracking(
    tracking: pd.DataFrame, ax: Axes | None = None, cumulative: bool = True, language: str = "en"
) -> Axes:
    """Expected vs actual (cumulative) repeat purchases per period, with the calibration end marked.

    ``tracking`` is :func:`analysis.clv.validation.tracking_curve` output or ``CLVResult.tracking``
    (one ``expected*`` column per model).
    """
    ax = _axes(ax)
    suffix = "_cumulative" if cumulative else ""
    actual = "actual_cumulative" if cumulative else "actual"
    ax.plot(tracking.index, tracking[actual], color="black", label=text.t("chart.tracking_actual", language))
    for col in tracking.columns:
        if col.startswith("expected") and (("cumulative" in col) == cumulative):
            label = _model_label(col.replace(f"expected{suffix}", "expected"), "expected", language)
            ax.plot(tracking.index, tracking[col], linestyle="--", label=label)
    if "in_calibration" in tracking.columns and tracking["in_calibration"].any():
        ax.axvline(
            tracking.index[tracking["in_calibration"].to_numpy()].max(),
            color="grey",
            linestyle=":",
            label=text.t("chart.tracking_calibration_end", language),
        )
    unit = _unit(tracking.attrs.get("time_unit", "period"), language)
    ax.set_xlabel(text.t("chart.tracking_x", language, unit=unit))
    ax.set_ylabel(text.t("chart.tracking_y_cumulative" if cumulative else "chart.tracking_y", language))
    ax.legend()
    finish(ax, language)
    return ax


def plot_holdout_by_frequency(table: pd.DataFrame, ax: Axes | None = None, language: str = "en") -> Axes:
    """Mean actual vs expected holdout purchases per calibration-frequency bucket."""
    ax = _axes(ax)
    x = np.arange(len(table))
    ax.plot(x, table["actual"], marker="o", color="black", label=text.t("chart.tracking_actual", language))
    for col in table.columns:
        if col.startswith("expected") and not col.endswith("total"):
            ax.plot(x, table[col], marker="s", linestyle="--", label=_model_label(col, "expected", language))
    ax.set_xticks(x, [str(i) for i in table.index])
    ax.set_xlabel(text.t("chart.holdout_x", language))
    ax.set_ylabel(text.t("chart.holdout_y", language))
    ax.legend()
    finish(ax, language)
    return ax


def plot_probability_alive_matrix(
    model: TransactionModel,
    max_frequency: int | None = None,
    T: float | None = None,
    ax: Axes | None = None,
    language: str = "en",
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
    ax.figure.colorbar(image, ax=ax, label=text.t("chart.alive_colorbar", language))
    ax.set_xlabel(text.t("chart.alive_x", language, unit=_unit(model.time_unit_, language)))
    ax.set_ylabel(text.t("chart.alive_y", language))
    finish(ax, language)
    return ax


#: The smallest amount a money histogram draws (currency): a cent.
SMALLEST_AMOUNT = 0.01


def plot_clv_distribution(
    predictions: pd.DataFrame,
    column: str = "clv",
    ax: Axes | None = None,
    bins: int = 50,
    language: str = "en",
    currency: str | None = None,
) -> Axes:
    """Histogram of a per-customer prediction (log-spaced bins for positive values).

    With ``currency`` (for money columns such as ``clv``), the axis is labelled with its symbol and starts at
    :data:`SMALLEST_AMOUNT` (a cent): customers expected to bring less are counted in the first bar.
    """
    ax = _axes(ax)
    values = predictions[column].to_numpy(dtype=float)
    values = values[np.isfinite(values) & (values > 0)]
    if currency:  # a money axis ends at a cent: customers worth less are counted in the first bar, not dropped
        values = np.maximum(values, SMALLEST_AMOUNT)
    if values.size:
        edges = np.geomspace(values.min(), values.max(), bins) if values.max() > values.min() else bins
        ax.hist(values, bins=edges, color="steelblue")
        if values.max() > values.min():
            ax.set_xscale("log")
    # plain labels (the style turns mathtext off, so a log axis' default "10^3" would show as raw mathtext), money
    # ones for money columns, spaced so that they never run into each other (analysis.report.plots.style)
    format_axis(ax.xaxis, "money" if currency else "number", currency, language)
    shown = text.column_label(column, language)
    unit = fmt.currency_symbol(currency) if currency else None
    ax.set_xlabel(text.t("chart.with_unit", language, label=shown, unit=unit) if unit else shown)
    ax.set_ylabel(text.t("chart.customers", language))
    finish(ax, language)
    return ax
