"""The CLV method named beside every CLV figure, and a month whose method differs from the month before flagged
(issue 18, item 6): the index, headline.json / headline.csv."""

from __future__ import annotations

from bs4 import BeautifulSoup

from analysis import stages
from analysis.report.index_page import RunEntry, write_index


def _h(total: float, method: str, name: str) -> dict:
    return {"buyers": 3, "customers": 9, "revenue_period": 100.0, "currency": "£", "language": "en",
            "clv_total": total, "clv_method": method, "clv_method_name": name}  # fmt: skip


def test_index_names_the_method_and_flags_a_change(tmp_path) -> None:
    entries = [
        RunEntry("2011-09", stages.ALL_REGIONS, "ok", headline=_h(7.0e6, "run_rate", "run-rate estimate")),
        RunEntry("2011-10", stages.ALL_REGIONS, "ok", headline=_h(7.1e6, "run_rate", "run-rate estimate")),
        RunEntry("2011-11", stages.ALL_REGIONS, "ok", headline=_h(13.2e6, "bgnbd", "BG/NBD + Gamma-Gamma")),
        RunEntry("2011-12", stages.ALL_REGIONS, "ok", headline=_h(13.0e6, "bgnbd", "BG/NBD + Gamma-Gamma")),
    ]
    html = write_index(tmp_path, "t", entries, "£", "en").read_text(encoding="utf-8")
    cells = [c.get_text(" ", strip=True) for c in BeautifulSoup(html, "html.parser").select(".clv")]
    assert cells == [
        "£7,000,000 (run-rate estimate)",
        "£7,100,000 (run-rate estimate)",
        "£13,200,000 (BG/NBD + Gamma-Gamma) — method changed: run-rate estimate in 2011-10, so the totals are not "
        "comparable",
        "£13,000,000 (BG/NBD + Gamma-Gamma)",
    ]
