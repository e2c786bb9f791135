"""Customer lifecycle stage at a date (``as_of``): new, active, dormant, lost, reactivated.

All definitions live here.

Inputs
    Clean transactions (``customer_id``, ``order_date``). Only purchases on or before the day of
    ``as_of`` count; time of day is ignored (dates are normalised to midnight). A *purchase day*
    is a distinct (customer, calendar day) with at least one purchase line.
Period
    The period ending at ``as_of`` is ``(period_start, as_of]`` in days: a purchase on
    ``period_start`` itself belongs to the previous period.
Recency, usual gap
    ``recency_days`` = whole days from the last purchase day to ``as_of``. ``usual_gap_days`` =
    median of the gaps (days) between consecutive purchase days; undefined (NaN) with fewer than
    2 purchase days.
Stages, first match wins
    1. ``new``: first purchase day falls inside the period.
    2. ``lost``: ``recency_days > lost_days``, or (with a usual gap)
       ``recency_days > lost_multiple × usual_gap_days``, or ``p_alive < lost_p_alive`` when P(alive)
       from the CLV models is given.
    3. ``dormant``: ``recency_days > dormant_multiple × usual_gap_days``, or, with fewer than 2
       purchase days, ``recency_days > dormant_days``.
    4. ``reactivated``: bought in the period and was ``dormant`` or ``lost`` at the previous
       period's end (``period_start``), judged by these same rules on the period of the same length
       before it (P(alive) is not used for the previous stage).
    5. ``active``: everyone else.

Customers with no purchase on or before ``as_of`` have no stage (they are not in the result).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from analysis.customers.segments import gather_text
from analysis.errors import InputError, ParamsError
from analysis.window import as_day

STAGES: tuple[str, ...] = ("new", "active", "reactivated", "dormant", "lost")


def _purchase_days(transactions: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("customer_id", "order_date") if c not in transactions.columns]
    if missing:
        raise InputError(
            f"transactions: missing column(s) {missing}; pass the clean transactions from analysis.data.clean"
        )
    days = pd.DataFrame(
        {
            "customer_id": transactions["customer_id"].astype(str).to_numpy(),
            "day": pd.to_datetime(transactions["order_date"]).dt.normalize().to_numpy(),
        }
    )
    return days.drop_duplicates().sort_values(["customer_id", "day"], ignore_index=True)


def _usual_gap_days(days: pd.DataFrame) -> pd.Series:
    """Median days between consecutive purchase days per customer (``days`` sorted by customer and day)."""
    gaps = days["day"].diff().dt.days.where(days["customer_id"].eq(days["customer_id"].shift()))
    return gaps.groupby(days["customer_id"]).median()


def purchase_rhythm(transactions: pd.DataFrame, as_of: str | pd.Timestamp) -> pd.DataFrame:
    """Each customer's purchase days and usual gap up to ``as_of`` (inclusive), as the stages use them.

    Returns
    -------
    DataFrame
        Index ``customer_id`` (str): ``purchase_days`` (int) and ``usual_gap_days`` (float, days: the median
        gap between consecutive purchase days; NaN with fewer than 2). Several orders on one day are one
        purchase day, so a customer who buys twice a day every month usually buys every ~30 days, not 0.
    """
    days = _purchase_days(transactions)
    d = days[days["day"] <= as_day(as_of)]
    out = pd.DataFrame(
        {"purchase_days": d.groupby("customer_id", sort=True).size(), "usual_gap_days": _usual_gap_days(d)}
    )
    out.index.name = "customer_id"
    return out


def _check(
    dormant_multiple: float, dormant_days: int, lost_multiple: float, lost_days: int, lost_p_alive: float
) -> None:
    if not 0 < dormant_multiple <= lost_multiple:
        raise ParamsError(
            f"lifecycle: need 0 < dormant_multiple <= lost_multiple, got {dormant_multiple}, {lost_multiple}"
        )
    if not 0 < dormant_days <= lost_days:
        raise ParamsError(f"lifecycle: need 0 < dormant_days <= lost_days, got {dormant_days}, {lost_days}")
    if not 0 <= lost_p_alive <= 1:
        raise ParamsError(f"lifecycle: lost_p_alive must be in [0, 1], got {lost_p_alive}")


def _group_median(group: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The median of the integers ``values`` per ``group`` (the mean of the two middle values for an even count,
    as pandas' median): the groups present (sorted) and their medians."""
    if len(group) == 0:
        return group, np.zeros(0)
    lo = int(values.min())
    span = int(values.max()) - lo + 1
    keys = np.sort(group * span + (values - lo))  # integer keys: one sort, faster than a lexsort
    g, v = keys // span, (keys % span + lo).astype(float)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    counts = np.diff(np.r_[starts, len(g)])
    return g[starts], (v[starts + (counts - 1) // 2] + v[starts + counts // 2]) / 2.0


def _day_facts(cust: np.ndarray, day: np.ndarray, n_customers: int) -> dict[str, np.ndarray]:
    """First and last day, number of days and median gap per customer code from distinct (customer, day)
    pairs sorted by customer and day (day numbers); customers without a day get 0 days."""
    first = np.zeros(n_customers, dtype="int64")
    last = np.zeros(n_customers, dtype="int64")
    n_days = np.zeros(n_customers, dtype="int64")
    gap = np.full(n_customers, np.nan)
    if len(cust):
        starts = np.flatnonzero(np.r_[True, cust[1:] != cust[:-1]])
        counts = np.diff(np.r_[starts, len(cust)])
        who = cust[starts]
        first[who], last[who], n_days[who] = day[starts], day[starts + counts - 1], counts
        same = cust[1:] == cust[:-1]
        g_who, g_med = _group_median(cust[1:][same], np.diff(day)[same])
        gap[g_who] = g_med
    return {"first": first, "last": last, "days": n_days, "gap": gap}


def purchase_facts(
    transactions: pd.DataFrame, as_of: str | pd.Timestamp, previous_end: str | pd.Timestamp
) -> pd.DataFrame:
    """The facts the stages are judged on, up to ``as_of`` and up to ``previous_end`` (both inclusive days).

    Vectorised: customer ids are factorised once and the distinct (customer, day) pairs found by sorting integer
    keys, so the cost is a few sorts of the log whatever its id type.

    Returns
    -------
    DataFrame
        Index ``customer_id`` (str, sorted): every customer with a purchase day on or before ``as_of``.
        Columns ``first_purchase``, ``last_purchase`` (Timestamp, day), ``purchase_days`` (int),
        ``usual_gap_days`` (float, median days between consecutive purchase days, NaN with fewer than 2), and the
        same up to ``previous_end``: ``last_purchase_prev`` (NaT without a purchase day by then),
        ``purchase_days_prev`` (0 then) and ``usual_gap_days_prev``. The same columns come from the engines
        (:class:`analysis.engines.base.ScoreInputs`).
    """
    missing = [c for c in ("customer_id", "order_date") if c not in transactions.columns]
    if missing:
        raise InputError(
            f"transactions: missing column(s) {missing}; pass the clean transactions from analysis.data.clean"
        )
    as_of_n = _day_n(pd.Timestamp(as_of))
    prev_n = _day_n(pd.Timestamp(previous_end))
    stamps = pd.to_datetime(transactions["order_date"])
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)
    raw = stamps.to_numpy(dtype="datetime64[ns]")
    day = raw.astype("datetime64[D]").astype("int64")
    codes, uniques = pd.factorize(transactions["customer_id"].astype(str), sort=True)
    keep = ~np.isnat(raw) & (codes >= 0) & (day <= as_of_n)
    cust, day = codes[keep].astype("int64"), day[keep]
    if len(day):
        lo = int(day.min())
        span = int(day.max()) - lo + 1
        pairs = np.sort(cust * span + (day - lo))
        pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]  # distinct pairs (np.unique hashes first: slower)
        cust, day = pairs // span, pairs % span + lo
    now = _day_facts(cust, day, len(uniques))
    before = day <= prev_n
    prev = _day_facts(cust[before], day[before], len(uniques))
    present = now["days"] > 0
    out = pd.DataFrame(
        {
            "first_purchase": _dates(now["first"]),
            "last_purchase": _dates(now["last"]),
            "purchase_days": now["days"],
            "usual_gap_days": now["gap"],
            "last_purchase_prev": _dates(prev["last"], prev["days"] > 0),
            "purchase_days_prev": prev["days"],
            "usual_gap_days_prev": prev["gap"],
        },
        index=pd.Index(np.asarray(uniques, dtype=object), dtype=str, name="customer_id"),
    )
    return out[present]


def _day_n(ts: pd.Timestamp) -> int:
    return int((ts.normalize().tz_localize(None) - pd.Timestamp("1970-01-01")).days)


def _dates(n: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    out = (np.datetime64("1970-01-01", "D") + n.astype("timedelta64[D]")).astype("datetime64[ns]")
    if valid is not None:
        out[~valid] = np.datetime64("NaT")
    return out


#: A day in nanoseconds: the facts' timestamps compared as integers (``datetime64[ns]``).
_DAY_NS = 86_400 * 10**9
#: :data:`STAGES` by code, for the arrays of :func:`_judge`.
_NEW, _ACTIVE, _REACTIVATED, _DORMANT, _LOST = range(len(STAGES))


def _ns(values: pd.Series) -> np.ndarray:
    """A timestamp column as nanoseconds since 1970 (int64; NaT is the smallest int64)."""
    return values.to_numpy(dtype="datetime64[ns]").view("int64")


def _judge(
    first: np.ndarray,
    last: np.ndarray,
    days: np.ndarray,
    gap: np.ndarray,
    day: pd.Timestamp,
    start: pd.Timestamp,
    *,
    dormant_multiple: float,
    dormant_days: int,
    lost_multiple: float,
    lost_days: int,
    lost_p_alive: float,
    p_alive: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Recency (whole days, int64) and the stage code ignoring reactivation (:data:`_ACTIVE` stands for 'not
    flagged') at ``day`` of the period ``(start, day]``, from each customer's first and last purchase (ns, see
    :func:`_ns`), purchase days, usual gap (days) and P(alive) (aligned, NaN = none), as arrays."""
    rec = (day.as_unit("ns").value - last) // _DAY_NS  # whole days, floored as Timedelta.days
    has_gap = days >= 2
    with np.errstate(invalid="ignore"):
        lost = (rec > lost_days) | (has_gap & (rec > lost_multiple * gap))
        if p_alive is not None:
            lost |= p_alive < lost_p_alive
        dormant = np.where(has_gap, rec > dormant_multiple * gap, rec > dormant_days)
    code = np.select([first > start.as_unit("ns").value, lost, dormant], [_NEW, _LOST, _DORMANT], _ACTIVE)
    return rec.astype("int64"), code.astype("int8")


def stages_from_facts(
    facts: pd.DataFrame,
    as_of: pd.Timestamp,
    start: pd.Timestamp,
    *,
    dormant_multiple: float,
    dormant_days: int,
    lost_multiple: float,
    lost_days: int,
    lost_p_alive: float,
    p_alive: pd.Series | None = None,
    previous: pd.Series | None = None,
) -> pd.DataFrame:
    """The stages at ``as_of`` of the period ``(start, as_of]`` from :func:`purchase_facts` taken up to ``as_of``
    and ``start`` (the columns of :func:`lifecycle_stages`). ``previous`` (stage per customer at ``start``) is
    judged from the facts up to ``start`` on the period of the same length before it when not given.

    Judged on NumPy arrays of the facts' own rows (no frame copies, no realignment by id unless ``p_alive`` or
    ``previous`` has other ids); ``stage`` is Arrow-backed text (as read back from Parquet), ``previous_stage``
    Python text with NaN for customers without a purchase by ``start``."""
    _check(dormant_multiple, dormant_days, lost_multiple, lost_days, lost_p_alive)
    if start >= as_of:
        raise ParamsError(f"lifecycle: period_start {start.date()} must be before as_of {as_of.date()}")
    rules = {
        "dormant_multiple": dormant_multiple,
        "dormant_days": dormant_days,
        "lost_multiple": lost_multiple,
        "lost_days": lost_days,
        "lost_p_alive": lost_p_alive,
    }
    index = facts.index
    first = _ns(facts["first_purchase"])
    last = _ns(facts["last_purchase"])
    pa_values = None
    if p_alive is not None:
        same = p_alive.index is index or p_alive.index.equals(index)
        pa_values = (p_alive if same else p_alive.reindex(index)).to_numpy(dtype=float, na_value=np.nan)
    rec, stage = _judge(
        first, last, facts["purchase_days"].to_numpy(), facts["usual_gap_days"].to_numpy(dtype=float),
        as_of, start, p_alive=pa_values, **rules,
    )  # fmt: skip
    bought = last > start.as_unit("ns").value
    names = np.array(STAGES, dtype=object)
    if previous is None:
        # judged on the facts' own rows (no realignment by id): the customers who had bought by ``start``
        had = facts["purchase_days_prev"].to_numpy() > 0
        prev_start = start - (as_of - start)
        _, prev_stage = _judge(
            first[had], _ns(facts["last_purchase_prev"])[had], facts["purchase_days_prev"].to_numpy()[had],
            facts["usual_gap_days_prev"].to_numpy(dtype=float)[had], start, prev_start, p_alive=None, **rules,
        )  # fmt: skip
        prev_code = np.full(len(index), -1, dtype="int8")
        prev_code[had] = prev_stage
        prev_values = np.where(prev_code >= 0, names[prev_code], np.nan)
        was_away = (prev_code == _DORMANT) | (prev_code == _LOST)
        prev = pd.Series(prev_values, index=index, dtype=object)
    else:
        prev = previous.reindex(index)
        was_away = prev.isin(["dormant", "lost"]).to_numpy()
    react = (stage == _ACTIVE) & bought & was_away
    return pd.DataFrame(
        {
            "first_purchase": facts["first_purchase"],
            "last_purchase": facts["last_purchase"],
            "purchase_days": facts["purchase_days"],
            "usual_gap_days": facts["usual_gap_days"],
            "recency_days": rec,
            "bought_in_period": bought,
            "previous_stage": prev,
            # text dtype, as read back from Parquet
            "stage": gather_text(names, np.where(react, _REACTIVATED, stage)),
        },
        index=index,
    )


def lifecycle_stages(
    transactions: pd.DataFrame,
    as_of: str | pd.Timestamp,
    period_start: str | pd.Timestamp | None = None,
    *,
    period_days: int = 90,
    dormant_multiple: float = 2.0,
    dormant_days: int = 180,
    lost_multiple: float = 4.0,
    lost_days: int = 365,
    lost_p_alive: float = 0.2,
    p_alive: pd.Series | None = None,
    previous: pd.Series | None = None,
) -> pd.DataFrame:
    """Lifecycle stage of every customer at ``as_of``.

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions with ``customer_id`` and ``order_date``.
    as_of : str or Timestamp
        End of the period (inclusive, whole days).
    period_start : str or Timestamp, optional
        Start of the period (exclusive); defaults to ``as_of - period_days``.
    period_days : int, default=90
        Period length in days when ``period_start`` is not given.
    dormant_multiple : float, default=2.0
        Dormant when recency exceeds this many usual gaps (customers with >= 2 purchase days).
    dormant_days : int, default=180
        Dormant when recency exceeds this many days (customers with < 2 purchase days).
    lost_multiple : float, default=4.0
        Lost when recency exceeds this many usual gaps.
    lost_days : int, default=365
        Lost when recency exceeds this many days (anyone).
    lost_p_alive : float, default=0.2
        Lost when ``p_alive`` is below this (only when ``p_alive`` is given).
    p_alive : Series, optional
        P(alive) at ``as_of`` per customer (index ``customer_id``), from the CLV models.
    previous : Series, optional
        Stage per customer at ``period_start``; computed with the same rules when omitted.

    Returns
    -------
    DataFrame
        Index ``customer_id``; columns ``first_purchase``, ``last_purchase`` (Timestamp, day),
        ``purchase_days`` (int), ``usual_gap_days`` (float, NaN with < 2 purchase days),
        ``recency_days`` (int), ``bought_in_period`` (bool), ``previous_stage`` (str or NaN) and
        ``stage`` (one of :data:`STAGES`). See the module docstring for the definitions.
    """
    _check(dormant_multiple, dormant_days, lost_multiple, lost_days, lost_p_alive)  # before reading the log
    as_of = as_day(as_of)
    start = as_day(period_start) if period_start is not None else as_of - pd.Timedelta(days=period_days)
    if start >= as_of:
        raise ParamsError(f"lifecycle: period_start {start.date()} must be before as_of {as_of.date()}")
    return stages_from_facts(
        purchase_facts(transactions, as_of, start), as_of, start,
        dormant_multiple=dormant_multiple, dormant_days=dormant_days, lost_multiple=lost_multiple,
        lost_days=lost_days, lost_p_alive=lost_p_alive, p_alive=p_alive, previous=previous,
    )  # fmt: skip


def lifecycle_over_periods(
    transactions: pd.DataFrame,
    period_ends: Sequence[str | pd.Timestamp],
    *,
    first_period_start: str | pd.Timestamp | None = None,
    **rules: float,
) -> pd.DataFrame:
    """Lifecycle stage of every customer at each of a sequence of period ends.

    Period *i* is ``(period_ends[i-1], period_ends[i]]``; the first period starts at
    ``first_period_start`` (default: one period length, ``period_ends[1] - period_ends[0]``, before
    ``period_ends[0]``). Reactivation at period *i* uses the stage found at period *i − 1*.

    Parameters
    ----------
    transactions : DataFrame
        Clean transactions with ``customer_id`` and ``order_date``.
    period_ends : sequence of str or Timestamp
        Increasing period ends (inclusive days).
    first_period_start : str or Timestamp, optional
        Required when only one period end is given.
    **rules
        ``dormant_multiple``, ``dormant_days``, ``lost_multiple``, ``lost_days`` as in
        :func:`lifecycle_stages`.

    Returns
    -------
    DataFrame
        Index ``customer_id``; one column per period end (Timestamp) holding the stage, NaN before
        the customer's first purchase.
    """
    ends = [as_day(e) for e in period_ends]
    if not ends or any(b <= a for a, b in pairwise(ends)):
        raise ParamsError(f"lifecycle: period_ends must be a non-empty increasing sequence, got {ends}")
    if first_period_start is None:
        if len(ends) < 2:
            raise ParamsError("lifecycle: give first_period_start when there is only one period end")
        start = ends[0] - (ends[1] - ends[0])
    else:
        start = as_day(first_period_start)
    unknown = set(rules) - {"dormant_multiple", "dormant_days", "lost_multiple", "lost_days"}
    if unknown:
        raise ParamsError(f"lifecycle: unknown rule(s) {sorted(unknown)}")
    cols: dict[pd.Timestamp, pd.Series] = {}
    previous: pd.Series | None = None
    for end in ends:
        res = lifecycle_stages(transactions, end, start, previous=previous, **rules)
        cols[end] = res["stage"]
        previous, start = res["stage"], end
    wide = pd.DataFrame(cols)
    wide.index.name = "customer_id"
    wide.columns.name = "period_end"
    return wide


def stage_counts(stages_wide: pd.DataFrame) -> pd.DataFrame:
    """Customers per stage (rows, in :data:`STAGES` order) and period end (columns).

    Parameters
    ----------
    stages_wide : DataFrame
        Output of :func:`lifecycle_over_periods`.

    Returns
    -------
    DataFrame of int
    """
    counts = {c: stages_wide[c].value_counts() for c in stages_wide.columns}
    t = pd.DataFrame(counts).reindex(list(STAGES)).fillna(0).astype(int)
    t.index.name = "stage"
    return t
