"""The first screen of a report (issue 22 item 1): KPI cards from the summary stage, recomputed by hand from the
raw rows of the window the card names; the figure without flagged orders past the params' threshold; small samples
marked unreliable; the HTML escaped, in both languages."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from analysis.report.cards import cards_html
from analysis.strategy.cards import KpiCard, alerts
from tests.test_honest_figures import N_CUSTOMERS, _context, _log, _revenue


def _buyers(log: pd.DataFrame, first: str, last: str) -> int:
    day = pd.to_datetime(log["order_date"])
    return int(log.loc[(day >= first) & (day <= last), "customer_id"].nunique())


def test_cards_recomputed_by_hand_and_small_samples_marked(tmp_path: Path) -> None:
    log = _log("2024-09-01", "2024-12-31")
    summary = _context(tmp_path, log, "2024-12").stage("summary")
    cards = {c.key: c for c in summary.cards}
    assert list(cards)[:4] == ["revenue", "buyers", "new_customers", "retention_rate"]
    assert 4 <= len(cards) <= 6
    rev = cards["revenue"]
    # December's 31 days against the 31 days ending on 30 November (analysis.window.equal_window)
    dec, nov = _revenue(log, "2024-12-01", "2024-12-31"), _revenue(log, "2024-10-31", "2024-11-30")
    assert rev.value == dec and math.isclose(rev.change, dec / nov - 1)
    assert math.isnan(rev.change_vs_year) and rev.unavailable["year_ago"] == "n/a — data starts 2024-09-01"
    b_dec, b_nov = _buyers(log, "2024-12-01", "2024-12-31"), _buyers(log, "2024-10-31", "2024-11-30")
    assert cards["buyers"].value == b_dec == N_CUSTOMERS
    # revenue's why: buying customers and revenue per buying customer, which multiply to the revenue change
    per_buyer = (dec / b_dec) / (nov / b_nov) - 1
    assert b_dec == b_nov  # the same 12 customers: no change, shown unsigned (a change that rounds to zero)
    assert rev.why == f"Buying customers 0.0%, revenue per buying customer {per_buyer:+.1%}."
    # 12 customers: fewer than the params' report.min_customers (20): unreliable, with the count
    assert cards["buyers"].unreliable == f"rests on {N_CUSTOMERS} customers only"
    assert not rev.shows_unflagged  # no flagged orders


def test_flagged_orders_past_the_threshold_show_the_figure_without_them(tmp_path: Path) -> None:
    huge = [{"customer_id": "c1", "order_id": f"big-{i}", "order_date": f"2024-12-1{i}", "amount": 100_000.0}
            for i in (1, 2)]  # fmt: skip
    log = _log("2024-01-01", "2024-12-31", huge)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    rev = next(c for c in _context(tmp_path / "a", log, "2024-12").stage("summary").cards if c.key == "revenue")
    total = _revenue(log, "2024-12-01", "2024-12-31")
    assert rev.shows_unflagged and rev.without_flagged == total - 200_000
    assert abs(rev.change_without_flagged) < 0.25 and rev.change > 10
    # a threshold above the move: the card shows the total only, and no sentence says the flagged orders drive it
    ctx = _context(tmp_path / "b", log, "2024-12", report={"flagged_change_points": 100_000})
    summary = ctx.stage("summary")
    assert not next(c for c in summary.cards if c.key == "revenue").shows_unflagged
    assert not [n for n in summary.notes if n.startswith("**Flagged orders drive")]


def test_the_first_screen_html_is_escaped_and_in_both_languages() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    cards = [
        KpiCard("revenue", "money", 1234.0, 0.25, -0.1, 1000.0, 0.02, -0.2, why=hostile),
        KpiCard(
            "buyers",
            "count",
            7.0,
            math.nan,
            0.0,
            unavailable={"previous": "n/a — data starts 2024-09-01"},
            unreliable="rests on 7 customers only",
        ),
    ]
    top = pd.DataFrame({"action": [hostile], "customers": [3], "value_at_stake": [50.0], "what_to_do": ["Call"]})
    warned = alerts(pd.DataFrame({"value_at_stake": [10.0, 5.0]}), 1000, 30, "$", "en")
    assert warned == [
        "2 valuable customers show a churn warning ($15 at stake): see the Strategy section.",
        "30 input rows (3.0%) were set aside by cleaning: see Data quality in the appendix.",
    ]
    assert alerts(pd.DataFrame(), 1000, 9, "$", "en") == []  # under 1 % set aside, no warning: no alert
    page = cards_html(cards, [*warned, hostile], top, "$", "en")
    soup = BeautifulSoup(page, "html.parser")
    assert soup.find("img") is None and page.count("&lt;img src=x onerror=alert(1)&gt;") == 3
    rev = soup.select_one('[data-kpi="revenue"]')
    assert rev.select_one(".rfm-value").get_text() == "$1.2k"
    assert [li["class"][-1] for li in rev.select(".rfm-change")] == ["up", "down"]
    assert "Without unusually large or small orders: $1.0k" in rev.get_text()
    buyers = soup.select_one('[data-kpi="buyers"]')
    assert "n/a — data starts 2024-09-01" in buyers.get_text() and "Unreliable: rests on 7" in buyers.get_text()
    assert "unreliable" in buyers["class"]
    zh = BeautifulSoup(cards_html(cards, [], top, "¥", "zh"), "html.parser").get_text()
    assert "收入" in zh and "较上期" in zh and "本期无提醒" in zh and "Revenue" not in zh


def test_a_backtest_row_of_a_handful_of_customers_is_marked_not_headlined() -> None:
    """A segment of 3 customers with a +2,400 % error: no percentage shown, the reason instead (item 2)."""
    from analysis.report.tables import styled_backtest

    bt = pd.DataFrame(
        {"customers": [3, 50], "forecast_purchases": [1.0, 10.0], "actual_purchases": [0.04, 9.0],
         "purchases_error": [0.96, 1.0], "purchases_pct_error": [24.0, 0.11], "forecast_revenue": [100.0, 1000.0],
         "actual_revenue": [4.0, 900.0], "revenue_error": [96.0, 100.0], "revenue_pct_error": [24.0, 0.11]},
        index=pd.Index(["Champions", "(all existing)"], name="segment"),
    )  # fmt: skip
    rows = BeautifulSoup(styled_backtest(bt, "$", "en").to_html(), "html.parser").select("tbody tr")
    small, big = ([c.get_text() for c in r.find_all(["td", "th"])] for r in rows)
    assert "2,400.0%" not in small and small[-1] == "Unreliable: rests on 3 customers only"
    assert "11.0%" in big and big[-1] == ""
    assert "Unreliable" not in styled_backtest(bt, "$", "en", min_customers=2).to_html()
    zh = styled_backtest(bt, "¥", "zh").to_html()
    assert "不可靠：仅基于 3 位客户" in zh and "可靠性" in zh


def test_plural_forms_come_from_the_catalog(tmp_path: Path) -> None:
    """'1 order', '3 orders'; Chinese without plural; the index's run count (issue 22 item 4)."""
    from analysis.report.index_page import RunEntry, write_index
    from analysis.text import t

    assert t("strategy.note_missing_clv", "en", n=1) == "1 customer has no CLV; their monetary value is used instead."
    assert t("strategy.note_missing_clv", "en", n="1,234").startswith("1,234 customers have no CLV")
    one = RunEntry("2024-12", "North", "ok", "2024-12/North/report.html")
    assert "<p>1 run</p>" in write_index(tmp_path / "a", "T", [one]).read_text(encoding="utf-8")
    two = [one, RunEntry("2024-11", "North", "ok", "2024-11/North/report.html")]
    assert "<p>2 runs</p>" in write_index(tmp_path / "b", "T", two).read_text(encoding="utf-8")
    assert "<p>2 次运行</p>" in write_index(tmp_path / "c", "T", two, "¥", "zh").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------- trend lines


def test_trend_lines_are_the_cards_computation_over_the_last_months(tmp_path: Path) -> None:
    """Each card's trend: one point per month up to this one (at most 12, none before the data), each month's
    revenue and buyers recomputed from the raw rows, this month's point the card's value; the data's first month
    (they start on the 15th) and this month (they end on the 9th) are partial; no new customers in the data's first
    month, no retention where its base window is not in the data."""
    from analysis.strategy.cards import TREND_PERIODS

    log = _log("2023-12-15", "2024-12-09")
    summary = _context(tmp_path, log, "2024-12").stage("summary")
    cards = {c.key: c for c in summary.cards}
    rev = cards["revenue"].trend
    # 13 months of data, the last 12 drawn: December 2023 (the data's first, partial month) is left out
    assert len(rev) == TREND_PERIODS == 12 and rev.periods[0] == "2024-01" and rev.periods[-1] == "2024-12"
    for i, period in enumerate(rev.periods[:-1]):
        first, last = (d.date().isoformat() for d in (pd.Period(period).start_time, pd.Period(period).end_time))
        assert rev.values[i] == _revenue(log, first, last), period
        assert cards["buyers"].trend.values[i] == _buyers(log, first, last), period
        assert not rev.partial(i)
    assert rev.values[-1] == cards["revenue"].value == _revenue(log, "2024-12-01", "2024-12-09")
    assert (rev.days[-1], rev.period_days[-1]) == (9, 31) and rev.partial(len(rev) - 1)
    for key in ("buyers", "new_customers", "retention_rate"):
        assert cards[key].trend.values[-1] == cards[key].value, key
    # January's retention follows the buyers of 31 December days, from before the data: none; February's, January's
    assert math.isnan(cards["retention_rate"].trend.values[0]) and cards["retention_rate"].trend.values[1] == 1.0
    assert "clv" not in cards or cards["clv"].trend is None  # no history of the CLV of the base
    assert cards["value_at_stake"].trend is None

    # the data's first month in the line: partial, without new customers, without retention
    from analysis.strategy.cards import kpi_trend
    from analysis.window import Window

    later = Window("2024-03", pd.Timestamp("2024-01-15"), pd.Timestamp("2024-12-09"))
    trends = kpi_trend(summary_tx(log), later)
    rev = trends["revenue"]
    assert rev.periods == ("2024-01", "2024-02", "2024-03") and rev.partial(0) and rev.days[0] == 17
    assert not rev.partial(2) and rev.values[2] == _revenue(log, "2024-03-01", "2024-03-31")
    assert rev.values[0] == _revenue(log, "2024-01-15", "2024-01-31")
    assert math.isnan(trends["new_customers"].values[0]) and trends["new_customers"].values[1] == 0
    assert math.isnan(trends["retention_rate"].values[0])


def summary_tx(log: pd.DataFrame) -> pd.DataFrame:
    """The raw log as clean transactions (its columns already are; dates as Timestamps), from 15 Jan 2024."""
    tx = log.assign(order_date=pd.to_datetime(log["order_date"]))
    return tx[tx["order_date"] >= "2024-01-15"].reset_index(drop=True)


def test_a_trend_line_is_inline_svg_with_its_window_in_words() -> None:
    """The line as SVG without script or link; complete months joined by a solid line, the partial month hollow and
    dashed; a month without a value breaks the line; a text alternative naming the window and every value."""
    from analysis.report.cards import sparkline_svg
    from analysis.strategy.cards import Trend

    periods = tuple(str(pd.Period("2024-01") + i) for i in range(12))
    values = (100.0, 120.0, math.nan, 90.0, 95.0, 130.0, 140.0, 150.0, 160.0, 150.0, 170.0, 40.0)
    days = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 9)
    lengths = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
    covered = (None,) * 11 + ((pd.Timestamp("2024-12-01"), pd.Timestamp("2024-12-09")),)
    card = KpiCard("revenue", "money", 40.0, trend=Trend(periods, values, days, lengths, covered))
    soup = BeautifulSoup(sparkline_svg(card, "$", "en"), "html.parser")
    svg = soup.find("svg")
    assert svg["role"] == "img" and not soup.find(["script", "a", "image", "use", "foreignobject"])
    alt = svg["aria-label"]
    # the partial month named as every chart names it (analysis.window.partial_label)
    assert alt.startswith("Revenue, last 12 months · ○ 1–9 Dec (partial): Jan 2024 $100, Feb 2024 $120, Mar 2024 –")
    assert alt.endswith("Dec 2024 $40 — 1–9 Dec (partial).") and svg.find("title").get_text() == alt
    assert soup.select_one(".rfm-trend-caption").get_text() == "last 12 months · ○ 1–9 Dec (partial)"
    lines = svg.select("polyline.rfm-spark-line")
    assert [len(p["points"].split()) for p in lines] == [2, 8]  # Jan–Feb, Apr–Nov; March has no value
    assert len(svg.select("line.rfm-spark-partial")) == 1 and svg.select_one("line")["stroke-dasharray"]
    hollow = svg.select("circle.rfm-spark-open")
    assert len(hollow) == 1 and hollow[0]["fill"] == "#ffffff" and not svg.select("circle.rfm-spark-dot")
    # the highest value on top, the lowest at the bottom of the box
    ys = {float(c) for p in lines for c in p["points"].replace(",", " ").split()[1::2]}
    assert min(ys) == 3.0 and float(hollow[0]["cy"]) == 27.0
    zh = BeautifulSoup(sparkline_svg(card, "¥", "zh"), "html.parser")
    assert zh.find("svg")["aria-label"].startswith("收入，近 12 个月 · ○ 12月1–9日（不完整）：2024年1月 ¥100、")
    # complete: a filled dot at the end, no dashes; one value or none: no line at all
    whole = Trend(periods[:3], (1.0, 2.0, 3.0), (31, 29, 31), (31, 29, 31))
    done = BeautifulSoup(sparkline_svg(KpiCard("buyers", "count", 3.0, trend=whole), "$", "en"), "html.parser")
    assert done.select("circle.rfm-spark-dot") and not done.select(".rfm-spark-partial")
    assert done.select_one(".rfm-trend-caption").get_text() == "last 3 months"
    one = Trend(periods[:2], (math.nan, 2.0), (31, 29), (31, 29))
    assert sparkline_svg(KpiCard("buyers", "count", 2.0, trend=one), "$", "en") == ""


def test_the_revenue_line_ends_at_the_card_with_an_unmatched_return(tmp_path: Path) -> None:
    """An £18 return on 5 December matched to no purchase (customer zz bought nothing in the data): the card's revenue
    is December's purchases − £18 (Cleaned.money's net), and so is the last point of its line; November is untouched."""
    back = {"customer_id": "zz", "order_id": "C1", "order_date": "2024-12-05", "amount": -18.0}
    log = _log("2024-10-01", "2024-12-31", extra=[back])
    summary = _context(tmp_path, log, "2024-12").stage("summary")
    rev = {c.key: c for c in summary.cards}["revenue"]
    bought = log[log["amount"] > 0]
    assert rev.value == pytest.approx(_revenue(bought, "2024-12-01", "2024-12-31") - 18.0)
    assert rev.trend.periods[-2:] == ("2024-11", "2024-12")
    assert rev.trend.values[-1] == rev.value
    assert rev.trend.values[-2] == pytest.approx(_revenue(bought, "2024-11-01", "2024-11-30"))
