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


def queued_sql(table: str = "") -> str:
    """The condition on a number in the queue; ``table`` qualifies the columns (``"p."``)."""
    return f"{table}state = '{NumberState.dialable.value}' AND {table}next_dial_at IS NOT NULL"


def usable_sql(table: str = "") -> str:
    """The condition on a number that may still be dialled."""
    return f"{table}state IN ({', '.join(repr(s.value) for s in USABLE_NUMBER_STATES)})"


def open_sql(table: str = "") -> str:
    """The condition on an attempt in flight."""
    return f"{table}status = '{AttemptStatus.dialing.value}'"


# The partial indexes' predicates (db/models/dialling.py and migration 0001), unqualified.
QUEUED_SQL = queued_sql()
USABLE_SQL = usable_sql()
OPEN_SQL = open_sql()

QUEUED: TextClause = text(queued_sql("phone_numbers."))
"""A number in the dispatcher's queue: dialable, with a dial planned (due now or later).

Due at ``now``: ``QUEUED`` and ``next_dial_at <= now``."""

USABLE: TextClause = text(usable_sql("phone_numbers."))
"""A number that may still be dialled: dialable, or exhausted but not dead or DNC."""

IN_FLIGHT: TextClause = text(open_sql("attempts."))
"""An attempt claimed and not yet settled (its dial is, or may be, on the PBX)."""

HAS_DIAL: TextClause = text(
    "(phone_numbers.next_dial_at IS NOT NULL OR phone_numbers.in_flight_attempt_id IS NOT NULL)"
)
"""A number with a dial queued or in flight: its contact needs no requeue."""
