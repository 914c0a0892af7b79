"""What the queue's states mean in SQL, defined once for claims, limits, status and reports.

Each predicate is literal SQL built from the domain's state values, worded like
the partial index it reads (``ix_phone_numbers_due``, ``ix_phone_numbers_usable``,
``ix_attempts_open``): a query planner uses a partial index only when the query
states its condition, and a bound parameter does not.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.sql.elements import TextClause

from dialerd.domain.states import USABLE_NUMBER_STATES, AttemptStatus, NumberState


def _queued(table: str = "") -> str:
    return f"{table}state = '{NumberState.dialable.value}' AND {table}next_dial_at IS NOT NULL"


def _usable(table: str = "") -> str:
    return f"{table}state IN ({', '.join(repr(s.value) for s in USABLE_NUMBER_STATES)})"


def _open(table: str = "") -> str:
    return f"{table}status = '{AttemptStatus.dialing.value}'"


# The partial indexes' predicates (models.py and migration 0001), unqualified.
QUEUED_SQL = _queued()
USABLE_SQL = _usable()
OPEN_SQL = _open()

QUEUED: TextClause = text(_queued("phone_numbers."))
"""A number in the dispatcher's queue: dialable, with a dial planned (due now or later).

Due at ``now``: ``QUEUED`` and ``next_dial_at <= now``."""

USABLE: TextClause = text(_usable("phone_numbers."))
"""A number that may still be dialled: dialable, or exhausted but not dead or DNC."""

IN_FLIGHT: TextClause = text(_open("attempts."))
"""An attempt claimed and not yet settled (its dial is, or may be, on the PBX)."""

HAS_DIAL: TextClause = text(
    "(phone_numbers.next_dial_at IS NOT NULL OR phone_numbers.in_flight_attempt_id IS NOT NULL)"
)
"""A number with a dial queued or in flight: its contact needs no requeue."""
