"""One HTML report per run: the executed notebooks merged into a single document, without code.

The executive summary comes first, then the cleaning, scoring, segmentation and strategy sections,
each behind an in-page anchor (``#sec-<notebook>``) linked from a sticky navigation bar.

Code is hidden by our own exporter settings (input cells and prompts excluded), not by anyone's
JupyterLab configuration. Cells tagged ``remove``, ``parameters`` or ``injected-parameters`` are
dropped, and so are cells tagged ``lang-<xx>`` for any language other than the report's. Every
``<script>`` (require.js, MathJax, mermaid from CDNs) and every comment in the template's CSS is
removed, so a report is self-contained: images and CSS inline, no URL of any kind, opens from
``file://`` with no network.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import nbformat

#: Section labels (en, zh) of the notebooks, for the navigation bar and the index.
SECTION_TITLES: dict[str, tuple[str, str]] = {
    "05_summary": ("Summary", "管理摘要"),
    "01_cleaning": ("Data quality", "数据质量"),
    "02_scoring": ("RFM scores", "RFM 评分"),
    "03_segmentation": ("Segments", "客户分群"),
    "04_strategy": ("Strategy", "策略建议"),
}
#: Notebooks shown before the others whatever their execution order (the summary runs last).
SHOWN_FIRST: tuple[str, ...] = ("05_summary",)
REMOVE_TAGS = frozenset({"remove", "parameters", "injected-parameters", "rfmkit-error"})
REPORT_NAME = "report.html"

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script>", re.IGNORECASE | re.DOTALL)
_REMOTE_LINK = re.compile(r"<link\b[^>]*href=\"https?://[^\"]*\"[^>]*>", re.IGNORECASE)
_STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.IGNORECASE | re.DOTALL)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_SVG_PROLOGUE = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE svg[^>]*>", re.IGNORECASE)
_XMLNS = re.compile(r"\s+xmlns(?::\w+)?=\"http://www\.w3\.org/[^\"]*\"")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,16}")
_STYLER_ID = re.compile(r"\bT_([0-9a-f]{5})(?=[_\"'\s,{:.>)\\])")

EXTRA_CSS = """
<style>
  body { max-width: 1100px; margin: 0 auto; }
  .jp-Cell { padding: 2px 12px; }
  table.rfm-table, .jp-RenderedHTMLCommon table { font-variant-numeric: tabular-nums; }
  .rfm-nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: 8px 12px;
             font-family: sans-serif; font-size: 14px; z-index: 10; }
  .rfm-nav a { margin-right: 14px; text-decoration: none; }
  .rfm-nav .rfm-doc-title { font-weight: bold; margin-right: 18px; }
  .rfm-anchor { scroll-margin-top: 48px; border-top: 3px solid #e5e5e5; margin: 28px 12px 0; }
  .rfm-failed { color: #cf222e; font-weight: bold; border: 2px solid #cf222e; padding: 8px 12px; margin: 12px; }
  .jp-RenderedImage img { max-width: 100%; height: auto; }
</style>
"""


@dataclass
class Section:
    """One notebook of a run as a section of its report."""

    key: str
    title: str
    notebook: Path


def section_title(key: str, language: str) -> str:
    """The navigation label of a notebook in ``language``."""
    en, zh = SECTION_TITLES.get(key, (key, key))
    return zh if language == "zh" else en


def report_order(names: list[str]) -> list[str]:
    """The order sections are shown in: the summary first, then the rest in execution order."""
    first = [n for n in SHOWN_FIRST if n in names]
    return first + [n for n in names if n not in first]


def keep_cell(cell: nbformat.NotebookNode, language: str) -> bool:
    """Whether a cell belongs in a report in ``language`` (see the module docstring)."""
    tags = set(cell.get("metadata", {}).get("tags", []))
    if tags & REMOVE_TAGS:
        return False
    return not any(t.startswith("lang-") and t != f"lang-{language}" for t in tags)


def _clean_outputs(cell: nbformat.NotebookNode) -> None:
    """Warnings (stderr) and tracebacks are for analysts; memory addresses are noise."""
    outputs = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "error" or (kind == "stream" and out.get("name") == "stderr"):
            continue
        data = out.get("data") or {}
        if isinstance(data.get("text/plain"), str):
            data["text/plain"] = _ADDRESS.sub("", data["text/plain"])
        outputs.append(out)
    cell.outputs = outputs


def _raw_html(source: str, cell_id: str) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_raw_cell(source)
    cell.metadata["raw_mimetype"] = "text/html"
    cell.id = cell_id
    return cell


def merge_notebooks(sections: list[Section], language: str, banner: str = "") -> nbformat.NotebookNode:
    """One notebook holding every section's kept cells, each section behind an anchor."""
    merged = nbformat.v4.new_notebook()
    if banner:
        merged.cells.append(_raw_html(f'<div class="rfm-failed">{html.escape(banner)}</div>', "rfm-banner"))
    for k, sec in enumerate(sections):
        nb = nbformat.read(str(sec.notebook), as_version=4)
        if not merged.metadata:
            merged.metadata = nb.metadata
        merged.cells.append(_raw_html(f'<div class="rfm-anchor" id="sec-{html.escape(sec.key)}"></div>', f"rfm-s{k}"))
        for i, cell in enumerate(nb.cells):
            if not keep_cell(cell, language):
                continue
            if cell.cell_type == "code":
                _clean_outputs(cell)
                cell.execution_count = None
            cell.id = f"s{k}-{i}"
            merged.cells.append(cell)
    return merged


@lru_cache(maxsize=1)
def _exporter() -> Any:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    cfg = Config()
    cfg.HTMLExporter.exclude_input = True
    cfg.HTMLExporter.exclude_input_prompt = True
    cfg.HTMLExporter.exclude_output_prompt = True
    cfg.HTMLExporter.embed_images = True
    return HTMLExporter(config=cfg, template_name="lab")


def stable_styler_ids(page: str) -> str:
    """Replace pandas Styler's random table ids (``T_3f9a1``) by ids numbered in order of appearance."""
    seen: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(1), f"T_rfm{len(seen)}")

    return _STYLER_ID.sub(sub, page)


def self_contained(page: str) -> str:
    """Remove every script, remote link, CSS comment and SVG namespace URL from an HTML page."""
    page = _SCRIPT.sub("", page)
    page = _REMOTE_LINK.sub("", page)
    page = _STYLE.sub(lambda m: m.group(1) + _CSS_COMMENT.sub("", m.group(2)) + m.group(3), page)
    page = _SVG_PROLOGUE.sub("", page)
    return _XMLNS.sub("", page)


def render_report(
    sections: list[Section],
    html_path: str | Path,
    title: str,
    language: str = "en",
    index_href: str | None = None,
    banner: str = "",
) -> Path:
    """Render a run's executed notebooks into one self-contained HTML report with no code.

    Parameters
    ----------
    sections : list of Section
        The executed notebooks, in the order they are shown.
    html_path : path
        Where to write the report (atomically).
    title : str
        The page title.
    language : {"en", "zh"}, default="en"
        Cells tagged ``lang-<other>`` are left out.
    index_href : str, optional
        Link back to the index page.
    banner : str, optional
        A warning shown above everything (a failed run).

    Returns
    -------
    Path
        ``html_path``.
    """
    nb = merge_notebooks(sections, language, banner)
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = stable_styler_ids(self_contained(body))
    body = re.sub(r"<html\b[^>]*>", f'<html lang="{"zh" if language == "zh" else "en"}">', body, count=1)
    body = body.replace("</head>", EXTRA_CSS + "</head>", 1)
    links = [f'<span class="rfm-doc-title">{html.escape(title)}</span>']
    if index_href:
        links.append(f'<a href="{html.escape(index_href)}">{"« 索引" if language == "zh" else "« index"}</a>')
    links += [f'<a href="#sec-{html.escape(s.key)}">{html.escape(s.title)}</a>' for s in sections]
    nav = f'<nav class="rfm-nav">{" ".join(links)}</nav>'
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + "\n" + nav, body, count=1)
    return write_text_atomic(html_path, body)


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write UTF-8 text under ``path`` only once complete (readable by others, as the umask allows)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
