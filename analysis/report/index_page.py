"""``reports/index.html``: every run as a periods × regions grid, with headline figures and a trend chart.

The page is built from what is on disk (each run folder's ``manifest.json`` and ``headline.json``), so
it lists the runs of earlier batches as well. It is rendered from the Jinja2 template
``templates/index.html.j2`` with autoescaping on, so every value (region names, errors, links) is
escaped. It is self-contained: CSS and the charts (inline SVG) are in the page, there is no script and
no URL, and a Content-Security-Policy forbids any fetch, so it opens from ``file://`` with no network.

Each figure names its window (``headline.json``, written by :func:`analysis.stages.summary`): *customers who
bought this period* (``buyers``) beside *customers to date* (everyone scored, all history up to the period's
end, ``customers``); *revenue this period* (``revenue_period``) beside the same *without flagged orders*
(``revenue_unflagged``, the purchases cleaning flagged as outliers left out); a period the data ends inside
says *data to 2011-12-09 (9 of 31 days)*. The trend charts draw the same figures. One page shows one language
and one currency: a run whose ``headline.json`` names another is left out (and logged).
"""

from __future__ import annotations

import logging
import math
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from analysis import text
from analysis.data.io import write_text
from analysis.regions import ALL_REGIONS, region_name
from analysis.report.render import CSP, TEMPLATES
from analysis.text import format as fmt

log = logging.getLogger(__name__)

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")

#: The page's words: keys of the ``index.*`` section of the text catalog (analysis/text/<language>.yaml).
TEXT_KEYS: tuple[str, ...] = (
    "runs", "ok", "skipped", "failed", "customers", "revenue", "clv", "report", "executed", "period",
    "trend_revenue", "trend_customers", "all", "cell", "buyers", "revenue_unflagged", "data_to", "trend_unflagged",
    "folder",
)  # fmt: skip


@dataclass
class RunEntry:
    """One run on the index page; hrefs are relative to the index."""

    period: str
    region: str
    status: str  # ok | skipped | failed
    report: str | None = None
    executed: str | None = None
    headline: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    failed_notebook: str = ""
    failed_cell: int | None = None


def _money(value: float, currency: str) -> str:
    return fmt.money(value, currency)


def _region_order(entries: list[RunEntry]) -> list[str]:
    regions = sorted({e.region for e in entries})
    return ([ALL_REGIONS] if ALL_REGIONS in regions else []) + [r for r in regions if r != ALL_REGIONS]


def _labels(language: str) -> dict[str, str]:
    """The page's words in ``language`` (from the text catalog)."""
    return {key: text.t(f"index.{key}", language) for key in TEXT_KEYS}


def _run_folder(e: RunEntry) -> str | None:
    """The run's folder relative to the index (``<period>/<folder>/``), from its report or executed notebook."""
    if e.report:
        return posixpath.dirname(e.report) + "/"
    if e.executed:
        return posixpath.dirname(posixpath.dirname(e.executed)) + "/"
    return None


def _clv_value(e: RunEntry, before: RunEntry | None, currency: str, language: str) -> str:
    """The CLV total with the method beside it, flagged when the run before it (same region, the period before on
    the page) used another method: the two totals are not comparable."""
    h = e.headline
    value = _money(float(h["clv_total"]), currency)
    name = h.get("clv_method_name")
    if not name:
        return value
    shown = text.t("index.clv_method", language, value=value, method=name)
    prev = {} if before is None or before.status == "failed" else before.headline
    if prev.get("clv_method") and h.get("clv_method") and prev["clv_method"] != h["clv_method"]:
        shown += " " + text.t(
            "index.clv_method_changed", language, before=prev.get("clv_method_name") or prev["clv_method"],
            period=before.period,
        )  # fmt: skip
    return shown


def _cell(e: RunEntry, currency: str, t: dict[str, str], before: RunEntry | None = None) -> dict[str, Any]:
    """What the template shows for one run: status, headline figures, error and links (unescaped values);
    ``before`` is the same region's run of the period before on the page (for the CLV method flag)."""
    h = e.headline
    kpis = []
    if e.status != "failed":
        if h.get("data_end") is not None and h.get("days") is not None and h.get("days") != h.get("period_days"):
            days = text.t("index.days_of", t["language"], days=h["days"], period_days=h["period_days"])
            kpis.append({"key": "data-to", "label": t["data_to"], "value": f"{h['data_end']} ({days})"})
        if h.get("buyers") is not None:
            kpis.append({"key": "buyers", "label": t["buyers"], "value": f"{int(h['buyers']):,}"})
        if h.get("customers") is not None:
            kpis.append({"key": "customers", "label": t["customers"], "value": f"{int(h['customers']):,}"})
        if h.get("revenue_period") is not None:
            value = _money(float(h["revenue_period"]), currency)
            kpis.append({"key": "revenue", "label": t["revenue"], "value": value})
        if h.get("flagged_orders") and h.get("revenue_unflagged") is not None:
            value = _money(float(h["revenue_unflagged"]), currency)
            kpis.append({"key": "revenue-unflagged", "label": t["revenue_unflagged"], "value": value})
        if h.get("clv_total") is not None:
            kpis.append({"key": "clv", "label": t["clv"], "value": _clv_value(e, before, currency, t["language"])})
    error = ""
    if e.status == "failed":
        where = e.failed_notebook + (f", {t['cell']} {e.failed_cell}" if e.failed_cell is not None else "")
        error = f"{where}: {e.error}"
    links = []
    if e.report:
        links.append({"kind": "report", "href": e.report, "label": t["report"]})
    if e.executed and e.status == "failed":
        links.append({"kind": "executed", "href": e.executed, "label": t["executed"]})
    folder = _run_folder(e)
    if folder:  # the run's folder: its CSV files, CRM lists and executed notebooks
        links.append({"kind": "folder", "href": folder, "label": t["folder"]})
    return {
        "status": e.status,
        "status_label": t.get(e.status, e.status),
        "period": e.period,
        "region": region_name(e.region),  # as written: 'all' for all regions together
        "kpis": kpis,
        "error": error,
        "links": links,
    }


def _same_page(e: RunEntry, currency: str, language: str) -> bool:
    """Whether run ``e`` belongs on a page in ``currency`` and ``language`` (its ``headline.json`` says which;
    a run without them, or a failed run, is kept)."""
    h = e.headline
    other = (h.get("currency") not in (None, currency)) or (h.get("language") not in (None, language))
    if other:
        log.warning(
            "index: run %s/%s left out: its figures are in %s/%s, the page in %s/%s",
            e.period, region_name(e.region), h.get("currency"), h.get("language"), currency, language,
        )  # fmt: skip
    return not other


@dataclass
class TrendChart:
    """The geometry of a small line chart (pixels), drawn by the ``trend_chart`` macro of the templates."""

    chart_id: str
    title: str
    width: int
    height: int
    left: int
    plot_right: int
    x_label_y: int
    y_ticks: list[dict[str, Any]]
    x_ticks: list[dict[str, Any]]
    lines: list[dict[str, Any]]


def _count(value: float) -> str:
    """An axis label for a count: ``1,234``."""
    return f"{value:,.0f}"


def trend_chart_data(
    series: dict[str, list[float | None]],
    periods: list[str],
    title: str,
    label: Callable[[float], str] = _count,
    chart_id: str = "",
    partial: dict[str, str] | None = None,
) -> TrendChart:
    """Lay out a line chart: one line per series over ``periods`` (see :func:`trend_chart`).

    ``partial``: period -> its partial-period label ("1–9 Dec (partial)"): such a period's tick carries the label on
    a second line (always shown) and its points are drawn hollow, with the label in their tooltip.
    """
    partial = partial or {}
    w, h, left, right, top, bottom = 540, 260, 70, 110, 28, 40
    values = [v for vs in series.values() for v in vs if v is not None]
    hi = max(values) if values else 1.0
    hi = hi if hi > 0 else 1.0
    step = 10 ** math.floor(math.log10(hi))
    top_tick = math.ceil(hi / step) * step
    n = len(periods)

    def x(i: int) -> float:
        return left + (i + 0.5) * (w - left - right) / max(n, 1)

    def y(v: float) -> float:
        return top + (h - top - bottom) * (1 - v / top_tick)

    y_ticks = []
    for k in range(5):
        v = top_tick * k / 4
        y_ticks.append({"y": f"{y(v):.1f}", "label_y": f"{y(v) + 4:.1f}", "label": label(v)})
    label_every = max(1, math.ceil(n / 8))
    x_ticks = [
        {"x": f"{x(i):.1f}", "label": p, "partial": partial.get(p, "")}
        for i, p in enumerate(periods)
        if i % label_every == 0 or i == n - 1 or p in partial
    ]
    lines = []
    for s, (name, vs) in enumerate(series.items()):
        pts = [
            {"x": f"{x(i):.1f}", "y": f"{y(v):.1f}", "label": label(v), "partial": partial.get(periods[i], "")}
            for i, v in enumerate(vs)
            if v is not None
        ]
        lines.append(
            {
                "label": name,
                "color": PALETTE[s % len(PALETTE)],
                "points": pts,
                "polyline": " ".join(f"{p['x']},{p['y']}" for p in pts),
                "legend_y": top + 14 * s + 6,
            }
        )
    return TrendChart(chart_id, title, w, h, left, w - right, h - bottom + 16, y_ticks, x_ticks, lines)


@cache
def environment() -> jinja2.Environment:
    """The Jinja2 environment of rfmkit's own templates: autoescaping on for every template."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def trend_chart(
    series: dict[str, list[float | None]],
    periods: list[str],
    title: str,
    label: Callable[[float], str] = _count,
    chart_id: str = "",
) -> Markup:
    """A small line chart as inline SVG: one line per series over ``periods``.

    Parameters
    ----------
    series : dict of str to list of float or None
        Values per period (``None`` where a run is missing or failed), keyed by the legend label.
    periods : list of str
        The x axis, oldest first.
    title : str
        Shown above the chart.
    label : callable, default: a count with thousands separators
        The text of an axis or point label for a value (a function, never a format template: a currency such as
        ``{}`` written in the params is text, not a placeholder).
    chart_id : str, optional
        The ``id`` of the ``<svg>`` element.
    """
    macro = environment().get_template("trend_chart.svg.j2").module.trend_chart  # type: ignore[attr-defined]
    return Markup(macro(trend_chart_data(series, periods, title, label, chart_id)))


def _partial_periods(entries: list[RunEntry], periods: list[str], language: str) -> dict[str, str]:
    """Period -> its partial-period label ("1–9 Dec (partial)", :func:`analysis.window.partial_label`) for every
    period the data cover in part, by the data's first and last day in the runs' ``headline.json``."""
    from analysis.window import month_coverage, partial_label

    out: dict[str, str] = {}
    for p in periods:
        for e in entries:
            h = e.headline
            if e.period != p or (h.get("data_start") is None and h.get("data_end") is None):
                continue
            covered = month_coverage(p, h.get("data_start"), h.get("data_end"))
            if covered is not None:
                out[p] = partial_label(covered, language)
            break
    return out


def write_index(
    output_dir: str | Path, title: str, entries: list[RunEntry], currency: str = "$", language: str = "en"
) -> Path:
    """Write ``output_dir/index.html``: the periods × regions grid and the trend charts.

    Parameters
    ----------
    output_dir : path
        The reports folder.
    title : str
        The page title.
    entries : list of RunEntry
        Every run to show.
    currency : str, default="$"
        Prefix of money figures.
    language : {"en", "zh"}, default="en"
        Language of the page's labels.

    Returns
    -------
    Path
        The index file.
    """
    t = _labels(language) | {"language": language}
    t["runs"] = text.t("index.runs", language, n=len(entries))  # "1 run", "3 runs" (the catalog's plural)
    entries = [e for e in entries if _same_page(e, currency, language)]
    periods = sorted({e.period for e in entries})
    regions = _region_order(entries)
    by_key = {(e.period, e.region): e for e in entries}

    def shown(region: str) -> str:
        return t["all"] if region == ALL_REGIONS else region

    def series(key: str) -> dict[str, list[float | None]]:
        out: dict[str, list[float | None]] = {}
        for r in regions:
            vals: list[float | None] = []
            for p in periods:
                e = by_key.get((p, r))
                v = None if e is None or e.status == "failed" else e.headline.get(key)
                vals.append(float(v) if isinstance(v, int | float) else None)
            if any(v is not None for v in vals):
                out[shown(r)] = vals
        return out

    def money_axis(value: float) -> str:
        return fmt.money(value, currency, language)

    partial = _partial_periods(entries, periods, language)
    charts = [trend_chart_data(series("revenue_period"), periods, t["trend_revenue"], money_axis, "trend", partial)]
    if any(e.headline.get("flagged_orders") for e in entries):  # beside the totals when some orders are flagged
        unflagged = series("revenue_unflagged")
        charts.append(
            trend_chart_data(unflagged, periods, t["trend_unflagged"], money_axis, "trend-unflagged", partial)
        )
    charts.append(trend_chart_data(series("buyers"), periods, t["trend_customers"], _count, "trend-customers", partial))
    rows = [
        {
            "period": p,
            "cells": [
                _cell(by_key[(p, r)], currency, t, by_key.get((periods[i - 1], r)) if i else None)
                if (p, r) in by_key
                else None
                for r in regions
            ],
        }
        for i, p in enumerate(periods)
    ]
    page = (
        environment()
        .get_template("index.html.j2")
        .render(
            language=text.check_language(language),
            csp=CSP,
            title=title,
            n_runs=len(entries),
            text=t,
            regions=[shown(r) for r in regions],
            rows=rows,
            charts=charts,
        )
    )
    return write_text(page, Path(output_dir) / "index.html")
