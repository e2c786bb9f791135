"""The revenue card's sensitivity note never repeats the total as if it were a different figure, and never says "none
in this period" when there were some: the sentence is chosen by this period's flagged-order count (the count the
executive note states), not by whether the figures with and without them look the same once rounded."""

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
    assert rev.flagged_orders == 0 and rev.flagged_revenue == 0.0  # none in December: the "none" sentence is true
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
    card = KpiCard("revenue", "money", 202_873.0, change=60.0, without_flagged=2_873.0, change_without_flagged=-0.026,
                   flagged_orders=2, flagged_revenue=200_000.0)  # fmt: skip
    assert _note(card, "en").startswith("Without unusually large or small orders: $2.9k (-2.6% vs previous")


def test_a_small_flagged_order_that_rounds_away_is_not_called_none() -> None:
    # 2,873 with one flagged order of $3 this period, 2,870 without: both shown as $2.9k, yet there was one
    same = KpiCard("revenue", "money", 2_873.0, change=-0.9, without_flagged=2_870.0, change_without_flagged=0.01,
                   flagged_orders=1, flagged_revenue=3.0)  # fmt: skip
    assert fmt.money_short(2_873.0, "$") == fmt.money_short(2_870.0, "$") == "$2.9k"
    note = _note(same, "en")
    assert note == (
        "Without this period's 1 unusually large or small order ($3): about the same "
        "(+1.0% vs previous, – vs a year ago without them)"
    )
    assert "No unusually large or small orders" not in note
    assert _note(same, "zh").startswith("剔除本期 1 笔异常大额或小额订单（$3）后基本不变")
    # $1.2M either way, with a $5,000 flagged order this period
    big = KpiCard("revenue", "money", 1_200_000.0, change=0.3, without_flagged=1_195_000.0, change_without_flagged=0.1,
                  flagged_orders=1, flagged_revenue=5_000.0)  # fmt: skip
    said = "Without this period's 1 unusually large or small order ($5,000): about the same"
    assert _note(big, "en").startswith(said)
    # buyers: the 2 flagged orders' customers also bought other things, so 12 buy either way
    buyers = KpiCard("buyers", "count", 12.0, change=0.5, without_flagged=12.0, change_without_flagged=0.0,
                     flagged_orders=2, flagged_revenue=200_000.0)  # fmt: skip
    assert _note(buyers, "en").startswith("Without this period's 2 unusually large or small orders ($200,000): about")
    # the count unknown (a card built without it): the figure without them, never "none"
    unknown = KpiCard("revenue", "money", 2_873.0, change=-0.9, without_flagged=2_870.0, change_without_flagged=0.01)
    assert _note(unknown, "en").startswith("Without unusually large or small orders: $2.9k")


def test_the_card_and_the_executive_note_agree_on_this_periods_flagged_orders(tmp_path: Path) -> None:
    # two orders of 100,000 in November and one of $5 in December (unusually small: the others are 40-51): December's
    # revenue without it is $5 less, the same once rounded ($2.9k), while the change vs November moves by ~99 points
    extra = [{"customer_id": "c1", "order_id": f"big-{i}", "order_date": f"2024-11-1{i}", "amount": 100_000.0}
             for i in (1, 2)]  # fmt: skip
    extra.append({"customer_id": "c1", "order_id": "tiny", "order_date": "2024-12-15", "amount": 5.0})
    log = _log("2024-06-01", "2024-12-31", extra)
    summary = _context(tmp_path, log, "2024-12").stage("summary")
    rev = next(c for c in summary.cards if c.key == "revenue")
    dec = _revenue(log, "2024-12-01", "2024-12-31")  # incl. the $5
    assert rev.value == dec and rev.without_flagged == dec - 5.0
    assert fmt.money_short(dec, "$") == fmt.money_short(dec - 5.0, "$")
    assert rev.flagged_orders == 1 and rev.flagged_revenue == 5.0
    assert summary.headline["flagged_orders"] == 1  # the one count, as the index page reads it
    nov = _revenue(log, "2024-11-01", "2024-11-30")  # 30 days ending on 30 November, incl. the 200,000
    note = _note(rev, "en")
    assert note.startswith("Without this period's 1 unusually large or small order ($5): about the same")
    assert fmt.change((dec - 5.0) / (nov - 200_000) - 1) in note
    drive = [n for n in summary.notes if n.startswith("**Flagged orders drive")]
    assert drive == [
        f"**Flagged orders drive the revenue change vs the previous period**: {fmt.change(dec / nov - 1)} with them, "
        f"{fmt.change((dec - 5.0) / (nov - 200_000) - 1)} without. This period 1 flagged order brings $5 of "
        f"{fmt.money(dec, '$')}; the period compared with had 2 ($200,000)."
    ]
