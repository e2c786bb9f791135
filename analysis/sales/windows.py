"""The windows of a sales run: the period, the period before and the same period a year ago.

A period is a calendar month (``YYYY-MM``) or quarter (``YYYY-Qn``); every window is a pair of days, first and last
inclusive. When the CRM export ends inside the period (its last date, :attr:`SalesData.data_end`, is before the
period's last day) the period is *partial*: it is measured up to the data's last day. The previous period and the
year-ago period always have as many days as this one (:func:`analysis.window.equal_window`: the first days of that
period, or, when it is shorter, the days ending on its last day), so that like is compared with like. Pace in the rep
scorecard uses the days elapsed (:attr:`SalesWindow.elapsed_share`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from analysis.errors import ParamsError
from analysis.window import equal_window

_PERIOD = re.compile(r"^(\d{4})-(?:(\d{2})|Q([1-4]))$")


def parse_sales_period(period: str) -> pd.Period:
    """A ``YYYY-MM`` or ``YYYY-Qn`` text as a pandas Period; a :class:`ParamsError` naming the fix otherwise."""
    m = _PERIOD.match(str(period).strip())
    if not m or (m.group(2) and not 1 <= int(m.group(2)) <= 12):
        raise ParamsError(
            f"period '{period}' is not a month or a quarter; write YYYY-MM (2017-12) or YYYY-Qn (2017-Q4)"
        )
    if m.group(3):
        return pd.Period(f"{m.group(1)}Q{m.group(3)}", freq="Q")
    return pd.Period(f"{m.group(1)}-{m.group(2)}", freq="M")


def period_text(period: pd.Period) -> str:
    """``2017-12`` or ``2017-Q4``."""
    return f"{period.year}-Q{period.quarter}" if period.freqstr.startswith("Q") else period.strftime("%Y-%m")


@dataclass(frozen=True)
class Span:
    """A window of days, ``first`` and ``last`` inclusive, with the period it belongs to."""

    period: str
    first: pd.Timestamp
    last: pd.Timestamp

    @property
    def days(self) -> int:
        """Days in the window (inclusive)."""
        return int((self.last - self.first).days) + 1

    def text(self) -> str:
        """``2017-12-01..2017-12-31``."""
        return f"{self.first:%Y-%m-%d}..{self.last:%Y-%m-%d}"


@dataclass(frozen=True)
class SalesWindow:
    """The windows of one run.

    Attributes
    ----------
    current, previous, year_ago : Span
        This period (up to the data's last day when partial), the one before, and the same one a year earlier,
        the last two cut to as many days as ``current``.
    period_days : int
        Days of the whole period; ``partial`` when ``current`` is shorter.
    """

    current: Span
    previous: Span
    year_ago: Span
    period_days: int

    @property
    def partial(self) -> bool:
        """Whether the data end inside the period."""
        return self.current.days < self.period_days

    @property
    def elapsed_share(self) -> float:
        """Share of the period's days covered by the data (1.0 for a full period)."""
        return self.current.days / self.period_days


def sales_window(period: str, data_end: pd.Timestamp) -> SalesWindow:
    """The windows of ``period`` given the data's last day.

    Raises
    ------
    ParamsError
        When the data end before the period starts (nothing to report), naming the last day and the fix.
    """
    p = parse_sales_period(period)
    first, full_last = p.start_time.normalize(), p.end_time.normalize()
    if data_end < first:
        raise ParamsError(
            f"period {period} starts after the data end ({data_end:%Y-%m-%d}, the last date in the CRM export); "
            "choose an earlier --period"
        )
    last = min(full_last, pd.Timestamp(data_end).normalize())
    days = int((last - first).days) + 1

    def span(q: pd.Period) -> Span:  # as many days as this window: the kit's one rule (analysis.window)
        return Span(period_text(q), *equal_window(q.start_time, q.end_time, days))

    lag = 4 if p.freqstr.startswith("Q") else 12
    return SalesWindow(
        current=Span(period_text(p), first, last),
        previous=span(p - 1),
        year_ago=span(p - lag),
        period_days=int((full_last - first).days) + 1,
    )
