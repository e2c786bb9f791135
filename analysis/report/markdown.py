"""Data values put into Markdown, shown literally.

Report sentences are Markdown templates (from the text catalog) whose placeholders are filled with data:
region names, segment names, product lines, money figures. A value must never become markup: ``[y](javascript:…)``
must not turn into a link, ``<img onerror=…>`` into an element, ``*`` into emphasis, ``$…$`` into math, or a
newline into a new block. :func:`escape_markdown` escapes the *values*, never the template, so the catalog's own
``**bold**`` still works.
"""

from __future__ import annotations

from typing import Any

#: ASCII punctuation: CommonMark lets a backslash escape every one of these to stand for itself.
_PUNCTUATION = frozenset("!\"#$%'()*+,-./:;=?@[\\]^_`{|}~")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape_markdown(value: Any) -> str:
    """``value`` as Markdown text that renders exactly as ``str(value)`` reads, on one line.

    ``<``, ``>`` and ``&`` become HTML entities (no raw HTML, no autolink), every other ASCII punctuation
    character is backslash-escaped (no link, emphasis, code, math, heading, list or table syntax), and line
    breaks and other control characters become spaces (a value cannot start a new block).
    """
    out = []
    for ch in str(value):
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in _PUNCTUATION:
            out.append("\\" + ch)
        elif ch < " " or ch == "\x7f":
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def markdown_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every string escaped by :func:`escape_markdown` (numbers and dates keep their formats)."""
    return {k: escape_markdown(v) if isinstance(v, str) else v for k, v in values.items()}


# ------------------------------------------------------------------------------------------ the HTML boundary

#: The contexts a text can reach HTML in (see :func:`escape`).
CONTEXTS = ("html", "attribute", "markdown")


def escape(value: Any, context: str = "html") -> str:
    """``value`` as text that shows literally in ``context``: the one escaping function at the HTML boundary.

    ``html``: text between tags (``& < >`` as entities); ``attribute``: a quoted attribute value (quotes too);
    ``markdown``: a value put into a Markdown template (:func:`escape_markdown`). Reports and the index page
    pass every data value, params text (title, currency, region labels), playbook text and message through it
    (Jinja's autoescape is this same ``html``/``attribute`` escaping, from markupsafe).
    """
    from markupsafe import escape as html_escape

    if context == "markdown":
        return escape_markdown(value)
    if context in ("html", "attribute"):
        return str(html_escape(str(value)))
    raise ValueError(f"unknown escaping context {context!r}; use one of {CONTEXTS}")


def escape_texts(texts: Any) -> list[str]:
    """Each text of ``texts`` escaped for Markdown (:func:`escape`), e.g. sentences a notebook shows as a list."""
    return [escape(t, "markdown") for t in texts]


def _safe_renderer(**options: Any) -> Any:
    """nbconvert's Markdown renderer for reports, made strict: raw HTML is shown as text (``escape=True``: no
    ``<meta>``, ``<base>``, ``<a>``, ``<img>`` or ``<style>`` from any Markdown), links render as links only to an
    anchor in the page (``#…``), any other link as its text; images only from ``data:`` URLs (embedded);
    mermaid blocks as escaped text."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class SafeRenderer(IPythonRenderer):
        def __init__(self, **kw: Any) -> None:
            super().__init__(escape=True, allow_harmful_protocols=False, **kw)

        def text(self, text: str) -> str:  # entities (&lt; from escape_markdown) stay entities, the rest escaped
            from mistune.util import safe_entity

            return safe_entity(text)

        def link(self, text: str, url: str, title: str | None = None) -> str:
            if url.startswith("#") and ":" not in url:
                return super().link(text, url, title)
            return f'<span class="rfm-link-text">{text}</span>'

        def image(self, text: str, url: str, title: str | None = None) -> str:
            src = self._embed_image_or_attachment(url)
            if src.startswith("data:image/"):
                return super().image(text, src, title)
            return f'<span class="rfm-link-text">{text}</span>'  # the alt text, already rendered (escaped)

        def block_mermaidjs(self, code: str) -> str:
            return f'<pre class="jp-RenderedText">{self.escape_html(code)}</pre>'

    return SafeRenderer(**options)


def markdown_to_html(source: str, **options: Any) -> str:
    """Markdown (a notebook's markdown cell or a ``text/markdown`` output) as HTML with no raw HTML and no link out
    of the page; see :func:`_safe_renderer`. The report exporter uses this instead of nbconvert's ``markdown2html``.
    """
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    return MarkdownWithMath(renderer=_safe_renderer(**options)).render(source)
