"""The sales section in a real batch (one small run), and its display in both languages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from analysis.cli import main
from analysis.report import sales as view
from analysis.sales.inputs import load_sales
from analysis.sales.run import sales_stage
from tests.sales.conftest import crm_frames, crm_params, history_frames, history_params
from tests.test_batch import small_params


def test_the_section_in_both_languages_escapes_data() -> None:
    params = history_params()
    frames = history_frames()
    frames["opportunities"]["sales_rep"] = frames["opportunities"]["sales_rep"].replace("B", "<b>B</b>")
    run = sales_stage(params, "2024-03", data=load_sales(params, frames))
    for language, heading in (("en", "deals won"), ("zh", "赢单数")):
        html = view.styled_scorecard(run, "$", language).to_html()
        assert heading in html and "&lt;b&gt;B&lt;/b&gt;" in html and "<b>B</b>" not in html
        assert view.headline(run, language) and view.windows_text(run, language) and view.closed_text(run, language)
    assert "Qualified and Proposal" in view.headline(run, "en")
    # a partial period says how pace is computed
    crm = sales_stage(crm_params(), "2017-12", data=load_sales(crm_params(), crm_frames()))
    assert "pace = attainment ÷ 64.5%" in view.scorecard_text(crm, "en")
    assert "进度 = 达成率 ÷ 64.5%" in view.scorecard_text(crm, "zh")


@pytest.mark.slow
@pytest.mark.notebook
def test_a_batch_run_shows_the_sales_section(tmp_path: Path) -> None:
    crm = {"source": {"format": "sample", "sample": {"customers": 1500, "seed": 11, "start": "2023-01-01",
                                                     "end": "2024-12-31"}}}  # fmt: skip
    params = small_params(
        tmp_path,
        source={"format": "sample", "sample": {"customers": 900, "seed": 11}},  # any sample; a smaller CLV fit
        regions=["North"],
        reps=["N-rep1"],
        periods={"start": "2024-12", "end": "2024-12"},
        notebooks=["06_sales"],
        opportunities=crm,
        stage_history=crm,
        targets=crm,
        sales_teams=crm,
        funnel={
            "stages": ["Prospecting", "Engaging", "Won"],
            "won": "Won",
            "lost": ["Lost"],
            "export_date": "2024-12-31",
        },
    )
    res = CliRunner().invoke(main, ["run", str(params), "--no-progress"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    run = tmp_path / "reports" / "2024-12" / "North"
    html = (run / "report.html").read_text(encoding="utf-8")
    assert "1. Funnel" in html and "3. Rep scorecards" in html and "Most deals are lost between" in html
    card = pd.read_csv(run / "sales" / "rep_scorecard.csv", encoding="utf-8-sig")
    assert set(card["sales_rep"]) <= {"N-rep1", "N-rep2", "N-rep3", "Wilburn Farren"}  # only the region's reps
    assert "book_rank" in card.columns  # the log names reps: each rep's book against its forecast
    stalled = pd.read_csv(run / "sales" / "stalled_deals.csv", encoding="utf-8-sig", dtype=str)
    for account in stalled["customer_id"].dropna():
        assert account not in html  # the report shows pseudonyms, the CRM list the real ids
    # one report per rep (reps: [N-rep1]): only that rep's deals and customers
    rep = tmp_path / "reports" / "2024-12" / "rep~N-rep1"
    assert "1. Funnel" in (rep / "report.html").read_text(encoding="utf-8")
    assert pd.read_csv(rep / "sales" / "rep_scorecard.csv", encoding="utf-8-sig")["sales_rep"].tolist() == ["N-rep1"]
    assert set(pd.read_csv(rep / "sales" / "stalled_deals.csv", encoding="utf-8-sig")["sales_rep"]) <= {"N-rep1"}
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert "rep:N-rep1" in index and 'href="2024-12/rep~N-rep1/report.html"' in index
