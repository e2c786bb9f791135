"""The report renderer and the index page, on hand-made notebooks (no kernel needed)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from analysis.regions import ALL_REGIONS
from analysis.report import escape_markdown
from analysis.report.index_page import RunEntry, trend_chart, write_index
from analysis.report.render import CSP, Section, render_report, report_csp, report_order, table_script
from analysis.report.tables import styled

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def _notebook(path: Path, title: str) -> Path:
    nb = nbformat.v4.new_notebook()
    en = nbformat.v4.new_markdown_cell(f"# {title}\n\nEnglish text")
    en.metadata["tags"] = ["lang-en"]
    zh = nbformat.v4.new_markdown_cell(f"# {title}\n\n中文文字")
    zh.metadata["tags"] = ["lang-zh"]
    params = nbformat.v4.new_code_cell("params_path = 'secret.yaml'")
    params.metadata["tags"] = ["parameters"]
    code = nbformat.v4.new_code_cell("import secret_module\nsecret_module.run()")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="FutureWarning: noisy\n"),
        nbformat.v4.new_output("display_data", data={"image/png": PNG_1PX, "text/plain": "<Figure at 0x7f3a2b1c4d50>"}),
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/html": '<style>#T_3f9a1_row0 {color: red}</style><table id="T_3f9a1" class="rfm-table">'
                '<tr><td id="T_3f9a1_row0">1,234</td></tr></table>'
            },
        ),
        nbformat.v4.new_output("error", ename="ValueError", evalue="boom", traceback=["Traceback: boom"]),
    ]
    both = nbformat.v4.new_markdown_cell("Shown in every language")
    nb.cells = [en, zh, params, code, both]
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def sections(tmp_path: Path) -> list[Section]:
    return [
        Section("05_summary", "Summary", _notebook(tmp_path / "05_summary.ipynb", "Executive summary")),
        Section("01_cleaning", "Data quality", _notebook(tmp_path / "01_cleaning.ipynb", "Data quality")),
    ]


def test_summary_is_shown_first_and_missing_is_fine() -> None:
    assert report_order(["01_cleaning", "02_scoring", "05_summary"]) == ["05_summary", "01_cleaning", "02_scoring"]
    assert report_order(["01_cleaning", "02_scoring"]) == ["01_cleaning", "02_scoring"]


@pytest.mark.parametrize(
    ("language", "kept", "dropped"), [("en", "English text", "中文文字"), ("zh", "中文文字", "English text")]
)
def test_language_cells_no_code_self_contained(tmp_path: Path, sections, language, kept, dropped) -> None:
    out = render_report(sections, tmp_path / "report.html", "Title · 2024-12", language, "../../index.html")
    html = out.read_text(encoding="utf-8")
    assert kept in html and dropped not in html and "Shown in every language" in html
    assert f'<html lang="{language}">' in html
    assert "secret_module" not in html and "secret.yaml" not in html  # no input cell, no parameters cell
    assert "noisy" not in html and "Traceback" not in html and "0x7f3a" not in html
    assert "<script" not in _no_kit_script(html) and not re.search(r"https?://", html)  # nothing fetched, no URL
    assert "data:image/png;base64," in html  # images inline
    assert re.findall(r'id="sec-([\w-]+)"', html) == ["05_summary", "01_cleaning"]
    assert 'href="#sec-05_summary"' in html and 'href="../../index.html"' in html
    assert "T_3f9a1" not in html and 'id="T_s0n0"' in html and 'id="T_s1n0"' in html  # stable, unique per section
    assert _csp(html) == [REPORT_CSP]


def test_render_is_deterministic_and_banner(tmp_path: Path, sections) -> None:
    a = render_report(sections, tmp_path / "a.html", "T", "en").read_bytes()
    b = render_report(sections, tmp_path / "b.html", "T", "en").read_bytes()
    assert a == b
    failed = render_report(sections, tmp_path / "c.html", "T", "en", banner="This run failed: 01_cleaning, cell 3")
    assert 'class="rfm-failed">This run failed: 01_cleaning, cell 3<' in failed.read_text(encoding="utf-8")


def test_index_grid_statuses_and_trend_chart(tmp_path: Path) -> None:
    entries = [
        RunEntry("2024-11", "North", "ok", "2024-11/North/report.html", headline={"customers": 1200, "buyers": 300}),
        RunEntry(
            "2024-12",
            "North",
            "skipped",
            "2024-12/North/report.html",
            headline={"customers": 1300, "buyers": 320, "revenue_period": 6e4, "clv_total": 2.5e5},
        ),
        RunEntry(
            "2024-12",
            ALL_REGIONS,
            "failed",
            None,
            "2024-12/all/_executed/02_scoring.ipynb",
            {},
            "ValueError: bad",
            "02_scoring",
            7,
        ),
    ]
    html = write_index(tmp_path, "Monthly", entries, "¥", "zh").read_text(encoding="utf-8")
    grid = html[html.index("<thead>") :]
    assert grid.index("全部地区") < grid.index("North")  # all regions first
    assert 'class="run ok"' in html and 'class="run skipped"' in html and 'class="run failed"' in html
    assert "完成 · 未变更" in html and "02_scoring, 单元 7: ValueError: bad" in html
    assert "¥250,000" in html and "1,300" in html and "¥60,000" in html
    assert 'href="2024-12/all/_executed/02_scoring.ipynb"' in html
    assert 'href="2024-12/all/"' in html and 'href="2024-12/North/"' in html and "运行文件夹" in html  # run folders
    assert '<svg class="chart" id="trend"' in html and html.count("<polyline") == 1  # buyers: 2 points
    assert html.count("<circle") == 3  # revenue: 1 point (no revenue in 2024-11), buyers: 2
    assert '本期购买客户数: <span class="buyers">320</span>' in html  # who bought in the period, beside
    assert '累计客户数（全部历史）: <span class="customers">1,300</span>' in html  # everyone to date
    assert "<script" not in html and not re.search(r"https?://", html)
    assert _csp(html) == [CSP]


def test_trend_chart_handles_gaps_and_one_period() -> None:
    svg = trend_chart({"North": [None, 3.0, 4.0], "South": [1.0, None, None]}, ["a", "b", "c"], "t")
    assert svg.count("<circle") == 3 and svg.count("<polyline") == 1
    assert "<circle" in trend_chart({"x": [0.0]}, ["2024-12"], "t")


#: What people have typed into customer ids, product lines, reps, channels and regions (issue 11).
PAYLOADS = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[y](javascript:alert(2))",
    "<style>body{display:none}</style>",
    "*bold* `code` $x$ \\begin{a}b\\end{a}\n# heading",
)


def _payload_notebook(path: Path, payload: str) -> Path:
    """A notebook whose outputs carry ``payload`` the way the kit shows data: a styled table and a sentence."""
    from analysis.text import t

    df = pd.DataFrame({"product_line": [payload], "revenue": [12.5]}, index=pd.Index([payload], name="customer_id"))
    table = styled(df, currency="$").to_html()
    sentence = t("run.subtitle", "en", title=escape_markdown(f"Monthly · 2024-12 · {payload}"), as_of="2024-12-31")
    code = nbformat.v4.new_code_cell("show()")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": table, "text/plain": "table"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": sentence, "text/plain": "sentence"}),
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [code]
    nbformat.write(nb, str(path))
    return path


#: A report's CSP: the index's plus the kit's table script, by its hash (issue 22 item 3).
REPORT_CSP = report_csp(table_script())


def _no_kit_script(page: str) -> str:
    """A report without the kit's one script (its table sorting and filtering), written once at the end."""
    assert page.count(f"<script>{table_script()}</script>") == 1
    return page.replace(f"<script>{table_script()}</script>", "")


def _csp(page: str) -> list[str]:
    """The Content-Security-Policies a page declares in ``<meta http-equiv>``."""
    from bs4 import BeautifulSoup

    metas = BeautifulSoup(page, "html.parser").find_all("meta", attrs={"http-equiv": "Content-Security-Policy"})
    return [m["content"] for m in metas]


def _visible_text(page: str) -> str:
    """The page's text as a browser shows it (tags dropped, entities decoded), without the <head>."""
    from bs4 import BeautifulSoup

    return BeautifulSoup(page, "html.parser").body.get_text()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_data_values_are_shown_literally_in_a_report(tmp_path: Path, payload: str) -> None:
    nb = _payload_notebook(tmp_path / "05_summary.ipynb", payload)
    page = render_report(
        [Section("05_summary", payload, nb)], tmp_path / "r.html", f"T · {payload}", "en", "x.html", payload
    ).read_text(encoding="utf-8")
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    assert [x.string for x in soup.find_all("script")] == [table_script()] and "<script" not in _no_kit_script(page)
    assert not [s for s in soup.find_all("style") if "body{display:none}" in s.get_text()]  # no style from data
    assert soup.find_all("img") == [] and soup.select("[onerror]") == []
    assert not [a for a in soup.find_all("a") if "javascript" in a.get("href", "")]
    assert soup.find("strong") is not None and not soup.find_all(["em", "code", "h1", "h2"])  # only the template's **
    text = _visible_text(page)
    one_line = " ".join(payload.splitlines())
    assert text.count(payload) >= 3 or one_line in text  # table value, index, nav, title, banner
    assert soup.select_one("td.data").get_text() in (payload, one_line)  # the index, first column
    assert one_line in soup.select_one("[data-mime-type='text/markdown'] strong").get_text()  # the sentence
    assert soup.select_one("div.rfm-failed").get_text() == payload


def test_no_url_of_any_kind_in_a_report_even_from_data(tmp_path: Path) -> None:
    nb = _payload_notebook(tmp_path / "05_summary.ipynb", "North")
    page = render_report([Section("05_summary", "S", nb)], tmp_path / "r.html", "T").read_text(encoding="utf-8")
    assert not re.search(r"https?://|//[a-z0-9]", page, re.IGNORECASE)
    assert "<script" not in _no_kit_script(page) and "<link" not in page and "@import" not in page
    assert _csp(page) == [REPORT_CSP]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_index_shows_region_and_error_literally(tmp_path: Path, payload: str) -> None:
    entries = [
        RunEntry("2024-12", payload, "ok", "2024-12/x/report.html", headline={"customers": 3, "revenue_period": 9.0}),
        RunEntry("2024-12", ALL_REGIONS, "failed", None, None, {}, payload, "02_scoring", 2),
    ]
    page = write_index(tmp_path, payload, entries).read_text(encoding="utf-8")
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    assert soup.find_all("script") == [] and len(soup.find_all("style")) == 1 and soup.find_all("img") == []
    assert _csp(page) == [CSP]
    assert soup.h1.get_text() == payload and soup.title.get_text() == payload
    assert [td.get("data-region") for td in soup.select("td.run")] == ["all", payload]
    assert soup.select_one("div.error").get_text() == f"02_scoring, cell 2: {payload}"
    assert payload in [th.get_text() for th in soup.select("thead th")]
    assert payload in [t.get_text() for t in soup.select("svg#trend text")]  # the legend


def test_escape_markdown_keeps_every_character() -> None:
    from bs4 import BeautifulSoup
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for payload in (*PAYLOADS, "$1,234 & $5", "a_b_c", "1. first", "- item", "| a | b |", "&amp;", "www.example.com"):
        rendered = BeautifulSoup(markdown2html_mistune(f"**{escape_markdown(payload)}**"), "html.parser")
        assert rendered.strong.get_text() == " ".join(payload.splitlines())
        assert [tag.name for tag in rendered.find_all()] == ["p", "strong"]


def test_chart_labels_are_text_not_mathtext() -> None:
    """A product line such as ``a$\\frac{$b`` is drawn as written; as mathtext it would stop the notebook."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from analysis.report.plots.style import use_report_style

    use_report_style("en")
    fig, ax = plt.subplots()
    label = "a$\\frac{$b <script>"
    ax.bar([label, "$x$"], [1, 2])
    ax.set_title(label)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    assert buf.getvalue().startswith(b"\x89PNG") and ax.get_title() == label


ONERROR = "<img src=x onerror=alert(1)>"


@pytest.mark.filterwarnings("ignore:Your element with mimetype:UserWarning")
def test_script_outputs_are_dropped_and_mermaid_is_text(tmp_path: Path) -> None:
    """JavaScript, widget and mermaid outputs: no script reaches a report, mermaid source is shown as text."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("show()")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"application/javascript": "alert('js')"}),
        nbformat.v4.new_output(
            "display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m1", "version_major": 2}}
        ),
        nbformat.v4.new_output("display_data", data={"text/vnd.mermaid": f"graph TD; A-->B{ONERROR}"}),
    ]
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nbformat.write(nb, str(tmp_path / "a.ipynb"))
    out = render_report([Section("a", "A", tmp_path / "a.ipynb")], tmp_path / "r.html", "T")
    page = out.read_text(encoding="utf-8")
    assert "<script" not in _no_kit_script(page) and "alert('js')" not in page and "widget-state" not in page
    assert "A--&gt;B&lt;img src=x onerror=alert(1)&gt;" in page
