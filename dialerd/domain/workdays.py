"""Working-day arithmetic on a campaign's calendar (seed 001: results within 48 h, callback
within 72 h, reminders 3 working days before a due date).

A *working day* is a local date the campaign's calendar is open (it has calling
windows): weekdays with windows, minus public holidays and ``closed`` dates, plus
official make-up days and ``open`` dates (:mod:`dialerd.domain.calendar`).

:class:`RelativeTimes` is what a campaign file asks for (``[dialing] reminder`` and
``callback_within``); :meth:`RelativeTimes.apply` turns a contact's due date and
event time into its ``not_before`` and ``deadline``. Pure: ``now`` comes in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dialerd.domain.calendar import MAX_SCAN_DAYS, CallingCalendar

_REMINDER = re.compile(r"\s*(\d{1,3})\s+working\s+days?\s+before\s+due\s*", re.IGNORECASE)
_WORKING_DAYS = re.compile(r"\s*(\d{1,3})\s+working\s+days?\s*", re.IGNORECASE)


def is_working_day(calendar: CallingCalendar, day: date) -> bool:
    """Whether the calendar dials on this local date."""
    return bool(calendar.windows_on(day))


def shift_working_days(calendar: CallingCalendar, day: date, n: int) -> date | None:
    """The ``n``-th working day after ``day`` (before it when ``n < 0``); for ``n == 0``
    ``day`` itself when it is one, else the next. None when none lies within
    ``MAX_SCAN_DAYS``."""
    step = -1 if n < 0 else 1
    left = abs(n)
    current = day
    if n == 0:
        left, current = 1, day - timedelta(days=1)
    for _ in range(MAX_SCAN_DAYS):
        current += timedelta(days=step)
        if is_working_day(calendar, current):
            left -= 1
            if left == 0:
                return current
    return None


def end_of_day(calendar: CallingCalendar, day: date, tz: str) -> datetime:
    """When the day's last window closes (local midnight after it when it has none)."""
    spans = calendar.intervals(day, tz=tz)
    if spans:
        return spans[-1][1]
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))


@dataclass(frozen=True, slots=True)
class RelativeTimes:
    """``reminder``: working days before a due date to start dialling; ``within``: a
    fixed delay, or ``within_days`` working days, from the event to the deadline."""

    reminder_days: int | None = None
    within: timedelta | None = None
    within_days: int | None = None

    def not_before(self, calendar: CallingCalendar, due: date, tz: str) -> datetime | None:
        """Local midnight of the working day ``reminder_days`` before ``due``."""
        if self.reminder_days is None:
            return None
        day = shift_working_days(calendar, due, -self.reminder_days)
        if day is None:
            return None
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))

    def deadline(self, calendar: CallingCalendar, event: datetime, tz: str) -> datetime | None:
        """``event + within``, or the close of the ``within_days``-th working day after it."""
        if self.within is not None:
            return event + self.within
        if self.within_days is None:
            return None
        local = event.astimezone(ZoneInfo(tz)).date()
        day = shift_working_days(calendar, local, self.within_days)
        return None if day is None else end_of_day(calendar, day, tz)


def parse_reminder(text: str) -> int:
    """``"3 working days before due"`` → 3; ValueError otherwise."""
    match = _REMINDER.fullmatch(text)
    if match is None:
        raise ValueError(f'{text!r}: write it as "N working days before due"')
    return int(match.group(1))


def parse_working_days(text: str) -> int | None:
    """``"2 working days"`` → 2; None when the text is not of that form."""
    match = _WORKING_DAYS.fullmatch(text)
    return int(match.group(1)) if match else None
