"""The time window of a run: a calendar month, the day it is scored on, and the windows it is compared with.

**One date type.** Every day that crosses a module boundary is a :class:`pandas.Timestamp` at midnight (no time
of day, no time zone): :func:`day` makes one from what people and files hold (``"2024-06-30"``, a ``date``, a
``datetime``, a Timestamp with a time of day), and every window bound below is such a day. Bounds are inclusive
days: a window ``(first, last)`` holds every purchase whose day is on or after ``first`` and on or before ``last``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass

import pandas as pd

from analysis.errors import InputError, ParamsError
from analysis.missing import Missing
from analysis.params import PERIOD_RE

#: Periods shown in the lifecycle-over-time chart.
LIFECYCLE_PERIODS = 6

#: What a day may be given as.
DayLike = str | _dt.date | pd.Timestamp


def as_day(value: object, name: str = "day") -> pd.Timestamp:
    """``value`` as the kit's one date type: a :class:`pandas.Timestamp` at midnight, its time of day and time zone
    dropped (a day is the day on the wall clock). :class:`~analysis.errors.InputError` naming ``name`` when it is not
    a date, or missing."""
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{name}={value!r} is not a date: pass e.g. '1997-09-30'") from None
    if pd.isna(ts):
        raise InputError(f"{name} is missing: pass an explicit date such as '1997-09-30'")
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def local_time(stamps: pd.Series, timezone: str | None, naive: str = "utc") -> pd.Series:
    """``stamps`` on the wall clock of ``timezone`` (an IANA name, params ``cleaning.timezone``), naive, so that
    ``.dt.normalize()`` assigns each to its local day.

    A time-zoned stamp is converted from its own zone. A naive one is read as UTC when ``naive`` is ``"utc"``
    (cleaning: an export that writes UTC without saying so) and left as it is when ``"local"`` (the engines, which
    read the clean log, already local). ``timezone`` None: time-zoned stamps become UTC, naive ones stay (the
    timestamps are local already). ``2025-01-01 03:00`` UTC is 1 January in ``Europe/London`` and 22:00 on
    31 December in ``America/New_York``. A naive column without any time of day (bare dates) holds days already
    and is left as it is.
    """
    tz = getattr(stamps.dt, "tz", None)
    if timezone is None:
        return stamps.dt.tz_convert("UTC").dt.tz_localize(None) if tz is not None else stamps
    if tz is None:
        known = stamps.dropna()
        if naive == "local" or (known == known.dt.normalize()).all():  # a column of bare days is days already
            return stamps
        stamps = stamps.dt.tz_localize("UTC")
    return stamps.dt.tz_convert(timezone).dt.tz_localize(None)


def previous_end(as_of: DayLike, period_start: DayLike | None = None) -> pd.Timestamp:
    """The last day before the period of ``as_of`` (``period_start``, default the first day of ``as_of``'s month)."""
    as_of = as_day(as_of)
    start = as_day(period_start) if period_start is not None else as_of.replace(day=1)
    return start - pd.Timedelta(days=1)


def equal_window(first: DayLike, last: DayLike, days: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The comparison window of ``days`` days in the calendar period ``first``–``last`` (inclusive days).

    **The rule** (one for every comparison of the kit: the headline, the KPI tables, the cards, the sales funnel):
    a comparison window always has exactly ``days`` days, as many as the window it is compared with.

    * It starts on the period's first day when the period is long enough: days 1–9 of November for 1–9 December,
      1–30 August for the 30 days of September.
    * When the period is shorter than ``days`` it ends on the period's last day and reaches back into the period
      before: the 31 days of October are compared with 31 August – 30 September, the 31 days of March 2025 with
      29 January – 28 February 2025. A manager's "October against September" then counts the same number of days
      instead of giving October a day's head start.
    """
    first, last = as_day(first), as_day(last)
    end = min(last, first + pd.Timedelta(days=days - 1))
    return end - pd.Timedelta(days=days - 1), end


def too_short(days: int, min_days: int) -> Missing | None:
    """The minimum-data rule: a period whose data cover fewer than ``min_days`` days (params
    ``rfm.min_period_days``, default 7) is too short for growth figures, backtests and the action evaluation.
    Returns the reason (``run.missing.short_period``, "Only 1 day of data in this period …") or None when the
    period has enough days. Every consumer calls this one function: the headline and KPI tables, the KPI cards,
    the forecast backtest and the evaluation of last period's actions."""
    if days >= min_days:
        return None
    return Missing("short_period", {"days": int(days), "min": int(min_days)})


def month_coverage(
    month: str | pd.Period, data_start: DayLike | None, data_end: DayLike | None
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last day of calendar ``month`` (``YYYY-MM`` or a monthly Period) that the data cover, when
    they cover only part of it (the data start after its first day or end before its last); None when they cover
    the whole month, none of it, or the data's days are unknown. Every chart and table that draws a month asks
    this, so a partial month is marked the same way everywhere (:func:`partial_label`)."""
    first, last = period_bounds(str(pd.Period(month, freq="M")))
    lo = max(first, as_day(data_start)) if data_start is not None and not pd.isna(data_start) else first
    hi = min(last, as_day(data_end)) if data_end is not None and not pd.isna(data_end) else last
    if hi < lo or (lo == first and hi == last):
        return None
    return lo, hi


_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def partial_label(covered: tuple[pd.Timestamp, pd.Timestamp], language: str = "en") -> str:
    """The label of a partial month in a chart or table: "1–9 Dec (partial)", "12月1–9日（不完整）"
    (``chart.partial`` in the catalogs); ``covered`` is :func:`month_coverage`'s."""
    from analysis.text import t

    first, last = covered
    month = _MONTHS_EN[first.month - 1] if language == "en" else f"{first.month}月"
    return t("chart.partial", language, a=first.day, b=last.day, month=month)


def period_bounds(period: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of a ``YYYY-MM`` period."""
    if not PERIOD_RE.match(str(period)):
        raise ParamsError(f"period '{period}' is not a month; write it as YYYY-MM, e.g. 2024-06")
    p = pd.Period(period, freq="M")
    return p.start_time.normalize(), p.end_time.normalize()


@dataclass(frozen=True)
class Window:
    """The days a run looks at: ``period`` (``YYYY-MM``) and the windows it is compared with.

    ``data_start`` / ``data_end``: the first and last day of the data (the whole cleaned input, every region).

    * **Equal lengths.** The previous and the year-ago windows have exactly as many days as this one (``days``;
      :func:`equal_window`): 1–9 Dec is compared with 1–9 Nov and 1–9 Dec a year before; a full October (31 days)
      with 31 Aug – 30 Sep, a full March with the 31 days ending on February's last day.
    * **Partial period.** When the data ends inside the period and ``partial`` is ``data_end`` (params
      ``rfm.partial_period``, the default), customers are scored as of ``data_end`` and compared on as many days.
      With ``period_end`` the period is scored as of its last day and compared whole.
    * **Comparisons without data.** A comparison window that starts before ``data_start`` is not
      :meth:`comparable`: the report shows "n/a — data starts …" instead of a change from nothing.
    * **Left-censored period.** When the data starts inside the period (``left_censored``), every customer's
      first purchase in the data is in it: nobody can be told to be *new*.
    * **Short period.** When the data cover fewer than ``min_days`` days of the period (:attr:`covered_days`,
      :func:`too_short`), it is :meth:`short`: no comparison (growth figure), no backtest, no action evaluation.
    """

    period: str
    data_start: pd.Timestamp | None = None
    data_end: pd.Timestamp | None = None
    partial: str = "data_end"
    #: the minimum-data rule (params ``rfm.min_period_days``): fewer days of data in the period and it is
    #: :meth:`short` (the default 1: never)
    min_days: int = 1

    @property
    def start(self) -> pd.Timestamp:
        """First day of the period."""
        return period_bounds(self.period)[0]

    @property
    def period_end(self) -> pd.Timestamp:
        """Last day of the period (inclusive), whatever the data covers."""
        return period_bounds(self.period)[1]

    @property
    def period_days(self) -> int:
        """Length of the calendar period in days."""
        return int((self.period_end - self.start).days) + 1

    @property
    def is_partial(self) -> bool:
        """Whether the data ends inside the period (after its first day, before its last)."""
        return self.data_end is not None and self.start <= self.data_end.normalize() < self.period_end

    @property
    def data_days(self) -> int:
        """Days of the period the data covers (the period's length unless it is partial)."""
        return int((self.data_end.normalize() - self.start).days) + 1 if self.is_partial else self.period_days

    @property
    def as_of(self) -> pd.Timestamp:
        """The scoring day (inclusive): the period's last day, or the data's last day in a partial period
        (unless ``partial`` is ``period_end``)."""
        if self.is_partial and self.partial == "data_end":
            return self.data_end.normalize()  # type: ignore[union-attr]
        return self.period_end

    @property
    def days(self) -> int:
        """Days scored: from the period's first day to ``as_of``."""
        return int((self.as_of - self.start).days) + 1

    def _cut(self, period: pd.Period, not_after: pd.Timestamp | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
        first, last = period_bounds(str(period))
        if not_after is not None and not_after < last:  # never overlap the window it is the base of
            last = not_after
        return equal_window(first, last, self.days)

    @property
    def previous(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the previous period's window: :attr:`days` days (:func:`equal_window`)."""
        return self._cut(pd.Period(self.period, freq="M") - 1)

    @property
    def year_ago(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the same period a year before: :attr:`days` days (:func:`equal_window`)."""
        return self._cut(pd.Period(self.period, freq="M") - 12)

    @property
    def days_note(self) -> str:
        """How the comparison windows were fitted to this one (a catalog key under ``executive.equal``):
        ``same`` (each starts on its month's first day) or ``reach_back`` (a shorter month: the window ends on that
        month's last day and reaches back into the month before)."""
        starts = (self.previous[0], self.year_ago[0])
        return "same" if all(s.day == 1 for s in starts) else "reach_back"

    def before(self, bounds: tuple[pd.Timestamp, pd.Timestamp]) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The window a window of this run is itself compared with: :attr:`days` days of the calendar month before
        the month of ``bounds``' last day (:func:`equal_window`), ending before ``bounds`` start.
        ``before(previous)`` of 1-9 Dec is 1-9 Oct, and ``before((start, as_of)) == previous``: retention in a
        window is measured against this one."""
        return self._cut(pd.Period(bounds[1], freq="M") - 1, not_after=bounds[0] - pd.Timedelta(days=1))

    @property
    def covered_days(self) -> int:
        """Days of the scored window (first day to :attr:`as_of`) that lie between the data's first and last day:
        1 for a January whose data is four hours of New Year's night, 4 for a December whose data start on the
        28th."""
        first, last = self.start, self.as_of
        if self.data_start is not None:
            first = max(first, self.data_start.normalize())
        if self.data_end is not None:
            last = min(last, self.data_end.normalize())
        return max(0, int((last - first).days) + 1)

    def short(self) -> Missing | None:
        """Why this period is too short to compare (:func:`too_short` of :attr:`covered_days` and ``min_days``),
        or None."""
        return too_short(self.covered_days, self.min_days)

    def comparable(self, which: str) -> bool:
        """Whether the comparison window ``which`` (``previous`` or ``year_ago``) starts on or after the data."""
        first = getattr(self, which)[0]
        return self.data_start is None or first >= self.data_start.normalize()

    @property
    def left_censored(self) -> bool:
        """Whether the data starts inside (or after the start of) this period: its first period of data."""
        return self.data_start is not None and self.data_start.normalize() >= self.start

    def unavailable(self) -> dict[str, Missing]:
        """Why each comparison, and the new-customer count, has no data: ``previous``, ``year_ago`` and
        ``new_customers`` (left-censored period), each a ``run.missing.data_starts`` :class:`Missing`; in a
        :meth:`short` period both comparisons are ``run.missing.short_period``."""
        out: dict[str, Missing] = {}
        if self.data_start is not None:
            why = Missing("data_starts", {"date": str(self.data_start.date())})
            out = {w: why for w in ("previous", "year_ago") if not self.comparable(w)}
            if self.left_censored:
                out["new_customers"] = why
        short = self.short()
        if short is not None:
            out.update(previous=short, year_ago=short)
        return out

    @property
    def next(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day of the next period."""
        return period_bounds(str(pd.Period(self.period, freq="M") + 1))

    def recent_ends(self, n: int = LIFECYCLE_PERIODS) -> list[pd.Timestamp]:
        """The last days of the ``n`` periods up to and including this one, oldest first (this one's: ``as_of``),
        leaving out periods that end before the data starts."""
        p = pd.Period(self.period, freq="M")
        ends = [(p - k).end_time.normalize() for k in range(n - 1, 0, -1)] + [self.as_of]
        return [e for e in ends if self.data_start is None or e >= self.data_start.normalize()]
