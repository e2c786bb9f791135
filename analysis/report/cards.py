"""The first screen of a report as HTML: KPI cards, the top actions and the alerts (issue 22 item 1).

The figures come from the summary stage (:func:`analysis.strategy.cards.kpi_cards`); every value and text passes
the one escaping function (:func:`analysis.report.markdown.escape`). Styles are in the report's CSS
(``templates/rfmkit/static/report.css``, classes ``rfm-cards``, ``rfm-card``, ``up``/``down``): a grid that wraps
to one column on a phone and prints without colour loss (signs and arrows carry the direction too).

A card's trend line (:func:`sparkline_svg`) is inline SVG drawn here from the card's :class:`~analysis.strategy.cards.
Trend` — no script, nothing fetched (the report's Content-Security-Policy allows neither) — with a text alternative
naming its window and every value.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from analysis.report.markdown import escape
from analysis.text import column_label, t
from analysis.text import format as fmt
from analysis.window import partial_label

if TYPE_CHECKING:
    from analysis.strategy.cards import KpiCard, Trend

#: A trend line's box (SVG user units = CSS pixels at 100 %) and the margin kept around the line.
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 140.0, 30.0, 3.0
#: The line's colour; drawn with SVG attributes (not the report's CSS) so it looks the same in a notebook.
SPARK_COLOUR = "#57606a"
_LINE = f'fill="none" stroke="{SPARK_COLOUR}" stroke-width="1.5" stroke-linejoin="round"'
_DASHED = f'{_LINE} stroke-dasharray="3 2"'


def _value(value: float, kind: str, currency: str, language: str) -> str:
    if kind == "money":
        return fmt.money_short(value, currency, language)
    if kind == "pct":
        return fmt.percent(value, language)
    return fmt.integer(value, language)


def _change(value: float, kind: str, language: str) -> str:
    return fmt.points(value, language) if kind == "pct" else fmt.change(value, language)


def _direction(value: float) -> str:
    if math.isnan(value) or value == 0:
        return "flat"
    return "up" if value > 0 else "down"


def _comparison(card: KpiCard, which: str, value: float, language: str) -> str:
    label = t("cards.vs_previous" if which == "previous" else "cards.vs_year", language)
    if which in card.unavailable or math.isnan(value):
        reason = card.unavailable.get(which, "n/a")
        return f'<li class="rfm-change na">{escape(label)}: {escape(reason)}</li>'
    arrow = {"up": "▲", "down": "▼", "flat": "■"}[_direction(value)]
    shown = escape(_change(value, card.kind, language))
    return f'<li class="rfm-change {_direction(value)}">{arrow} {shown} {escape(label)}</li>'


def _month(period: str, language: str) -> str:
    p = pd.Period(period, freq="M")
    return t("cards.trend_month", language, month=t(f"format.month.{p.month}", language), year=p.year)


def _partial(tr: Trend, i: int, language: str) -> str:
    """How a partial period reads ("1–9 Dec (partial)", :func:`analysis.window.partial_label`, as every chart)."""
    covered = tr.covered[i] if tr.covered else None
    if covered is None:  # a trend built without the coverage: its days
        return t("cards.trend_days", language, days=tr.days[i], period_days=tr.period_days[i])
    return partial_label(covered, language)


def trend_text(card: KpiCard, currency: str, language: str) -> tuple[str, str]:
    """A trend line's words in ``language``: the caption shown under it (its window: "last 12 months", and the
    partial month: "○ 1–9 Dec (partial)") and the text alternative (the KPI, the window, every period's value)."""
    tr = card.trend
    assert tr is not None
    n = len(tr)
    caption = t("cards.trend_caption", language, n=n)
    if tr.partial(n - 1):
        caption = t("cards.trend_caption_partial", language, n=n, partial=_partial(tr, n - 1, language))
    sep = t("strategy.list_separator", language)
    values = sep.join(
        t("cards.trend_value", language, period=_month(p, language), value=_value(v, card.kind, currency, language))
        + (t("cards.trend_partial", language, partial=_partial(tr, i, language)) if tr.partial(i) else "")
        for i, (p, v) in enumerate(zip(tr.periods, tr.values, strict=True))
    )
    alt = t("cards.trend_alt", language, label=t(f"cards.label.{card.key}", language), window=caption, values=values)
    return caption, alt


def sparkline_svg(card: KpiCard, currency: str, language: str) -> str:
    """The card's trend line as inline SVG (``""`` without two values to join): complete periods joined by a solid
    line, a partial period (:meth:`Trend.partial`) drawn hollow and joined by a dashed line, gaps where the data
    give no value; ``role="img"`` with the text alternative of :func:`trend_text`, the caption under it."""
    tr: Trend | None = card.trend
    if tr is None or sum(not math.isnan(v) for v in tr.values) < 2:
        return ""
    n = len(tr)
    known = [v for v in tr.values if not math.isnan(v)]
    lo, hi = min(known), max(known)
    if lo == hi:
        lo, hi = lo - 1.0, hi + 1.0  # a flat line sits in the middle
    inner_w, inner_h = SPARK_WIDTH - 2 * SPARK_PAD, SPARK_HEIGHT - 2 * SPARK_PAD

    def xy(i: int) -> tuple[float, float]:
        x = SPARK_PAD + (inner_w * i / (n - 1) if n > 1 else inner_w / 2)
        y = SPARK_PAD + inner_h * (hi - tr.values[i]) / (hi - lo)
        return round(x, 1), round(y, 1)

    shapes: list[str] = []
    run: list[int] = []
    for i in range(n + 1):  # solid runs of complete periods; a partial period joined by a dashed segment
        ok = i < n and not math.isnan(tr.values[i]) and not tr.partial(i)
        if ok:
            run.append(i)
            continue
        if len(run) > 1:
            pts = " ".join(f"{x},{y}" for x, y in map(xy, run))
            shapes.append(f'<polyline class="rfm-spark-line" points="{pts}" {_LINE}/>')
        run = []
    for i in range(n):
        if math.isnan(tr.values[i]) or not tr.partial(i):
            continue
        x, y = xy(i)
        for j in (i - 1, i + 1):
            if 0 <= j < n and not math.isnan(tr.values[j]):
                x2, y2 = xy(j)
                shapes.append(f'<line class="rfm-spark-partial" x1="{x2}" y1="{y2}" x2="{x}" y2="{y}" {_DASHED}/>')
        shapes.append(
            f'<circle class="rfm-spark-open" cx="{x}" cy="{y}" r="2.5" fill="#ffffff" stroke="{SPARK_COLOUR}"/>'
        )
    last = n - 1
    if not math.isnan(tr.values[last]) and not tr.partial(last):
        x, y = xy(last)
        shapes.append(f'<circle class="rfm-spark-dot" cx="{x}" cy="{y}" r="2.5" fill="{SPARK_COLOUR}"/>')
    caption, alt = trend_text(card, currency, language)
    svg = (
        f'<svg class="rfm-spark" viewBox="0 0 {SPARK_WIDTH:g} {SPARK_HEIGHT:g}" width="{SPARK_WIDTH:g}" '
        f'height="{SPARK_HEIGHT:g}" role="img" aria-label="{escape(alt, "attribute")}">'
        f"<title>{escape(alt)}</title>{''.join(shapes)}</svg>"
    )
    return f'<div class="rfm-trend">{svg}<div class="rfm-trend-caption">{escape(caption)}</div></div>'


def unflagged_text(card: KpiCard, currency: str, language: str) -> str:
    """The card's sentence about its figure without flagged orders, chosen by this period's flagged-order count
    (``card.flagged_orders``, the count the executive note states), never by whether the figures look alike:

    - none this period (those left out are all in a period compared with) and the same figure: says so, without
      repeating the figure as if it were another one;
    - some this period but the figure without them is the same once rounded (a small order, or buyers who also
      bought other things): "about the same", with their count and revenue — not "none";
    - otherwise (or the count unknown): the figure without them.
    """
    shown = _value(card.without_flagged, card.kind, currency, language)
    same = shown == _value(card.value, card.kind, currency, language)
    n = card.flagged_orders
    if same and n == 0:
        return t("cards.without_flagged_none", language)
    if same and n:
        return t("cards.without_flagged_same", language, n=fmt.integer(n, language),
                 flagged=fmt.money(card.flagged_revenue, currency, language))  # fmt: skip
    return t("cards.without_flagged", language, value=shown)


def card_html(card: KpiCard, currency: str, language: str) -> str:
    """One card: label, value, the two comparisons, the figure without flagged orders, why, unreliable."""
    label = escape(t(f"cards.label.{card.key}", language))
    if math.isnan(card.value):
        reason = card.unavailable.get("value", "n/a")
        why = f'<div class="rfm-why">{escape(reason)}</div>'
        return f'<div class="rfm-card na"><div class="rfm-label">{label}</div>{why}</div>'
    parts = [
        f'<div class="rfm-card{" unreliable" if card.unreliable else ""}" data-kpi="{escape(card.key, "attribute")}">',
        f'<div class="rfm-label">{label}</div>',
        f'<div class="rfm-value">{escape(_value(card.value, card.kind, currency, language))}</div>',
        sparkline_svg(card, currency, language),
    ]
    compared = [w for w in ("previous", "year_ago") if card.unavailable.get(w) != t("cards.not_compared", language)]
    if compared:  # CLV and value at stake are figures of this period only: no comparison lines
        values = {"previous": card.change, "year_ago": card.change_vs_year}
        parts += ["<ul>", *(_comparison(card, w, values[w], language) for w in compared), "</ul>"]
    if card.shows_unflagged:
        without = unflagged_text(card, currency, language)
        changes = t("cards.changes_without_flagged", language,
                    change=_change(card.change_without_flagged, card.kind, language),
                    year=_change(card.change_vs_year_without_flagged, card.kind, language))  # fmt: skip
        parts.append(f'<div class="rfm-unflagged">{escape(without)} {escape(changes)}</div>')
    if card.why:
        parts.append(f'<div class="rfm-why">{escape(card.why)}</div>')
    if card.unreliable:
        parts.append(
            f'<div class="rfm-unreliable">{escape(t("cards.unreliable", language, reason=card.unreliable))}</div>'
        )
    parts.append("</div>")
    return "".join(parts)


def cards_html(
    cards: list[KpiCard],
    alerts: list[str],
    top_actions: pd.DataFrame,
    currency: str,
    language: str,
    n_actions: int = 3,
) -> str:
    """The first screen: the cards, then the top ``n_actions`` actions with their value at stake, then the alerts."""
    out = ['<div class="rfm-first">', '<div class="rfm-cards">']
    out += [card_html(c, currency, language) for c in cards]
    out.append("</div>")
    if len(top_actions):
        out.append(f'<h3 class="rfm-h">{escape(t("cards.top_actions", language))}</h3><ol class="rfm-actions">')
        for _, row in top_actions.head(n_actions).iterrows():
            stake = fmt.money(row["value_at_stake"], currency, language)
            who = f"{fmt.integer(row['customers'], language)}"
            out.append(
                f"<li><strong>{escape(row['action'])}</strong> — {escape(stake)} · {escape(who)} "
                f"{escape(column_label('customers', language))}"
                f'<div class="rfm-why">{escape(row.get("what_to_do", ""))}</div></li>'
            )
        out.append("</ol>")
    out.append(f'<h3 class="rfm-h">{escape(t("cards.alerts", language))}</h3>')
    if alerts:
        out.append('<ul class="rfm-alerts">' + "".join(f"<li>{escape(a)}</li>" for a in alerts) + "</ul>")
    else:
        out.append(f'<p class="rfm-alerts none">{escape(t("cards.no_alerts", language))}</p>')
    out.append("</div>")
    return "".join(out)
