"""Numbers, money and dates as a reader expects them, in each language.

One place decides how a figure looks in tables, charts and sentences:

* money carries its symbol before the number and the sign before the symbol: ``-$593``, ``¥1,234``,
  ``€12.50``; a currency written as an ISO code that has a common symbol is shown with the symbol
  (``CNY`` → ``¥``, ``EUR`` → ``€``), any other code is written before the number (``CHF 1,234``);
* integers carry thousands separators and no decimals (``1,234``), whatever their dtype (a rank
  stored as ``1.0`` is shown as ``1``);
* percentages one decimal by default (``12.3%``), changes signed (``+12.3%``); a value that rounds to zero
  is shown without a sign (``0.0%``, ``0.0 pt``, never ``-0.0%``);
* dates as ``YYYY-MM-DD`` (never ``00:00:00``), long dates as ``9 Dec 2011`` / ``2011年12月9日``.

A missing value (None, NaN, NaT) is shown as :data:`MISSING` in every function.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.text import check_language, t

#: How a missing figure is shown.
MISSING = "–"

#: ISO currency codes (and common spellings) shown with their symbol.
CURRENCY_SYMBOLS: dict[str, str] = {
    "USD": "$",
    "CNY": "¥",
    "RMB": "¥",
    "JPY": "¥",
    "EUR": "€",
    "GBP": "£",
    "INR": "₹",
    "KRW": "₩",
}


def _missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def currency_symbol(currency: str) -> str:
    """The symbol shown for ``currency``: ``"CNY"`` → ``"¥"``; a symbol or unknown code is kept as given."""
    code = str(currency).strip()
    return CURRENCY_SYMBOLS.get(code.upper(), code)


def money(value: Any, currency: str = "$", language: str = "en", decimals: int | None = 0) -> str:
    """``value`` as an amount of ``currency``: ``money(-593, "$")`` → ``"-$593"``.

    Parameters
    ----------
    value : float
        The amount, in ``currency``.
    currency : str, default="$"
        A symbol (``$``, ``¥``, ``£``) or an ISO code (``CNY``, ``EUR``, ``CHF``); see :func:`currency_symbol`.
    language : {"en", "zh"}, default="en"
        Both languages put the symbol first (``¥1,234`` is how Chinese reports write yuan).
    decimals : int or None, default=0
        Digits after the point; ``None`` chooses: whole units when the amount is whole or at least 100,
        two decimals otherwise (``$5``, ``$1.50``, ``$2,776``).
    """
    check_language(language)
    if _missing(value):
        return MISSING
    x = float(value)
    if decimals is None:
        decimals = 0 if abs(x) >= 100 or math.isclose(x, round(x), abs_tol=0.005) else 2
    if round(x, decimals) == 0:
        x = 0.0  # no "-$0"
    symbol = currency_symbol(currency)
    number = f"{abs(x):,.{decimals}f}"
    sign = "-" if x < 0 else ""
    if symbol.isalpha() and len(symbol) > 1:  # an ISO code without a common symbol
        return f"{sign}{symbol} {number}"
    return f"{sign}{symbol}{number}"


def money_short(value: Any, currency: str = "$", language: str = "en") -> str:
    """Compact amounts for chart axes: ``$1.2k``, ``-$3.4M``, ``¥2.0B``; below 1,000 whole units."""
    check_language(language)
    if _missing(value):
        return MISSING
    x = float(value)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return money(x / div, currency, language, decimals=1) + suffix
    return money(x, currency, language, decimals=0)


def integer(value: Any, language: str = "en") -> str:
    """A count or rank with thousands separators and no decimals: ``1234.0`` → ``"1,234"``."""
    check_language(language)
    if _missing(value):
        return MISSING
    return f"{round(float(value)):,}"


def number(value: Any, language: str = "en", decimals: int = 1) -> str:
    """A measure with thousands separators and ``decimals`` digits: ``1234.56`` → ``"1,234.6"``."""
    check_language(language)
    if _missing(value):
        return MISSING
    return f"{float(value):,.{decimals}f}"


def _zero_if_rounds_to_zero(x: float, decimals: int) -> float:
    """``x`` (in the unit shown), or ``0.0`` when it rounds to zero at ``decimals`` digits: no "-0.0"."""
    return 0.0 if round(x, decimals) == 0 else x


def percent(value: Any, language: str = "en", decimals: int = 1) -> str:
    """A fraction as a percentage: ``0.123`` → ``"12.3%"``; ``-0.0001`` → ``"0.0%"`` (never ``"-0.0%"``)."""
    check_language(language)
    if _missing(value):
        return MISSING
    shown = _zero_if_rounds_to_zero(float(value) * 100, decimals)
    return f"{shown:.{decimals}f}%"


#: Relative changes beyond this (a fraction; 10 = +1,000 %) come from a tiny base and are shown as "new".
LARGE_CHANGE = 10.0


def change(value: Any, language: str = "en", decimals: int = 1) -> str:
    """A relative change (a fraction) with its sign: ``0.2`` → ``"+20.0%"``.

    A growth above :data:`LARGE_CHANGE` (from a base too small to compare with) reads "new" (新增).
    """
    check_language(language)
    if _missing(value):
        return MISSING
    if float(value) > LARGE_CHANGE:
        return t("format.new", language)
    return signed_percent(value, language, decimals)


def signed_percent(value: Any, language: str = "en", decimals: int = 1) -> str:
    """A fraction as a percentage with its sign, however large: ``-0.032`` → ``"-3.2%"``, ``12`` → ``"+1200.0%"``;
    one that rounds to zero is ``"0.0%"`` (a prediction's error against what happened, where "new" means nothing)."""
    check_language(language)
    if _missing(value):
        return MISSING
    shown = _zero_if_rounds_to_zero(float(value) * 100, decimals)
    return f"{shown:.{decimals}f}%" if shown == 0 else f"{shown:+.{decimals}f}%"


def points(value: Any, language: str = "en", decimals: int = 1) -> str:
    """A difference of two rates (fractions) in percentage points: ``0.05`` → ``"+5.0 pt"`` / ``"+5.0 个百分点"``;
    a difference that rounds to zero is ``"0.0 pt"``."""
    check_language(language)
    if _missing(value):
        return MISSING
    shown = _zero_if_rounds_to_zero(float(value) * 100, decimals)
    return t("format.points", language, value=f"{shown:.{decimals}f}" if shown == 0 else f"{shown:+.{decimals}f}")


def date(value: Any, language: str = "en") -> str:
    """A day as ``YYYY-MM-DD`` (no time of day): ``Timestamp("2024-10-02 00:00")`` → ``"2024-10-02"``."""
    check_language(language)
    if _missing(value):
        return MISSING
    return pd.Timestamp(value).strftime("%Y-%m-%d")


def date_long(value: Any, language: str = "en") -> str:
    """A day for sentences: ``9 Dec 2011`` (en), ``2011年12月9日`` (zh)."""
    check_language(language)
    if _missing(value):
        return MISSING
    d = pd.Timestamp(value)
    return t("format.date_long", language, day=d.day, month=t(f"format.month.{d.month}", language), year=d.year)
