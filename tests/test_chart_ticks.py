"""Every chart's tick labels are distinct, readable and do not overlap (issue 22 item 4).

Each figure the kit draws (every public function of a module that imports matplotlib and returns an ``Axes`` or a
``Figure``) has cases in :data:`CASES`: small real-shaped data, including the awkward ranges — all zeros, one huge
value, a log axis over 0–100k, one customer. :func:`test_every_chart_has_cases` fails when a chart is added without
them. Each case is drawn with the report's style (Agg, 80 dpi) in English and Chinese, and every axis with numbers is
checked: no label twice (``$0 $0 $0``), no scientific notation or offset, the currency on money axes, and no two
labels' boxes (from the renderer) overlapping.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import math
import pkgutil
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axis import Axis
from matplotlib.figure import Figure

import analysis
from analysis.report.plots import clv as clv_plots
from analysis.report.plots import experiment as experiment_plots
from analysis.report.plots import rfm as rfm_plots
from analysis.report.plots import segmentation as seg_plots
from analysis.report.plots.style import use_report_style

RNG_SEED = 7
SEGMENTS = ["Champions", "Loyal Customers", "Potential Loyalists", "At Risk", "Hibernating", "Lost"]


def _figure(drawn: object) -> Figure:
    return drawn if isinstance(drawn, Figure) else drawn.figure  # type: ignore[union-attr]


# ----------------------------------------------------------------------------------------------------- the data


def _tx(months: int = 14, amount: Callable[[int], float] = lambda i: 100.0 + 37 * i) -> pd.DataFrame:
    days = pd.date_range("2023-11-01", periods=months, freq="MS") + pd.Timedelta(days=9)
    return pd.DataFrame({"order_date": days, "amount": [amount(i) for i in range(months)], "customer_id": "c1"})


def _customers(n: int, monetary: Callable[[np.ndarray], np.ndarray] | None = None) -> pd.DataFrame:
    rng = np.random.default_rng(RNG_SEED)
    scores = {c: rng.integers(1, 6, n) for c in ("r_score", "f_score", "m_score")}
    money = rng.lognormal(4, 1.2, n) if monetary is None else monetary(rng.lognormal(4, 1.2, n))
    return pd.DataFrame({**scores, "monetary": money}, index=pd.Index([f"c{i}" for i in range(n)], name="customer_id"))


def _group_summary(revenue: list[float], customers: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"customers": customers, "revenue": revenue}, index=SEGMENTS[: len(revenue)])


def _tracking(scale: float) -> pd.DataFrame:
    weeks = np.arange(1, 79)
    actual = np.cumsum(np.full(78, 3.0)) * scale
    t = pd.DataFrame(
        {"actual": np.full(78, 3.0) * scale, "actual_cumulative": actual, "expected_bgnbd": np.full(78, 2.9) * scale,
         "expected_cumulative_bgnbd": actual * 0.97, "in_calibration": weeks <= 39},
        index=pd.Index(weeks, name="period"),
    )  # fmt: skip
    t.attrs["time_unit"] = "W"
    return t


def _holdout(scale: float) -> pd.DataFrame:
    idx = pd.Index([0, 1, 2, 3, 4, 5, 6, "7+"], name="frequency_cal")
    return pd.DataFrame({"actual": np.linspace(0.1, 3, 8) * scale, "expected_bgnbd": np.linspace(0.2, 2.8, 8) * scale},
                        index=idx)  # fmt: skip


def _bgnbd() -> object:
    from analysis.clv.bgnbd import BGNBD
    from analysis.clv.simulate import simulate_bgnbd_summary

    summary = simulate_bgnbd_summary(300, r=0.25, alpha=4.0, a=0.8, b=2.5, T=39.0, seed=1)
    return BGNBD(n_starts=1).fit(summary, time_unit="W")


def _kpi_report(revenue: list[float]) -> pd.DataFrame:
    from analysis.customers.kpi import ALL

    idx = pd.Index([*SEGMENTS[: len(revenue)], ALL], name="segment")
    return pd.DataFrame({"revenue": [*revenue, sum(revenue)], "customers": [3] * (len(revenue) + 1)}, index=idx)


def _uplift(n: int, unreliable: tuple[int, ...] = ()) -> pd.DataFrame:
    rows = []
    for i in range(n):
        u = 0.02 * (i - 1)
        rows.append({"action": f"action_{i}", "uplift": u, "uplift_ci_low": u - 0.03, "uplift_ci_high": u + 0.03,
                     "assumed_uplift": 0.05, "window_start": "2024-12-01", "window_end": "2024-12-31",
                     "reliable": i not in unreliable,
                     "reliability": "not reliable: 1 order" if i in unreliable else ""})  # fmt: skip
    return pd.DataFrame(rows)


def _grid(counts: list[list[int]]) -> pd.DataFrame:
    from analysis.grading.satisfaction import BANDS

    n = pd.DataFrame([row[: len(BANDS)] + [0] * (len(BANDS) - len(row)) for row in counts],
                     index=pd.Index(["A", "B", "C"], name="abc_class"), columns=list(BANDS))  # fmt: skip
    return pd.concat({"customers": n, "spend": n * 10.0}, axis=1)


def _kano(n: int) -> pd.DataFrame:
    cats = ["M", "O", "A", "I", "R"]
    rng = np.random.default_rng(RNG_SEED)
    return pd.DataFrame(
        {"better": rng.uniform(0, 1, n), "worse": -rng.uniform(0, 1, n), "category": [cats[i % 5] for i in range(n)]},
        index=pd.Index([f"feature {i}" for i in range(n)], name="feature"),
    )


def _stage_counts(values: Callable[[int, int], int]) -> pd.DataFrame:
    stages = ["new", "active", "at_risk", "lost", "reactivated"]
    ends = pd.date_range("2024-07-31", periods=6, freq="ME")
    return pd.DataFrame([[values(i, j) for j in range(6)] for i in range(5)], index=stages, columns=ends)


def _cohorts(n: int) -> pd.DataFrame:
    idx = pd.period_range("2024-01", periods=n, freq="M").astype(str)
    data = [[1.0] + [max(0.0, 0.4 - 0.03 * k) if k < n - i else np.nan for k in range(1, n)] for i in range(n)]
    return pd.DataFrame(data, index=idx, columns=range(n))


#: chart -> {case id: (draw(language, currency) -> Axes or Figure, {axis: kind})}; axis ``x``/``y`` of the first
#: axes, ``1x`` of the second …; kinds: money (the currency on every label), number, percent, category (words:
#: distinct and not overlapping only). Every axis, named or not (colour bars too), is checked for repeats, scientific
#: notation, offsets and overlaps.
Case = tuple[Callable[[str, str], object], dict[str, str]]
# fmt: off
CASES: dict[str, dict[str, Case]] = {
    "rfm.quarantine_reasons": {
        "normal": (lambda lang, cur: rfm_plots.quarantine_reasons(
            {"reasons": {"bad_date": 120, "missing_customer_id": 40, "bad_amount": 3}}, language=lang),
            {"x": "number", "y": "category"}),
        "one huge": (lambda lang, cur: rfm_plots.quarantine_reasons(
            {"reasons": {"bad_date": 2_400_000, "bad_amount": 1}}, language=lang), {"x": "number"}),
        "zeros": (lambda lang, cur: rfm_plots.quarantine_reasons({"reasons": {"bad_date": 0}}, language=lang),
                  {"x": "number"}),
    },
    "rfm.monthly_revenue": {
        "normal": (lambda lang, cur: rfm_plots.monthly_revenue(_tx(), cur, language=lang), {"y": "money"}),
        "zeros": (lambda lang, cur: rfm_plots.monthly_revenue(_tx(amount=lambda i: 0.0), cur, language=lang),
                  {"y": "money"}),
        "one huge": (lambda lang, cur: rfm_plots.monthly_revenue(
            _tx(amount=lambda i: 25_000_000.0 if i == 5 else 12.0), cur, language=lang), {"y": "money"}),
        "one month": (lambda lang, cur: rfm_plots.monthly_revenue(_tx(1), cur, language=lang), {"y": "money"}),
        "small": (lambda lang, cur: rfm_plots.monthly_revenue(_tx(amount=lambda i: 0.5 + i / 10), cur, language=lang),
                  {"y": "money"}),
        "four years": (lambda lang, cur: rfm_plots.monthly_revenue(_tx(48), cur, language=lang), {"y": "money"}),
    },
    "rfm.score_distribution": {
        "normal": (lambda lang, cur: rfm_plots.score_distribution(_customers(500), language=lang), {"y": "number"}),
        "one customer": (lambda lang, cur: rfm_plots.score_distribution(_customers(1), language=lang),
                         {"y": "number"}),
    },
    "rfm.rf_heatmap": {
        "count": (lambda lang, cur: rfm_plots.rf_heatmap(_customers(500), "count", cur, language=lang), {}),
        "spend, one huge": (lambda lang, cur: rfm_plots.rf_heatmap(
            _customers(300, lambda m: np.where(np.arange(len(m)) == 0, 9e7, m)), "monetary", cur, language=lang), {}),
        "one customer": (lambda lang, cur: rfm_plots.rf_heatmap(_customers(1), "monetary", cur, language=lang), {}),
    },
    "rfm.segment_bars": {
        "normal": (lambda lang, cur: rfm_plots.segment_bars(
            _group_summary([52_000.0, 31_000.0, 9_000.0, 4_000.0, 800.0, 0.0], [120, 300, 410, 90, 600, 800]),
            cur, language=lang), {"x": "number", "1x": "money"}),
        "zeros": (lambda lang, cur: rfm_plots.segment_bars(_group_summary([0.0, 0.0], [0, 0]), cur, language=lang),
                  {"x": "number", "1x": "money"}),
        "one huge": (lambda lang, cur: rfm_plots.segment_bars(
            _group_summary([4.2e9, 10.0, 3.0], [1, 2_000_000, 3]), cur, language=lang), {"x": "number", "1x": "money"}),
        "one customer": (lambda lang, cur: rfm_plots.segment_bars(_group_summary([57.5], [1]), cur, language=lang),
                         {"x": "number", "1x": "money"}),
    },
    "clv.plot_clv_distribution": {
        "normal": (lambda lang, cur: clv_plots.plot_clv_distribution(
            pd.DataFrame({"clv": np.random.default_rng(1).lognormal(4, 1, 2000)}), language=lang, currency=cur),
            {"x": "money", "y": "number"}),
        # the report's broken axis: CLVs from a fraction of a cent to 100k on a log axis
        "log 0-100k": (lambda lang, cur: clv_plots.plot_clv_distribution(
            pd.DataFrame({"clv": np.r_[np.geomspace(1e-5, 1e5, 2000), 0.0]}), language=lang, currency=cur),
            {"x": "money", "y": "number"}),
        "zeros": (lambda lang, cur: clv_plots.plot_clv_distribution(
            pd.DataFrame({"clv": np.zeros(50)}), language=lang, currency=cur), {"x": "money", "y": "number"}),
        "one customer": (lambda lang, cur: clv_plots.plot_clv_distribution(
            pd.DataFrame({"clv": [431.25]}), language=lang, currency=cur), {"x": "money", "y": "number"}),
        "one huge": (lambda lang, cur: clv_plots.plot_clv_distribution(
            pd.DataFrame({"clv": np.r_[np.full(300, 20.0), 7.5e6]}), language=lang, currency=cur),
            {"x": "money", "y": "number"}),
    },
    "clv.plot_tracking": {
        "normal": (lambda lang, cur: clv_plots.plot_tracking(_tracking(1.0), language=lang),
                   {"x": "number", "y": "number"}),
        "large": (lambda lang, cur: clv_plots.plot_tracking(_tracking(5_000.0), language=lang),
                  {"x": "number", "y": "number"}),
        "zeros": (lambda lang, cur: clv_plots.plot_tracking(_tracking(0.0), language=lang),
                  {"x": "number", "y": "number"}),
    },
    "clv.plot_holdout_by_frequency": {
        "normal": (lambda lang, cur: clv_plots.plot_holdout_by_frequency(_holdout(1.0), language=lang),
                   {"x": "category", "y": "number"}),
        "zeros": (lambda lang, cur: clv_plots.plot_holdout_by_frequency(_holdout(0.0), language=lang),
                  {"y": "number"}),
    },
    "clv.plot_probability_alive_matrix": {
        "normal": (lambda lang, cur: clv_plots.plot_probability_alive_matrix(_bgnbd(), T=39, language=lang),
                   {"x": "number", "y": "number"}),
    },
    "segmentation.snake_plot": {
        "normal": (lambda lang, cur: seg_plots.snake_plot(pd.DataFrame(
            {"cluster": np.repeat([0, 1, 2], 3), "feature": ["recency_days", "frequency", "monetary"] * 3,
             "value": [-1.2, 0.4, 0.9, 0.3, -0.5, -0.2, 1.1, 0.1, -0.8]}), language=lang), {"y": "number"}),
        "zeros": (lambda lang, cur: seg_plots.snake_plot(pd.DataFrame(
            {"cluster": [0, 0, 0], "feature": ["recency_days", "frequency", "monetary"], "value": [0.0, 0.0, 0.0]}),
            language=lang), {"y": "number"}),
    },
    "segmentation.abc_pareto_plot": {
        "normal": (lambda lang, cur: seg_plots.abc_pareto_plot(_abc(500), language=lang),
                   {"x": "percent", "y": "percent"}),
        "one customer": (lambda lang, cur: seg_plots.abc_pareto_plot(_abc(1), language=lang),
                         {"x": "percent", "y": "percent"}),
    },
    "segmentation.migration_heatmap": {
        "normal": (lambda lang, cur: seg_plots.migration_heatmap(pd.DataFrame(
            np.arange(36).reshape(6, 6) * 7, index=SEGMENTS, columns=SEGMENTS), language=lang), {}),
        "shares": (lambda lang, cur: seg_plots.migration_heatmap(pd.DataFrame(
            np.full((6, 6), 1 / 6), index=SEGMENTS, columns=SEGMENTS), share=True, language=lang), {"1y": "percent"}),
    },
    "segmentation.cohort_heatmap": {
        "twelve": (lambda lang, cur: seg_plots.cohort_heatmap(_cohorts(12), language=lang), {"1y": "percent"}),
        "one": (lambda lang, cur: seg_plots.cohort_heatmap(_cohorts(1), language=lang), {}),
    },
    "segmentation.kpi_bar_chart": {
        "normal": (lambda lang, cur: seg_plots.kpi_bar_chart(
            _kpi_report([52_000.0, 31_000.0, 9_000.0, 4_000.0, 800.0, 0.0]), language=lang, currency=cur),
            {"x": "money"}),
        "zeros": (lambda lang, cur: seg_plots.kpi_bar_chart(_kpi_report([0.0, 0.0]), language=lang, currency=cur),
                  {"x": "money"}),
        "one huge": (lambda lang, cur: seg_plots.kpi_bar_chart(
            _kpi_report([3.3e9, 4.0, 2.0]), language=lang, currency=cur), {"x": "money"}),
        "counts": (lambda lang, cur: seg_plots.kpi_bar_chart(_kpi_report([1.0, 2.0]), "customers", language=lang),
                   {"x": "number"}),
    },
    "segmentation.lifecycle_chart": {
        "normal": (lambda lang, cur: seg_plots.lifecycle_chart(_stage_counts(lambda i, j: 40 * (i + 1) + 7 * j),
                                                               language=lang), {"y": "number"}),
        "zeros": (lambda lang, cur: seg_plots.lifecycle_chart(_stage_counts(lambda i, j: 0), language=lang),
                  {"y": "number"}),
        "one customer": (lambda lang, cur: seg_plots.lifecycle_chart(
            _stage_counts(lambda i, j: int(i == 1)), language=lang), {"y": "number"}),
    },
    "experiment.plot_uplift": {
        "normal": (lambda lang, cur: experiment_plots.plot_uplift(_uplift(5), language=lang), {"x": "number"}),
        "one": (lambda lang, cur: experiment_plots.plot_uplift(_uplift(1), language=lang), {"x": "number"}),
        # the report's crowded chart: long names, two results not reliable (a line more under the name)
        "not reliable": (lambda lang, cur: experiment_plots.plot_uplift(_uplift(14, unreliable=(4, 9)), labels={
            f"action_{i}": f"Personal call {i} by the account manager to fix what went wrong, before any offer"
            for i in range(14)}, language=lang), {"x": "number", "y": "category"}),
    },
    "grading.plots.plot_better_worse": {
        "normal": (lambda lang, cur: _grading().plot_better_worse(_kano(6), language=lang),
                   {"x": "number", "y": "number"}),
    },
    "grading.plots.plot_value_satisfaction": {
        "normal": (lambda lang, cur: _grading().plot_value_satisfaction(
            _grid([[12, 40, 3], [30, 80, 9], [200, 900, 40]]), language=lang), {}),
        "zeros": (lambda lang, cur: _grading().plot_value_satisfaction(_grid([[0] * 3] * 3), language=lang), {}),
    },
}
# fmt: on


def _abc(n: int) -> pd.DataFrame:
    from analysis.customers.tiers import abc_classes

    return abc_classes(_customers(n))


def _grading():
    from analysis.grading import plots

    return plots


# ---------------------------------------------------------------------------------------------- the checks

#: What a tick label may look like, per kind ({c}: the currency symbol).
PATTERNS = {
    "money": r"^-?{c}\d{{1,3}}(,\d{{3}})*(\.\d+)?[kMB]?$",
    "number": r"^-?\d{{1,3}}(,\d{{3}})*(\.\d+)?[kMB]?$",
    "percent": r"^-?\d+(\.\d+)?%$",
}


def _shown(axis: Axis) -> list:
    """The tick labels an axis draws: its major ticks inside the view, with text."""
    locs = axis.get_majorticklocs()
    lo, hi = sorted(axis.get_view_interval())
    tol = (hi - lo) * 1e-9 if hi > lo else 1e-12
    out = []
    for tick, loc in zip(axis.get_major_ticks(len(locs)), locs, strict=False):
        for label in (tick.label1, tick.label2):  # left/bottom or right/top (a colour bar's)
            if lo - tol <= loc <= hi + tol and label.get_visible() and label.get_text().strip():
                out.append(label)
                break
    return out


def _overlaps(labels: list, renderer, horizontal: bool) -> list[tuple[str, str]]:
    """Pairs of neighbouring labels whose boxes overlap. Rotated labels are parallel slanted boxes: they overlap
    when their anchors are closer along the axis than the text's height across the slant allows."""
    boxes = [(lab, lab.get_window_extent(renderer)) for lab in labels]
    boxes.sort(key=lambda b: b[1].x0 if horizontal else b[1].y0)
    bad = []
    for (a, ba), (b, bb) in itertools.pairwise(boxes):
        angle = math.radians(a.get_rotation() % 180)
        if horizontal and 0.1 < angle < math.pi - 0.1:
            lines = max(a.get_text().count("\n"), b.get_text().count("\n")) + 1
            height = lines * a.get_fontsize() * a.figure.dpi / 72
            gap = abs((bb.x0 + bb.x1) / 2 - (ba.x0 + ba.x1) / 2) * abs(math.sin(angle))
            if gap < 0.9 * height:
                bad.append((a.get_text(), b.get_text()))
        elif ba.overlaps(bb):
            bad.append((a.get_text(), b.get_text()))
    return bad


def check_ticks(fig: Figure, kinds: dict[str, str], currency: str) -> list[str]:
    """Everything wrong with the tick labels of ``fig`` (empty when they are fine)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    for i, ax in enumerate(fig.axes):
        colorbar = getattr(ax, "_colorbar", None)
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            labels = _shown(axis)
            if colorbar is not None and axis is not colorbar.long_axis and labels:
                problems.append(f"axes {i} {name}: a colour bar's short side labelled {[t.get_text() for t in labels]}")
            texts = [lab.get_text() for lab in labels]
            where = f"axes {i} {name}: {texts}"
            if len(set(texts)) < len(texts):
                problems.append(f"{where}: a label repeats")
            if any(re.search(r"\de[+-]?\d|\\mathdefault|\$\\", t) for t in texts):
                problems.append(f"{where}: scientific or mathtext notation")
            if axis.get_offset_text().get_visible() and axis.get_offset_text().get_text():
                problems.append(f"{where}: an offset ({axis.get_offset_text().get_text()}) the reader must apply")
            kind = kinds.get(name if i == 0 else f"{i}{name}")
            if kind in PATTERNS:
                pattern = PATTERNS[kind].format(c=re.escape(currency))
                wrong = [t for t in texts if not re.match(pattern, t.replace("\u2212", "-"))]
                if wrong:
                    problems.append(f"{where}: not {kind}: {wrong}")
            if kind and len(texts) < 2:
                problems.append(f"{where}: fewer than two labels on a {kind} axis")
            clash = _overlaps(labels, renderer, horizontal=name == "x")
            if clash:
                problems.append(f"{where}: overlapping {clash}")
    return problems


CURRENCY = {"en": "$", "zh": "¥"}
PARAMS = [(chart, case) for chart, cases in CASES.items() for case in cases]


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize(("chart", "case"), PARAMS, ids=[f"{c}-{k}".replace(" ", "_") for c, k in PARAMS])
def test_tick_labels_are_distinct_readable_and_apart(chart: str, case: str, language: str) -> None:
    draw, kinds = CASES[chart][case]
    with matplotlib.rc_context():
        use_report_style(language)
        fig = _figure(draw(language, CURRENCY[language]))
        try:
            problems = check_ticks(fig, kinds, CURRENCY[language])
        finally:
            plt.close("all")
    assert not problems, "\n".join(problems)


def _chart_functions() -> set[str]:
    """``module.function`` of every public function of the kit that draws a chart: defined in a module that imports
    matplotlib, returning an Axes or a Figure (or drawing one, as the grading views do)."""
    found = set()
    root = Path(analysis.__file__).parent
    for info in pkgutil.walk_packages([str(root)], "analysis."):
        path = root.joinpath(*info.name.split(".")[1:])
        source = path.with_suffix(".py") if path.with_suffix(".py").exists() else path / "__init__.py"
        if not source.exists() or "matplotlib" not in source.read_text(encoding="utf-8"):
            continue
        module = importlib.import_module(info.name)
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            returns = str(inspect.signature(fn).return_annotation)
            if "Axes" in returns or "Figure" in returns:
                found.add(f"{info.name.removeprefix('analysis.').removeprefix('report.plots.')}.{name}")
    return found


def test_every_chart_has_cases() -> None:
    """A new chart cannot land without tick-label cases here; the registry names no chart that is gone."""
    charts = _chart_functions()
    assert charts == set(CASES), f"add cases for {sorted(charts - set(CASES))}; drop {sorted(set(CASES) - charts)}"


def test_tick_formatter_by_hand() -> None:
    """The labels themselves: shared decimals per suffix on a linear axis, cents for small money, each decade its own
    decimals on a log axis (down to a fraction of a cent), words for no value twice, no '-0'."""
    from analysis.report.plots.style import TickFormatter

    money = TickFormatter("money", "$", "en")
    assert money.format_ticks([0, 250, 500, 750, 1000, 1250, 1500]) == [
        "$0", "$250", "$500", "$750", "$1.00k", "$1.25k", "$1.50k",
    ]  # fmt: skip
    assert money.format_ticks([0, 0.5, 1, 1.5]) == ["$0.00", "$0.50", "$1.00", "$1.50"]
    assert money.format_ticks([-1000, -0.0, 1000, 2000]) == ["-$1k", "$0", "$1k", "$2k"]
    assert money.format_ticks([0, 5e8, 1e9, 1.5e9]) == ["$0", "$500M", "$1.0B", "$1.5B"]
    assert TickFormatter("money", "¥", "zh").format_ticks([430.8, 431.0, 431.2]) == ["¥430.80", "¥431.00", "¥431.20"]
    assert TickFormatter("number").format_ticks([0, 500_000, 1_000_000, 1_500_000]) == ["0", "500,000", "1.0M", "1.5M"]
    assert TickFormatter("percent").format_ticks([0, 0.025, 0.05]) == ["0.0%", "2.5%", "5.0%"]
    fig, ax = plt.subplots()
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(money)
    assert money.format_ticks([1e-11, 1e-7, 1e-3, 10, 1e5]) == [
        "$0.00000000001",
        "$0.0000001",
        "$0.001",
        "$10",
        "$100k",
    ]
    plt.close(fig)
    with pytest.raises(ValueError, match="kind"):
        TickFormatter("money_short")
