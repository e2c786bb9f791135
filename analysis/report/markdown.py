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
