"""When calls may be made: weekly windows in local wall-clock time, holidays, make-up days.

A window such as Monday–Friday 09:00–17:00 is local wall-clock time in the
contact's time zone (else the calendar's). Each day it becomes one real
interval of instants, computed with ``zoneinfo``:

* a wall time that happens twice (the repeated hour when clocks go back) means
  its *first* occurrence (``fold=0``), at the start and at the end of a window;
* a wall time that does not exist (skipped when clocks go forward) means the
  instant of the jump, so a window starting in the gap opens when the clock
  jumps, and a window lying wholly in the gap is empty that day.

So 09:00–17:00 in America/New_York is 8 real hours every day (the jumps are at
02:00), while 00:00–06:00 lasts 5 hours on 2026-03-08 and 7 on 2026-11-01.

Which days are open, first rule that applies:

1. a date in ``closed`` is closed;
2. before ``start`` or after ``end`` (local dates) is closed;
3. a date in ``opened`` is open, with the working-day windows (below);
4. an official holiday of ``holiday_country`` is closed;
5. an official make-up working day (调休上班, e.g. CN 2026-02-14) is open, with
   the working-day windows;
6. otherwise the windows whose ``days`` hold the weekday apply.

The *working-day windows* of a date are its own weekday's windows when it falls
on Monday–Friday and has some; otherwise those of the first of Monday, Tuesday…
Friday that has windows. (A make-up Saturday is a full working day, so it gets
Monday's hours, not Saturday's.)

Everything returns timezone-aware UTC datetimes. Holiday lookups are cached per
(country, year) and a day's intervals per (calendar, zone, date): the dispatcher
asks for every dial.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import cast
from zoneinfo import ZoneInfo

import holidays

MAX_SCAN_DAYS = 800  # how far ahead next_open / add_open_time look before giving up
WORKDAYS = frozenset(range(5))  # Monday (0) to Friday (4)
ALL_DAYS = frozenset(range(7))
ZERO = timedelta(0)
_OPENS_MAX = 4096  # next_open answers kept per calendar (then forgotten at once)
_UNKNOWN = object()

Interval = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Window:
    """A daily window on the given weekdays (0 = Monday); ``end`` 00:00 means midnight."""

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= ALL_DAYS:
            raise ValueError(f"window days must be weekdays 0 (Monday) to 6: {sorted(self.days)}")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times are local wall-clock times, without a time zone")
        if self.end != time(0) and self.end <= self.start:
            raise ValueError(
                f"a window must end after it starts ({self.start}-{self.end}); "
                "split one that crosses midnight in two"
            )


@dataclass(frozen=True)
class CallingCalendar:
    """Weekly windows, holidays and explicit dates for one campaign (see the module doc)."""

    timezone: str
    windows: tuple[Window, ...]
    holiday_country: str | None = None  # "CN", or with a subdivision: "US-NY"
    closed: frozenset[date] = frozenset()
    opened: frozenset[date] = frozenset()
    start: date | None = None
    end: date | None = None
    # next_open's answers (pure: the calendar cannot change); the planner asks the
    # same instants again and again (a batch's dials share their times)
    _opens: dict[tuple[datetime, str | None, timedelta], datetime | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        _zone(self.timezone)
        if self.holiday_country is not None:
            _holiday_year(self.holiday_country, 2000)  # raises ValueError when unknown
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"the calendar ends ({self.end}) before it starts ({self.start})")

    # -- days --------------------------------------------------------------------------

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """The windows that apply on a local date (empty when the day is closed)."""
        if day in self.closed:
            return ()
        if (self.start is not None and day < self.start) or (
            self.end is not None and day > self.end
        ):
            return ()
        if day in self.opened:
            return self._working_day_windows(day)
        if self.holiday_country is not None:
            days_off, make_up = _holiday_year(self.holiday_country, day.year)
            if day in days_off:
                return ()
            if day in make_up:
                return self._working_day_windows(day)
        return tuple(w for w in self.windows if day.weekday() in w.days)

    def _working_day_windows(self, day: date) -> tuple[Window, ...]:
        weekdays = [day.weekday()] if day.weekday() in WORKDAYS else []
        for weekday in [*weekdays, *sorted(WORKDAYS)]:
            found = tuple(w for w in self.windows if weekday in w.days)
            if found:
                return found
        return ()

    def intervals(self, day: date, *, tz: str | None = None) -> tuple[Interval, ...]:
        """The real open intervals ``[start, end)`` of a local date, in UTC, sorted and merged."""
        return _intervals(self, tz or self.timezone, day)

    # -- instants ----------------------------------------------------------------------

    def is_open(self, at: datetime, *, tz: str | None = None, duration: timedelta = ZERO) -> bool:
        """Whether all of ``[at, at + duration]`` lies inside one window of an open day."""
        at = _utc(at)
        for start, end in self.intervals(_local_date(at, tz or self.timezone), tz=tz):
            if start <= at < end and at + duration <= end:
                return True
        return False

    def next_open(
        self, at: datetime, *, tz: str | None = None, duration: timedelta = ZERO
    ) -> datetime | None:
        """The earliest instant ``>= at`` where a dial of ``duration`` fits in a window.

        None when there is none: the calendar has ended, or nothing opens within
        ``MAX_SCAN_DAYS`` days.
        """
        opens = self._opens
        key = (at, tz, duration)
        found = opens.get(key, _UNKNOWN)  # a naive ``at`` is never stored (it raises below)
        if found is not _UNKNOWN:
            return cast("datetime | None", found)
        if len(opens) >= _OPENS_MAX:
            opens.clear()
        found = opens[key] = self._next_open(_utc(at), tz, duration)
        return found

    def _next_open(self, at: datetime, tz: str | None, duration: timedelta) -> datetime | None:
        first = _local_date(at, tz or self.timezone)
        for offset in range(MAX_SCAN_DAYS):
            day = first + timedelta(days=offset)
            if self.end is not None and day > self.end:
                return None
            for start, end in self.intervals(day, tz=tz):
                candidate = max(start, at)
                if candidate < end and candidate + duration <= end:
                    return candidate
        return None

    def add_open_time(self, at: datetime, delta: timedelta, *, tz: str | None = None) -> datetime:
        """The earliest instant by which ``delta`` of open calling time has passed since ``at``.

        When the calendar runs out first, an instant after its end (where
        ``next_open`` finds nothing).
        """
        at = _utc(at)
        if delta <= ZERO:
            return at
        zone_key = tz or self.timezone
        remaining = delta
        first = _local_date(at, zone_key)
        day = first
        for offset in range(MAX_SCAN_DAYS):
            day = first + timedelta(days=offset)
            if self.end is not None and day > self.end:
                break
            for start, end in self.intervals(day, tz=tz):
                begin = max(start, at)
                if begin >= end:
                    continue
                if end - begin >= remaining:
                    return begin + remaining
                remaining -= end - begin
        return _instant(day + timedelta(days=1), time(0), _zone(zone_key)) + remaining

    def open_time_between(self, a: datetime, b: datetime, *, tz: str | None = None) -> timedelta:
        """How much open calling time lies between ``a`` and ``b`` (zero if ``b <= a``)."""
        a, b = _utc(a), _utc(b)
        total = ZERO
        if b <= a:
            return total
        zone_key = tz or self.timezone
        day, last = _local_date(a, zone_key), _local_date(b, zone_key)
        while day <= last:
            for start, end in self.intervals(day, tz=tz):
                overlap = min(end, b) - max(start, a)
                if overlap > ZERO:
                    total += overlap
            day += timedelta(days=1)
        return total


# -- years without an official notice -----------------------------------------------

NOTICE_LOOKBACK_YEARS = 10  # a country with make-up days has had some in this many years


def unannounced_years(
    calendar: CallingCalendar, *, today: date, horizon_days: int = 366
) -> tuple[int, ...]:
    """Years the calendar's dates touch whose make-up days the ``holidays`` package does not know.

    China (and a few others) publish each year's holidays and make-up working
    days (调休) in a notice late the year before; the ``holidays`` package lists
    them only from a release after that notice. A year is *unannounced* when the
    country had make-up days in the last ``NOTICE_LOOKBACK_YEARS`` years but none
    is known in that year or later. The dates touched run from ``start`` (else
    ``today``) to ``end`` (else ``horizon_days`` after the later of the two).
    A year with any ``closed``/``opened`` date is taken as overridden by hand.
    """
    if calendar.holiday_country is None:
        return ()
    first = calendar.start or today
    last = calendar.end or max(first, today) + timedelta(days=horizon_days)
    overridden = {d.year for d in calendar.closed | calendar.opened}
    return tuple(
        year
        for year in range(first.year, last.year + 1)
        if year not in overridden and not _notice_known(calendar.holiday_country, year)
    )


def unannounced_message(calendar: CallingCalendar, years: tuple[int, ...]) -> str:
    """The operator's warning for :func:`unannounced_years` (empty when there are none)."""
    if not years:
        return ""
    listed = ", ".join(str(y) for y in years)
    return (
        f"no official {calendar.holiday_country} holidays and make-up days for {listed} "
        "in the installed holidays package: dialerd follows provisional dates; "
        "write the official ones in holidays.open / holidays.closed"
    )


@lru_cache(maxsize=256)
def _notice_known(country: str, year: int) -> bool:
    """Whether ``year``'s make-up days are known (or the country has none to announce)."""
    years = range(year - NOTICE_LOOKBACK_YEARS, year + 2)
    with_make_up = [y for y in years if _holiday_year(country, y)[1]]
    return not with_make_up or max(with_make_up) >= year


# -- helpers (cached) ------------------------------------------------------------------


@lru_cache(maxsize=256)
def _zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (KeyError, ValueError, OSError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"unknown time zone {key!r}") from exc


@lru_cache(maxsize=512)
def _holiday_year(country: str, year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(days off, make-up working days) of one country (``CC`` or ``CC-SUBDIV``) and year."""
    code, _, subdiv = country.partition("-")
    try:
        # The next year too: an observed day off can fall back into this one (Dec 31).
        table = holidays.country_holidays(
            code.upper(), subdiv=subdiv.upper() or None, years=(year, year + 1)
        )
    except NotImplementedError as exc:
        raise ValueError(f"no holiday calendar for {country!r}") from exc
    days_off = frozenset(d for d in table if d.year == year)
    make_up = frozenset(d for d in getattr(table, "weekend_workdays", ()) if d.year == year)
    return days_off, make_up - days_off


@lru_cache(maxsize=65536)
def _intervals(calendar: CallingCalendar, zone_key: str, day: date) -> tuple[Interval, ...]:
    zone = _zone(zone_key)
    spans: list[Interval] = []
    for window in calendar.windows_on(day):
        start = _instant(day, window.start, zone)
        if window.end == time(0):
            end = _instant(day + timedelta(days=1), time(0), zone)
        else:
            end = _instant(day, window.end, zone)
        if end > start:
            spans.append((start, end))
    spans.sort()
    merged: list[Interval] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: first occurrence if repeated, the jump if skipped."""
    local = datetime.combine(day, wall, tzinfo=zone)  # fold=0: the first occurrence
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # Skipped wall time: fold=1 reads it with the offset after the jump, which lands
    # before the jump; fold=0 with the offset before it, which lands after. The jump
    # is at a whole second between the two: bisect.
    lo = int(local.replace(fold=1).timestamp())
    hi = int(instant.timestamp())
    before = datetime.fromtimestamp(lo, zone).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return datetime.fromtimestamp(hi, UTC)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: calendar times must be tz-aware")
    return at.astimezone(UTC)


def _local_date(at: datetime, zone_key: str) -> date:
    return at.astimezone(_zone(zone_key)).date()
