"""``reports/index.html``: every run as a periods × regions grid, with headline figures and a trend chart.

The page is built from what is on disk (each run folder's ``manifest.json`` and ``headline.json``), so
it lists the runs of earlier batches as well. It is self-contained: CSS and the chart (inline SVG)
are in the page, there is no script and no URL, so it opens from ``file://`` with no network.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.report.render import write_text_atomic

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")

TEXT = {
    "en": {
        "runs": "runs",
        "ok": "ok",
        "skipped": "ok · unchanged",
        "failed": "failed",
        "customers": "customers",
        "revenue": "revenue in period",
        "clv": "CLV total",
        "report": "report",
        "executed": "executed notebook",
        "period": "Period",
        "trend_revenue": "Revenue in the period",
        "trend_customers": "Customers",
        "all": "all regions",
        "cell": "cell",
    },
    "zh": {
        "runs": "次运行",
        "ok": "完成",
        "skipped": "完成 · 未变更",
        "failed": "失败",
        "customers": "客户数",
        "revenue": "本期收入",
        "clv": "CLV 合计",
        "report": "报告",
        "executed": "执行后的笔记本",
        "period": "期间",
        "trend_revenue": "本期收入",
        "trend_customers": "客户数",
        "all": "全部地区",
        "cell": "单元",
    },
}

INDEX_CSS = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; padding: 0 1em; }
h1 { font-size: 1.6em; } table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ddd; padding: 6px 10px; text-align: left; vertical-align: top;
         font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
.status { font-weight: bold; } .ok .status { color: #1a7f37; } .skipped .status { color: #57606a; }
.failed .status { color: #cf222e; } .failed { background: #fff5f5; }
.error { color: #cf222e; font-size: 0.9em; } .kpi { font-size: 0.9em; color: #444; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; margin: 1em 0 2em; }
.chart text { font-family: inherit; font-size: 11px; fill: #333; }
"""


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
    return f"{currency}{value:,.0f}"


def _region_order(entries: list[RunEntry]) -> list[str]:
    regions = sorted({e.region for e in entries})
    return (["all"] if "all" in regions else []) + [r for r in regions if r != "all"]


def _cell(e: RunEntry | None, currency: str, t: dict[str, str]) -> str:
    if e is None:
        return '<td class="none"></td>'
    parts = [f'<div class="status">{html.escape(t.get(e.status, e.status))}</div>']
    h = e.headline
    kpis = []
    if h.get("customers") is not None:
        kpis.append(f'{t["customers"]}: <span class="customers">{int(h["customers"]):,}</span>')
    revenue = h.get("revenue_period", h.get("revenue"))
    if revenue is not None:
        kpis.append(f'{t["revenue"]}: <span class="revenue">{_money(float(revenue), currency)}</span>')
    if h.get("clv_total") is not None:
        kpis.append(f'{t["clv"]}: <span class="clv">{_money(float(h["clv_total"]), currency)}</span>')
    if kpis and e.status != "failed":
        parts.append('<div class="kpi">' + "<br>".join(kpis) + "</div>")
    if e.status == "failed":
        where = e.failed_notebook + (f", {t['cell']} {e.failed_cell}" if e.failed_cell is not None else "")
        parts.append(f'<div class="error">{html.escape(where)}: {html.escape(e.error)}</div>')
    links = []
    if e.report:
        links.append(f'<a class="report" href="{html.escape(e.report)}">{t["report"]}</a>')
    if e.executed and e.status == "failed":
        links.append(f'<a class="executed" href="{html.escape(e.executed)}">{t["executed"]}</a>')
    if links:
        parts.append("<div>" + " · ".join(links) + "</div>")
    return (
        f'<td class="run {html.escape(e.status)}" data-period="{html.escape(e.period)}" '
        f'data-region="{html.escape(e.region)}">{"".join(parts)}</td>'
    )


def trend_chart(
    series: dict[str, list[float | None]], periods: list[str], title: str, fmt: str = "{:,.0f}", chart_id: str = ""
) -> str:
    """A small line chart as inline SVG: one line per series over ``periods``.

    Parameters
    ----------
    series : dict of str to list of float or None
        Values per period (``None`` where a run is missing or failed), keyed by the legend label.
    periods : list of str
        The x axis, oldest first.
    title : str
        Shown above the chart.
    fmt : str, default="{:,.0f}"
        Format of the axis labels.
    chart_id : str, optional
        The ``id`` of the ``<svg>`` element.
    """
    w, h, left, right, top, bottom = 540, 260, 70, 110, 28, 40
    values = [v for vs in series.values() for v in vs if v is not None]
    hi = max(values) if values else 1.0
    hi = hi if hi > 0 else 1.0
    step = 10 ** math.floor(math.log10(hi)) if hi > 0 else 1
    top_tick = math.ceil(hi / step) * step
    n = len(periods)

    def x(i: int) -> float:
        return left + (i + 0.5) * (w - left - right) / max(n, 1)

    def y(v: float) -> float:
        return top + (h - top - bottom) * (1 - v / top_tick)

    out = [
        f'<svg class="chart" id="{html.escape(chart_id)}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{html.escape(title)}">',
        f'<text x="{left}" y="16" style="font-weight:bold;font-size:13px">{html.escape(title)}</text>',
    ]
    for k in range(5):
        v = top_tick * k / 4
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{html.escape(fmt.format(v))}</text>')
    label_every = max(1, math.ceil(n / 8))
    for i, p in enumerate(periods):
        if i % label_every == 0 or i == n - 1:
            out.append(f'<text x="{x(i):.1f}" y="{h - bottom + 16}" text-anchor="middle">{html.escape(p)}</text>')
    for s, (label, vs) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        pts = [(x(i), y(v), v) for i, v in enumerate(vs) if v is not None]
        if len(pts) > 1:
            path = " ".join(f"{a:.1f},{b:.1f}" for a, b, _ in pts)
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{path}"/>')
        for a, b, v in pts:
            out.append(
                f'<circle cx="{a:.1f}" cy="{b:.1f}" r="3" fill="{color}"><title>{html.escape(label)}: '
                f"{html.escape(fmt.format(v))}</title></circle>"
            )
        ly = top + 14 * s + 6
        out.append(f'<rect x="{w - right + 10}" y="{ly - 8}" width="10" height="10" fill="{color}"/>')
        out.append(f'<text x="{w - right + 24}" y="{ly + 1}">{html.escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


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
    t = TEXT["zh" if language == "zh" else "en"]
    periods = sorted({e.period for e in entries})
    regions = _region_order(entries)
    by_key = {(e.period, e.region): e for e in entries}
    head = "".join(f"<th>{html.escape(t['all'] if r == 'all' else r)}</th>" for r in regions)
    rows = [
        f"<tr><th>{html.escape(p)}</th>" + "".join(_cell(by_key.get((p, r)), currency, t) for r in regions) + "</tr>"
        for p in periods
    ]

    def series(key: str, fallback: str | None = None) -> dict[str, list[float | None]]:
        out: dict[str, list[float | None]] = {}
        for r in regions:
            vals: list[float | None] = []
            for p in periods:
                e = by_key.get((p, r))
                v = None if e is None or e.status == "failed" else e.headline.get(key, e.headline.get(fallback or ""))
                vals.append(float(v) if isinstance(v, int | float) else None)
            if any(v is not None for v in vals):
                out[t["all"] if r == "all" else r] = vals
        return out

    charts = [
        trend_chart(series("revenue_period", "revenue"), periods, t["trend_revenue"], currency + "{:,.0f}", "trend"),
        trend_chart(series("customers"), periods, t["trend_customers"], "{:,.0f}", "trend-customers"),
    ]
    page = f"""<!DOCTYPE html>
<html lang="{"zh" if language == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title>
<style>{INDEX_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{len(entries)} {t["runs"]}</p>
<div class="charts">{"".join(charts)}</div>
<table id="runs"><thead><tr><th>{t["period"]}</th>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
    return write_text_atomic(Path(output_dir) / "index.html", page)
