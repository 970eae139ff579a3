"""Business days on a holiday calendar, and the due dates built on them.

The certification documents count in business days: 60 to complete a work product, 30 from receipt to
notification, one between the steps of the call-certification ladder. A business day is a weekday that is not
a holiday. A receipt on a weekend or holiday counts from the next business day.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Iterable

import numpy as np

from .messages import show

__all__ = [
    "as_date",
    "long_date",
    "us_federal_holidays",
    "HolidayCalendar",
    "is_business_day",
    "next_business_day",
    "add_business_days",
    "business_days_between",
    "business_days_from",
]

Date = dt.date


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> Date:
    """The n-th given weekday (0 = Monday) of a month; n = -1 for the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: Date) -> Date:
    """Federal rule: a Saturday holiday is observed on Friday, a Sunday one on Monday."""
    if day.weekday() == 5:
        return day - dt.timedelta(days=1)
    if day.weekday() == 6:
        return day + dt.timedelta(days=1)
    return day


@lru_cache(maxsize=None)
def long_date(day: dt.date) -> str:
    """A date as a US letter or certificate writes it.

    Examples
    --------
    >>> long_date(dt.date(2026, 3, 2))
    'March 2, 2026'
    """
    return f"{day:%B} {day.day}, {day.year}"


def us_federal_holidays(year: int) -> frozenset[Date]:
    """The observed US federal holidays of one year (5 U.S.C. 6103).

    Examples
    --------
    >>> import datetime as dt
    >>> dt.date(2026, 11, 26) in us_federal_holidays(2026)   # Thanksgiving
    True
    >>> dt.date(2026, 7, 3) in us_federal_holidays(2026)     # 4 July 2026 is a Saturday
    True
    """
    fixed = [(1, 1), (6, 19), (7, 4), (11, 11), (12, 25)]
    days = {_observed(dt.date(year, m, d)) for m, d in fixed}
    days |= {
        _nth_weekday(year, 1, 0, 3),   # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),   # Washington's Birthday
        _nth_weekday(year, 5, 0, -1),  # Memorial Day
        _nth_weekday(year, 9, 0, 1),   # Labor Day
        _nth_weekday(year, 10, 0, 2),  # Columbus Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
    }
    # New Year's Day of the next year falling on a Saturday is observed on 31 December.
    if _observed(dt.date(year + 1, 1, 1)).year == year:
        days.add(_observed(dt.date(year + 1, 1, 1)))
    return frozenset(days)


class HolidayCalendar:
    """A set of holidays: US federal by default, plus or minus dates a program configures.

    Parameters
    ----------
    extra : iterable of date, optional
        Additional closed days (e.g. the day after Thanksgiving).
    federal : bool
        Whether the US federal holidays are included.
    """

    def __init__(self, extra: Iterable[Date] = (), federal: bool = True):
        self.extra = frozenset(as_date(d, "holiday") for d in extra)
        self.federal = federal

    def __contains__(self, day: Date) -> bool:
        return day in self.extra or (self.federal and day in us_federal_holidays(day.year))

    def between(self, start: Date, end: Date) -> list[Date]:
        """Holidays from start to end inclusive, sorted."""
        years = range(start.year, end.year + 1)
        days = set(self.extra)
        if self.federal:
            for y in years:
                days |= us_federal_holidays(y)
        return sorted(d for d in days if start <= d <= end)

    def array(self, start: Date, end: Date) -> np.ndarray:
        """The holidays from start to end inclusive, as numpy's business-day functions take them."""
        return np.array(self.between(start, end), dtype="datetime64[D]")

    def __repr__(self) -> str:
        return f"HolidayCalendar(federal={self.federal}, extra={sorted(self.extra)})"


#: The dates evalkit accepts anywhere (a certification record spans decades, not millennia).
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2199, 12, 31)
_DEFAULT = HolidayCalendar()


def _calendar(holidays) -> HolidayCalendar:
    if holidays is None:
        return _DEFAULT
    if isinstance(holidays, HolidayCalendar):
        return holidays
    return HolidayCalendar(extra=holidays, federal=False)


def as_date(value, what: str = "date", error: type[Exception] = ValueError) -> Date:
    """A date from a date, a datetime or an ISO ``YYYY-MM-DD`` string; anything else raises ``error`` naming it.

    Examples
    --------
    >>> as_date("2026-11-26")
    datetime.date(2026, 11, 26)
    """
    day = None
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    elif isinstance(value, str):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    if day is None:
        raise error(f"{what} {show(value)} is not a date (expected YYYY-MM-DD)")
    if not FIRST_DATE <= day <= LAST_DATE:  # counting business days from 9999-12-31 overflows
        raise error(f"{what} {day} is outside the years {FIRST_DATE.year}-{LAST_DATE.year}")
    return day


def is_business_day(day, holidays=None) -> bool:
    """True for a weekday that is not a holiday.

    ``holidays``: None for the US federal calendar, a :class:`HolidayCalendar`, or an iterable of dates
    (then only those dates are holidays).
    """
    day = as_date(day)
    return day.weekday() < 5 and day not in _calendar(holidays)


def _d64(day: Date) -> np.datetime64:
    return np.datetime64(day, "D")


def _span(day: Date, n: int, cal: HolidayCalendar) -> tuple[Date, Date]:
    """A range of dates sure to hold the first business day on or after ``day`` and ``n`` business days from it:
    a year has at least 240 business days with the federal holidays, and each extra holiday can push by a day."""
    pad = dt.timedelta(days=40 + len(cal.extra))
    span = dt.timedelta(days=abs(int(n)) * 366 // 240) + pad
    return (day - span if n < 0 else day), (day + span if n >= 0 else day + pad)


def next_business_day(day, holidays=None) -> Date:
    """The day itself if it is a business day, else the first business day after it."""
    return add_business_days(day, 0, holidays)


def add_business_days(start, n: int, holidays=None) -> Date:
    """The date ``n`` business days after ``start``.

    A start on a weekend or holiday counts from the next business day, so the deadline of something received
    on a Saturday is the same as if it had been received on the Monday. ``n`` may be negative (counting back
    from ``start``, which then must itself be a business day or is moved forward first). ``n = 0`` gives the
    first business day on or after ``start``.

    Examples
    --------
    >>> import datetime as dt
    >>> add_business_days(dt.date(2026, 11, 25), 1)   # Wednesday before Thanksgiving -> Friday
    datetime.date(2026, 11, 27)
    >>> add_business_days(dt.date(2026, 11, 28), 1)   # received Saturday: counts from Monday
    datetime.date(2026, 12, 1)
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise ValueError(f"number of business days {n!r} is not an integer")
    day = as_date(start)
    cal = _calendar(holidays)
    low, high = _span(day, n, cal)
    found = np.busday_offset(_d64(day), int(n), roll="forward", holidays=cal.array(low, high))
    return found.astype(object)


def business_days_from(start, ends, holidays=None) -> np.ndarray:
    """:func:`business_days_between` from one date to many (an array of ints, one per date of ``ends``), counted
    at once with numpy's business-day functions and the calendar's holidays over their span."""
    start = as_date(start)
    ends = np.asarray([as_date(e) for e in ends] if not isinstance(ends, np.ndarray) else ends, dtype="datetime64[D]")
    if ends.size == 0:
        return np.zeros(0, dtype=np.int64)
    cal = _calendar(holidays)
    begin = _d64(start)
    lows, highs = np.minimum(ends, begin), np.maximum(ends, begin)
    first_day, last_day = lows.min().astype(object), highs.max().astype(object)
    closed = cal.array(first_day, last_day + dt.timedelta(days=40 + len(cal.extra)))
    # business days in (first, high], first being the first business day on or after the lower date: none if the
    # higher date does not come after it (busday_count counts [first + 1, high + 1))
    first = np.busday_offset(lows, 0, roll="forward", holidays=closed)
    counts = np.where(highs <= first, 0, np.busday_count(first + 1, highs + 1, holidays=closed))
    return np.where(ends < begin, -counts, counts).astype(np.int64)


def business_days_between(start, end, holidays=None) -> int:
    """Business days from ``start`` to ``end``: how many :func:`add_business_days` steps lead from one to the other.

    Positive when ``end`` is later. Counts days in (start, end], after moving a non-business ``start`` to
    the next business day; ``business_days_between(d, add_business_days(d, n)) == n`` for n >= 0.

    Examples
    --------
    >>> import datetime as dt
    >>> business_days_between(dt.date(2026, 11, 20), dt.date(2026, 11, 30))  # Thanksgiving in between
    5
    """
    return int(business_days_from(start, [as_date(end)], holidays)[0])
