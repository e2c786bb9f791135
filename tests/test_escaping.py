"""The one escaping boundary (issue 19 item 1): Markdown in reports allows no raw HTML and no link out of the page;
:func:`analysis.report.markdown.escape` escapes a value for its context."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from analysis.report.markdown import escape, markdown_to_html

HOSTILE = (
    '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/">',
    '<base href="http://127.0.0.1:9/">',
    "<a href='http://127.0.0.1:9/'>x</a>",
    "[y](http://127.0.0.1:9/)",
    "[y](javascript:alert(1))",
    "<http://127.0.0.1:9/>",
    "http://127.0.0.1:9/bare",
    "![i](http://127.0.0.1:9/i.png)",
    "<img src=x onerror=alert(1)>",
    "<style>body{display:none}</style>",
    "```mermaid\n<b>x</b>\n```",
    "| a |\n|---|\n| <script>alert(1)</script> |",
)


@pytest.mark.parametrize("source", HOSTILE)
def test_markdown_renders_no_element_from_its_text(source: str) -> None:
    soup = BeautifulSoup(markdown_to_html(f"**x** {source}"), "html.parser")
    assert soup.find(["meta", "base", "img", "script", "style", "iframe", "b"]) is None
    assert [a for a in soup.find_all("a") if not a.get("href", "").startswith("#")] == []


def test_markdown_keeps_the_catalogs_markup_and_anchors() -> None:
    html = markdown_to_html("**bold** *it* [back](#sec-05_summary)")
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and '<a href="#sec-05_summary">' in html


def test_escape_per_context() -> None:
    value = "<a href=\"x\">'&'</a> [l](http://x) *e*"
    assert escape(value, "html") == "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt; [l](http://x) *e*"
    assert BeautifulSoup(escape(value, "html"), "html.parser").get_text() == value
    assert '"' not in escape(value, "attribute") and "'" not in escape(value, "attribute")
    md = escape(value, "markdown")
    assert BeautifulSoup(markdown_to_html(md), "html.parser").get_text().strip() == value
    with pytest.raises(ValueError, match="unknown escaping context"):
        escape(value, "css")


def test_model_messages_carry_pseudonyms_not_ids() -> None:
    """Issue 19 failure 1: the CLV note listed raw ids (one a meta refresh) from the model's error text."""
    from analysis.errors import ModelError
    from analysis.privacy import PseudonymKey, pseudonym, redact_ids

    ids = ["<meta http-equiv=refresh content='0;url=http://127.0.0.1:9/'>", "a'b\"c", "12", "C-7"]
    err = ModelError(f"2 customer(s) (e.g. {ids[:3]}) have zero spend in 'order_date'; 12 rows")
    key = PseudonymKey(b"k" * 16, "test")
    text = redact_ids(str(err), ids, key)
    assert not [i for i in ids[:3] if repr(i) in text or i in text.replace("12 rows", "")]
    assert all(pseudonym(i, key) in text for i in ids[:3])
    assert "'order_date'" in text and "12 rows" in text  # other quoted text and numbers stay
    assert "(a customer)" in redact_ids(str(err), ids)
