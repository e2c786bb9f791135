"""The first screen of a report as HTML: KPI cards, the top actions and the alerts (issue 22 item 1).

The figures come from the summary stage (:func:`analysis.strategy.cards.kpi_cards`); every value and text passes
the one escaping function (:func:`analysis.report.markdown.escape`). Styles are in the report's CSS
(``templates/rfmkit/static/report.css``, classes ``rfm-cards``, ``rfm-card``, ``up``/``down``): a grid that wraps
to one column on a phone and prints without colour loss (signs and arrows carry the direction too).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from analysis.report.markdown import escape
from analysis.text import column_label, t
from analysis.text import format as fmt

if TYPE_CHECKING:
    from analysis.strategy.cards import KpiCard


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
    ]
    compared = [w for w in ("previous", "year_ago") if card.unavailable.get(w) != t("cards.not_compared", language)]
    if compared:  # CLV and value at stake are figures of this period only: no comparison lines
        values = {"previous": card.change, "year_ago": card.change_vs_year}
        parts += ["<ul>", *(_comparison(card, w, values[w], language) for w in compared), "</ul>"]
    if card.shows_unflagged:
        without = t(
            "cards.without_flagged", language, value=_value(card.without_flagged, card.kind, currency, language)
        )
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
