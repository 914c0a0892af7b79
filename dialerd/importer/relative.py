"""A row's ``not_before`` and ``deadline`` placed on the campaign's calendar (seed 001).

With ``[dialing] reminder = "N working days before due"`` a ``due`` column (a date)
sets ``not_before`` to the start of the N-th working day before it; with
``callback_within`` (``"72h"`` or ``"N working days"``) the deadline runs from the
row's ``event_at`` (else ``loaded_at``, else the load time). A row's own
``not_before`` / ``deadline`` columns win. The columns are ordinary extra columns
(kept in the contact's data); names are matched without case.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.workdays import RelativeTimes
from dialerd.importer.rows import ContactRow

DUE = "due"
EVENT_COLUMNS = ("event_at", "loaded_at")


class BadRelativeValue(ValueError):
    """A ``due`` / ``event_at`` / ``loaded_at`` value that is not a date or time."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def place(
    row: ContactRow,
    rules: RelativeTimes,
    calendar: CallingCalendar,
    default_tz: str,
    now: datetime,
) -> None:
    """Set the row's ``not_before`` / ``deadline`` from the rules; raises BadRelativeValue."""
    tz = row.timezone or default_tz
    data = {k.strip().lower(): (k, v.strip()) for k, v in (row.data or {}).items()}
    if row.not_before is None and rules.reminder_days is not None and DUE in data:
        name, text = data[DUE]
        row.not_before = rules.not_before(calendar, _day(name, text), tz)
    if row.deadline is None and (rules.within is not None or rules.within_days is not None):
        event = now
        for column in EVENT_COLUMNS:
            if column in data and data[column][1]:
                event = _moment(*data[column], tz)
                break
        row.deadline = rules.deadline(calendar, event, tz)


def _day(name: str, text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise BadRelativeValue(name, f"{text!r} is not a date (YYYY-MM-DD)") from None


def _moment(name: str, text: str, tz: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadRelativeValue(name, f"{text!r} is not an ISO 8601 date or time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=ZoneInfo(tz))
