"""Reports: tables, charts, the HTML report of a run and the index page."""

from analysis.report.markdown import escape_markdown, markdown_values

__all__ = ["escape_markdown", "markdown_values"]
