"""One HTML report per run: the executed notebooks merged into a single document, without code.

The executive summary comes first, then the cleaning, scoring, segmentation and strategy sections,
each behind an in-page anchor (``#sec-<notebook>``) linked from a sticky navigation bar.

The page comes from nbconvert's ``lab`` template, extended by the ``rfmkit`` template in
``analysis/report/templates/rfmkit/``: it drops every script (require.js, MathJax, mermaid, widgets),
adds the navigation bar, the section anchors, the failure banner and a Content-Security-Policy
(:data:`CSP`), and inlines the CSS without its comments (they carry URLs). Code is hidden by our own
exporter settings (input cells and prompts excluded), not by anyone's JupyterLab configuration.
Cells tagged ``remove``, ``parameters`` or ``injected-parameters`` are dropped, and so are cells
tagged ``lang-<xx>`` for any language other than the report's. Markdown is rendered by
:func:`analysis.report.markdown.markdown_to_html`: raw HTML shows as text, links only to anchors in the page.
A report is self-contained: images
and CSS inline, no script, no URL of any kind; it opens from ``file://`` with no network.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat

from analysis.data.io import write_text

#: Notebooks shown before the others whatever their execution order (the summary runs last).
SHOWN_FIRST: tuple[str, ...] = ("05_summary",)
REMOVE_TAGS = frozenset({"remove", "parameters", "injected-parameters", "rfmkit-error"})
REPORT_NAME = "report.html"
#: Folder of rfmkit's templates: the nbconvert template ``rfmkit/`` and the index page.
TEMPLATES = Path(__file__).with_name("templates")
#: What the index may load: inline images, inline styles and inline fonts; no script, no network. A report adds
#: the one script of the kit, by its hash (:func:`report_csp`).
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"
#: The one script a report carries: sorting and filtering of its tables of more than 20 rows, acting on the HTML
#: tables already in the page (no data, no network). Allowed by its sha256 in the report's CSP.
TABLE_SCRIPT = TEMPLATES / "rfmkit" / "static" / "tables.js"
#: Sections shown whole in the analyst's appendix (data quality detail, scores and model checks).
APPENDIX_SECTIONS: frozenset[str] = frozenset({"01_cleaning", "02_scoring"})
#: Tags of the headings whose parts move to the appendix (experiment tables, clusters, segment rules).
APPENDIX_PARTS: frozenset[str] = frozenset(
    {"text:strategy.experiment", "text:segmentation.clusters", "text:segmentation.rules"}
)
#: The files behind each section, relative to the run folder (glob patterns; a pattern ending in ``/`` is a folder),
#: linked under the section's title.
SECTION_FILES: dict[str, tuple[str, ...]] = {
    "01_cleaning": ("quarantine.csv",),
    "02_scoring": ("customers.csv", "cut_points.csv"),
    "03_segmentation": ("segments.csv", "cluster_profile.csv"),
    "04_strategy": ("actions.csv", "recommendations.csv", "action_results.csv", "actions/*.csv"),
    "05_summary": ("customers.csv", "actions/"),
    "06_sales": ("sales/*.csv",),
    "07_grading": ("grading.csv", "actions/service_recovery.csv"),
}

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,16}")
_STYLER_ID = re.compile(r"\bT_(rfm\d+|[0-9a-f]{5})(?=[_\"'\s,{:.>)\\])")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


@dataclass
class Section:
    """One notebook of a run as a section of its report."""

    key: str
    title: str
    notebook: Path


def section_title(key: str, language: str) -> str:
    """The navigation label of a notebook in ``language`` (catalog ``report.section.<key>``, else the key)."""
    from analysis.text import label

    return label(f"report.section.{key}", language, default=key)


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


def localize_cell(cell: nbformat.NotebookNode, language: str) -> nbformat.NotebookNode:
    """A markdown cell tagged ``text:<key>`` is written in English in the notebook; in another language its
    source becomes the catalog's ``notebook.<key>`` (``analysis/text/<language>.yaml``)."""
    if language != "en" and cell.cell_type == "markdown":
        from analysis.text import t

        for tag in cell.get("metadata", {}).get("tags", []):
            if tag.startswith("text:"):
                cell.source = t(f"notebook.{tag[len('text:') :]}", language)
    return cell


def stable_styler_ids(text: str, seen: dict[str, str] | None = None, prefix: str = "rfm") -> str:
    """Replace pandas Styler's random table ids (``T_3f9a1``) by ids numbered in order of appearance.

    A Styler draws a fresh random id for every table it renders (pandas has no option to fix it), so
    without this two runs on the same data would differ in every table's ``id`` and CSS selectors. The
    ids become ``T_<prefix><n>``; pass the same ``seen`` mapping to number several texts as one.
    """
    seen = {} if seen is None else seen

    def sub(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(1), f"T_{prefix}{len(seen)}")

    return _STYLER_ID.sub(sub, text)


def _clean_outputs(cell: nbformat.NotebookNode, styler_ids: dict[str, str], prefix: str) -> None:
    """Warnings (stderr) and tracebacks are for analysts; memory addresses and random ids are noise."""
    outputs = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "error" or (kind == "stream" and out.get("name") == "stderr"):
            continue
        data = out.get("data") or {}
        if isinstance(data.get("text/plain"), str):
            data["text/plain"] = _ADDRESS.sub("", data["text/plain"])
        if isinstance(data.get("text/html"), str):
            data["text/html"] = stable_styler_ids(data["text/html"], styler_ids, prefix)
        outputs.append(out)
    cell.outputs = outputs


def _appendix_start(cell: nbformat.NotebookNode) -> bool | None:
    """True when a markdown heading cell starts a part for the appendix (:data:`APPENDIX_PARTS`), False when it
    starts another part, None when the cell is no heading (it belongs to the current part)."""
    if cell.cell_type != "markdown" or not str(cell.source).lstrip().startswith("#"):
        return None
    return bool(set(cell.get("metadata", {}).get("tags", [])) & APPENDIX_PARTS)


def _marker(cell_id: str, **metadata: Any) -> nbformat.NotebookNode:
    marker = nbformat.v4.new_raw_cell("")
    marker.metadata.update(metadata)
    marker.id = cell_id
    return marker


def merge_notebooks(sections: list[Section], language: str) -> nbformat.NotebookNode:
    """One notebook holding every section's kept cells: the manager's part, then the analyst's appendix.

    Each section starts after an (empty) marker cell: a raw cell with ``rfmkit_section`` in its metadata, which
    the template turns into the section's anchor. Sections in :data:`APPENDIX_SECTIONS`, and the parts of other
    sections that start with a heading tagged in :data:`APPENDIX_PARTS` (backtests, experiments, model checks),
    go to the appendix after every manager's section, each in a collapsible ``<details>`` (markers
    ``rfmkit_details`` = the section's title, ``rfmkit_details_end``), after the marker ``rfmkit_appendix``.
    Styler ids are numbered per section (``T_s<k>n<i>``) so no two tables share one.
    """
    merged = nbformat.v4.new_notebook()
    appendix: list[nbformat.NotebookNode] = []
    for k, sec in enumerate(sections):
        nb = nbformat.read(str(sec.notebook), as_version=4)
        if not merged.metadata:
            merged.metadata = {key: v for key, v in nb.metadata.items() if key != "widgets"}
        whole = sec.key in APPENDIX_SECTIONS
        main: list[nbformat.NotebookNode] = []
        extra: list[nbformat.NotebookNode] = []
        in_appendix = whole
        styler_ids: dict[str, str] = {}
        for i, cell in enumerate(nb.cells):
            if not keep_cell(cell, language):
                continue
            start = _appendix_start(cell)
            if start is not None and not whole:
                in_appendix = start
            localize_cell(cell, language)
            if cell.cell_type == "code":
                _clean_outputs(cell, styler_ids, f"s{k}n")
                cell.execution_count = None
            cell.id = f"s{k}-{i}"
            (extra if in_appendix else main).append(cell)
        if not whole:
            merged.cells.append(_marker(f"rfm-s{k}", rfmkit_section=sec.key))
            merged.cells += main
        if extra:
            key = sec.key if whole else f"{sec.key}-appendix"
            appendix.append(_marker(f"rfm-a{k}", rfmkit_section=key, rfmkit_details=sec.title))
            appendix += extra
            appendix.append(_marker(f"rfm-e{k}", rfmkit_details_end=True))
    if appendix:
        merged.cells.append(_marker("rfm-appendix", rfmkit_appendix=True))
        merged.cells += appendix
    return merged


def contents(sections: list[Section], merged: nbformat.NotebookNode) -> dict[str, list[dict[str, str]]]:
    """The table of contents: ``main`` and ``appendix`` entries ``{key, title}`` in page order (anchors
    ``#sec-<key>``), from the merged notebook's markers."""
    titles = {s.key: s.title for s in sections}
    out: dict[str, list[dict[str, str]]] = {"main": [], "appendix": []}
    part = "main"
    for cell in merged.cells:
        meta = cell.get("metadata", {})
        if meta.get("rfmkit_appendix"):
            part = "appendix"
        key = meta.get("rfmkit_section")
        if key:
            base = key[: -len("-appendix")] if key.endswith("-appendix") else key
            out[part].append({"key": key, "title": titles.get(base, base)})
    return out


def table_script() -> str:
    """The text of the kit's table script (:data:`TABLE_SCRIPT`), read at render time."""
    script = TABLE_SCRIPT.read_text(encoding="utf-8")
    if "</" in script:  # it is written between <script> and </script> as is
        raise ValueError(f"{TABLE_SCRIPT} must not contain '</'")
    return script


def report_csp(script: str) -> str:
    """A report's Content-Security-Policy: :data:`CSP` plus ``script-src`` allowing exactly ``script`` by its sha256."""
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return f"{CSP}; script-src 'sha256-{digest}'"


def section_files(run_dir: Path, key: str, extra: dict[str, list[Path]] | None = None) -> list[dict[str, str]]:
    """The files behind section ``key`` that exist (:data:`SECTION_FILES`, plus ``extra[key]``), as
    ``{"href", "label"}`` with hrefs relative to ``run_dir`` (the report's folder), sorted, each once."""
    found: list[Path] = []
    for pattern in SECTION_FILES.get(key, ()):
        if pattern.endswith("/"):
            found += [run_dir / pattern] if (run_dir / pattern).is_dir() else []
        else:
            found += sorted(p for p in run_dir.glob(pattern) if p.is_file())
    found += [p for p in (extra or {}).get(key, []) if p.is_file()]
    out: dict[str, dict[str, str]] = {}
    for p in found:
        rel = Path(os.path.relpath(p, run_dir)).as_posix() + ("/" if p.is_dir() else "")
        out.setdefault(rel, {"href": quote(rel), "label": rel})
    return list(out.values())


def strip_css_comments(css: str) -> str:
    """CSS without its ``/* … */`` comments (JupyterLab's carry URLs of their sources)."""
    from markupsafe import Markup

    return Markup(_CSS_COMMENT.sub("", str(css)))


def _report_markdown(source: str) -> str:
    """A report's Markdown as HTML: :func:`analysis.report.markdown.markdown_to_html` (no raw HTML, no link out)."""
    from analysis.report.markdown import markdown_to_html

    return markdown_to_html(source, embed_images=True, exclude_anchor_links=True)


@lru_cache(maxsize=4)
def _exporter(language: str) -> Any:
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    cfg = Config()
    cfg.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]
    cfg.HTMLExporter.template_name = "rfmkit"
    cfg.HTMLExporter.language_code = language
    cfg.HTMLExporter.exclude_input = True
    cfg.HTMLExporter.exclude_input_prompt = True
    cfg.HTMLExporter.exclude_output_prompt = True
    cfg.HTMLExporter.embed_images = True
    cfg.HTMLExporter.exclude_anchor_links = True  # no ¶ links on headings: a report is read, not edited
    exporter = HTMLExporter(config=cfg)
    exporter.register_filter("strip_css_comments", strip_css_comments)
    # every Markdown of a report (cells and text/markdown outputs) through the strict renderer: no raw HTML
    exporter.register_filter("markdown2html", _report_markdown)
    return exporter


def render_report(
    sections: list[Section],
    html_path: str | Path,
    title: str,
    language: str = "en",
    index_href: str | None = None,
    banner: str = "",
    files: dict[str, list[Path]] | None = None,
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
    files : dict, optional
        Files outside the run folder behind a section (section key -> paths), linked with the section's own
        (:data:`SECTION_FILES`) relative to the report's folder.

    Returns
    -------
    Path
        ``html_path``.
    """
    from analysis.text import check_language, t

    check_language(language)
    nb = merge_notebooks(sections, language)
    script = table_script()
    run_dir = Path(html_path).parent
    page_info = {
        "csp": report_csp(script),
        "script": script,
        "tables": {key: t(f"report.tables.{key}", language) for key in ("filter", "rows", "sort")},
        "files_label": t("report.files", language),
        "title": title,
        "index": {"href": index_href, "label": t("report.index_link", language)} if index_href else None,
        "nav": [{"key": s.key, "title": s.title, "files": section_files(run_dir, s.key, files)} for s in sections],
        "contents": contents(sections, nb),
        "words": {key: t(f"cards.{key}", language) for key in ("contents", "appendix")},
        "banner": banner,
    }
    body, _ = _exporter(language).from_notebook_node(nb, resources={"metadata": {"name": title}, "rfmkit": page_info})
    return write_text(body, html_path)
