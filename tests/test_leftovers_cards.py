"""The revenue card's sensitivity note never repeats the total as if it were a different figure: when this period
has no unusually large or small orders (they are all in a period compared with), the card says so."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from analysis.report.cards import card_html
from analysis.strategy.cards import KpiCard
from analysis.text import format as fmt
from tests.test_honest_figures import _context, _log, _revenue


def _note(card: KpiCard, language: str) -> str:
    return BeautifulSoup(card_html(card, "$", language), "html.parser").select_one(".rfm-unflagged").get_text()


def test_flagged_orders_only_in_the_previous_period_are_said_so_not_repeated(tmp_path: Path) -> None:
    # two orders of 100,000 in November, none in December: December's revenue is the same with or without them,
    # while the change vs November moves from a fall of ~99 % to about flat
    huge = [{"customer_id": "c1", "order_id": f"big-{i}", "order_date": f"2024-11-1{i}", "amount": 100_000.0}
            for i in (1, 2)]  # fmt: skip
    log = _log("2024-06-01", "2024-12-31", huge)
    summary = _context(tmp_path, log, "2024-12").stage("summary")
    rev = next(c for c in summary.cards if c.key == "revenue")
    dec = _revenue(log, "2024-12-01", "2024-12-31")
    assert rev.value == dec and rev.shows_unflagged and rev.without_flagged == dec
    # the log's last purchase is on 30 December: December is 30 days, compared with the 30 days ending on 30 November
    assert max(log["order_date"]) == "2024-12-30"
    nov = _revenue(log, "2024-11-01", "2024-11-30")  # incl. the 200,000
    assert abs(rev.change - (dec / nov - 1)) < 1e-12
    assert abs(rev.change_without_flagged - (dec / (nov - 200_000) - 1)) < 1e-12
    for language, none, said in (
        ("en", "No unusually large or small orders in this period", "Without unusually large or small orders"),
        ("zh", "本期没有异常大额或小额订单", "剔除异常大额或小额订单："),
    ):
        note = _note(rev, language)
        assert note.startswith(none) and said not in note
        assert fmt.money_short(dec, "$") not in note  # the total is on the card once, not again as "without"
        assert fmt.change(dec / (nov - 200_000) - 1) in note  # the change that did move is still shown
    # the note under the headline says the same: none this period, two (200,000) in the period compared with
    drive = [n for n in summary.notes if n.startswith("**Flagged orders drive")]
    assert drive == [
        f"**Flagged orders drive the revenue change vs the previous period**: {fmt.change(dec / nov - 1)} with them, "
        f"{fmt.change(dec / (nov - 200_000) - 1)} without. This period has none; the period compared with had 2 "
        "($200,000)."
    ]


def test_a_different_figure_without_flagged_orders_is_still_shown() -> None:
    # 202,873 with two orders of 100,000 in this period; 2,873 without them (as shown: $202.9k and $2.9k)
    card = KpiCard("revenue", "money", 202_873.0, change=60.0, without_flagged=2_873.0, change_without_flagged=-0.026)
    assert _note(card, "en").startswith("Without unusually large or small orders: $2.9k (-2.6% vs previous")
    # the same figure as shown (rounded to $2.9k either way) is not repeated as if it were another one
    same = KpiCard("revenue", "money", 2_873.0, change=-0.9, without_flagged=2_870.0, change_without_flagged=0.01)
    assert _note(same, "en").startswith("No unusually large or small orders in this period")
