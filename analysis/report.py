"""HTML reports: executed notebooks rendered without code, and the index page linking every run.

Code is hidden by our own exporter settings (input cells and prompts excluded), not by anyone's
JupyterLab configuration; cells tagged ``remove`` are dropped entirely, and script tags that would
fetch from the network (require.js, MathJax) are removed so a report opens from ``file://`` offline.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from analysis.io import atomic_path

_REMOTE_SCRIPT = re.compile(r"<script[^>]*src=\"https?://[^\"]*\"[^>]*>\s*</script>", re.IGNORECASE)
_MATHJAX_BLOCK = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.DOTALL)

EXTRA_CSS = """
<style>
  body { max-width: 1100px; margin: 0 auto; }
  .jp-Cell { padding: 2px 12px; }
  table.rfm-table, .jp-RenderedHTMLCommon table { font-variant-numeric: tabular-nums; }
  .rfm-nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: 8px 12px;
             font-family: sans-serif; font-size: 14px; z-index: 10; }
  .rfm-nav a { margin-right: 14px; text-decoration: none; }
  .rfm-nav a.current { font-weight: bold; text-decoration: underline; }
</style>
"""


def render_html(
    notebook_path: str | Path, html_path: str | Path, title: str, nav: list[tuple[str, str]] | None = None
) -> Path:
    """Render an executed notebook to a self-contained HTML file with no code.

    Parameters
    ----------
    notebook_path : path
        The executed notebook.
    html_path : path
        Where to write the HTML (atomically).
    title : str
        The page title.
    nav : list of (label, href), optional
        Links shown in a bar at the top (the run's other reports).
    """
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    from traitlets.config import Config

    cfg = Config()
    cfg.TagRemovePreprocessor.remove_cell_tags = {"remove", "parameters", "injected-parameters"}
    cfg.TagRemovePreprocessor.enabled = True
    cfg.HTMLExporter.exclude_input = True
    cfg.HTMLExporter.exclude_input_prompt = True
    cfg.HTMLExporter.exclude_output_prompt = True
    cfg.HTMLExporter.embed_images = True
    exporter = HTMLExporter(config=cfg, template_name="lab")
    exporter.register_preprocessor(TagRemovePreprocessor(config=cfg), enabled=True)
    nb = nbformat.read(str(notebook_path), as_version=4)
    for cell in nb.cells:  # stderr (warnings) is for analysts, not for report readers
        if cell.cell_type == "code":
            cell.outputs = [
                o
                for o in cell.get("outputs", [])
                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
            ]
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _MATHJAX_BLOCK.sub("", body)
    body = _REMOTE_SCRIPT.sub("", body)
    body = body.replace("</head>", EXTRA_CSS + "</head>", 1)
    if nav:
        current = Path(html_path).name
        links = " ".join(
            f'<a href="{html.escape(href)}"{" class=current" if href == current else ""}>{html.escape(label)}</a>'
            for label, href in nav
        )
        body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + f'\n<nav class="rfm-nav">{links}</nav>', body, count=1)
    with atomic_path(html_path) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return Path(html_path)


@dataclass
class RunEntry:
    """One row of the index page."""

    period: str
    region: str
    status: str
    reports: list[tuple[str, str]] = field(default_factory=list)  # (label, href relative to index)
    headline: dict[str, Any] = field(default_factory=dict)
    error: str = ""


INDEX_CSS = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", sans-serif; margin: 2em auto;
       max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 6px 10px; text-align: left; font-variant-numeric: tabular-nums; }
td.num { text-align: right; } th { background: #f4f4f4; }
.ok { color: #1a7f37; } .failed { color: #cf222e; font-weight: bold; } .skipped { color: #777; }
a { margin-right: 10px; }
"""


def write_index(
    output_dir: str | Path, title: str, entries: list[RunEntry], currency: str = "$", language: str = "en"
) -> Path:
    """Write ``output_dir/index.html``: every run with its status, headline figures and report links."""
    zh = language == "zh"
    head = (
        ["期间", "地区", "状态", "客户数", "收入", "报告"]
        if zh
        else ["Period", "Region", "Status", "Customers", "Revenue", "Reports"]
    )
    rows = []
    for e in sorted(entries, key=lambda e: (e.period, e.region != "all", e.region), reverse=False):
        status_cls = "ok" if e.status in ("ok", "skipped") else "failed"
        links = " ".join(f'<a href="{html.escape(h)}">{html.escape(label)}</a>' for label, h in e.reports)
        cust = e.headline.get("customers")
        rev = e.headline.get("revenue")
        err = f'<div class="failed">{html.escape(e.error)}</div>' if e.error else ""
        rows.append(
            f'<tr data-period="{html.escape(e.period)}" data-region="{html.escape(e.region)}">'
            f"<td>{html.escape(e.period)}</td><td>{html.escape(e.region)}</td>"
            f'<td class="{status_cls}">{html.escape(e.status)}{err}</td>'
            f'<td class="num">{"" if cust is None else f"{cust:,}"}</td>'
            f'<td class="num">{"" if rev is None else f"{currency}{rev:,.0f}"}</td>'
            f"<td>{links}</td></tr>"
        )
    page = f"""<!DOCTYPE html>
<html lang="{"zh" if zh else "en"}"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{INDEX_CSS}</style></head>
<body><h1>{html.escape(title)}</h1>
<p>{len(entries)} {"次运行" if zh else "runs"}</p>
<table id="runs"><thead><tr>{"".join(f"<th>{h}</th>" for h in head)}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></body></html>
"""
    path = Path(output_dir) / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
