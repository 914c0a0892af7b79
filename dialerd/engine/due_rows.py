"""The due queue read by index: the rows a tick may claim, and the rows it missed.

A dial starts only strictly before its contact's deadline: the due rows are read
with ``deadline > now`` (the same ``now`` the claim writes as the start time), and
:func:`select_missed` finds the queued rows whose deadline has passed, for the
dispatcher to settle as the domain's ``at_deadline`` says.

PostgreSQL locks the chosen rows with ``FOR UPDATE SKIP LOCKED`` so several
daemons never claim one number twice. The queue conditions come from
:mod:`dialerd.db.queue`, as literals so the planners can use the partial indexes
``ix_phone_numbers_due`` and ``ix_phone_numbers_deadline``. The claims themselves
are written by :mod:`dialerd.engine.claims`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    bindparam,
    column,
    func,
    select,
    text,
)

from dialerd.db import tables
from dialerd.db.queue import QUEUED, QUEUED_SQL
from dialerd.db.rowreads import Read

_pn = tables.phone_numbers
_ct = tables.contacts


class DueRow(NamedTuple):
    """A due dial, as read (a tuple: made from its row at a tenth of a dataclass's cost)."""

    number_id: int
    contact_id: int
    position: int
    e164: str
    carrier: str | None
    due_at: datetime
    round: int
    try_no: int
    is_appointment: bool
    external_id: str
    contact_tz: str | None
    rounds_started: int


# A loose index scan: one seek in ix_phone_numbers_due per priority level present,
# however many numbers are queued (a plain DISTINCT reads the whole index).
_LEVELS_SQL = text(f"""
WITH RECURSIVE levels(p) AS (
    SELECT max(priority) FROM phone_numbers
     WHERE campaign_id = :c AND {QUEUED_SQL}
    UNION ALL
    SELECT (SELECT max(priority) FROM phone_numbers
             WHERE campaign_id = :c AND {QUEUED_SQL}
               AND priority < levels.p)
      FROM levels WHERE levels.p IS NOT NULL
)
SELECT p FROM levels WHERE p IS NOT NULL
""").columns(column("p", Integer))
_LEVELS = Read(lambda _d: _LEVELS_SQL, ["c"])


def priority_levels(conn: Connection, campaign_id: int) -> list[int]:
    """The priorities present in the queue, highest first."""
    return [int(p) for (p,) in _LEVELS.rows(conn, campaign_id)]


# Built once: a statement built per call costs more to build and key than to run.
# Its columns are DueRow's fields in their order (select_due builds rows by position).
_DUE = (
    select(
        _pn.c.id,
        _pn.c.contact_id,
        _pn.c.position,
        _pn.c.e164,
        _pn.c.carrier,
        _pn.c.next_dial_at,
        _pn.c.next_round,
        _pn.c.next_try,
        _pn.c.next_is_appointment,
        _ct.c.external_id,
        _ct.c.timezone,
        _ct.c.rounds_started,
    )
    .join(_ct, _ct.c.id == _pn.c.contact_id)
    .where(_pn.c.campaign_id == bindparam("c"), QUEUED, _pn.c.next_dial_at <= bindparam("now"))
)
_DUE_BY_DEADLINE = (
    _DUE.where(_pn.c.deadline.is_not(None), _pn.c.deadline > bindparam("now"))
    .order_by(_pn.c.deadline)
    .limit(bindparam("n"))
)
_DUE_AT_LEVEL = (
    _DUE.where(_pn.c.deadline.is_(None), _pn.c.priority == bindparam("level"))
    .order_by(_pn.c.next_dial_at)
    .limit(bindparam("n"))
)
# run through the driver (:mod:`dialerd.db.rowreads`); PostgreSQL locks the rows
_BY_DEADLINE = Read(lambda d: _locked(_DUE_BY_DEADLINE, d), ["c", "now", "n"])
_AT_LEVEL = Read(lambda d: _locked(_DUE_AT_LEVEL, d), ["c", "now", "n", "level"])


def _locked(stmt: Select[Any], dialect: str) -> Select[Any]:
    return stmt.with_for_update(of=_pn, skip_locked=True) if dialect == "postgresql" else stmt


def select_due(
    conn: Connection,
    *,
    campaign_id: int,
    now: datetime,
    limit: int,
    priorities: Sequence[int],
) -> list[DueRow]:
    """Due rows in dialling order: earliest deadline first, then priority, then due time."""
    result = _BY_DEADLINE.rows(conn, campaign_id, now, limit)
    for level in priorities:
        remaining = limit - len(result)
        if remaining <= 0:
            break
        result += _AT_LEVEL.rows(conn, campaign_id, now, remaining, level)
    # _DUE's columns are DueRow's fields, in order
    return list(map(DueRow._make, result))


_DUE_IDS = (
    select(_pn.c.id)
    .where(
        _pn.c.campaign_id == bindparam("c"),
        QUEUED,
        _pn.c.priority == bindparam("level"),
        _pn.c.next_dial_at <= bindparam("now"),
        _pn.c.deadline.is_(None) | (_pn.c.deadline > bindparam("now")),
    )
    .limit(bindparam("n"))
    .subquery()
)
_COUNT_DUE = Read(lambda _d: select(func.count()).select_from(_DUE_IDS), ["c", "now", "n", "level"])


def count_due(
    conn: Connection, *, campaign_id: int, now: datetime, limit: int, priorities: Sequence[int]
) -> int:
    """Dials the campaign could start at ``now``, counted up to ``limit``.

    One range of ``ix_phone_numbers_due`` per priority level, as :func:`select_due`
    reads them, so the count costs what a claim of ``limit`` rows costs, however
    many dials are queued for later.
    """
    found = 0
    for level in priorities:
        if found >= limit:
            break
        found += int(_COUNT_DUE.rows(conn, campaign_id, now, limit - found, level)[0][0])
    return found


class MissedRow(NamedTuple):
    """A queued dial whose contact's deadline has passed at the tick's ``now``."""

    number_id: int
    contact_id: int
    deadline: datetime


_MISSED = (
    select(_pn.c.id, _pn.c.contact_id, _pn.c.deadline)
    .where(
        _pn.c.campaign_id == bindparam("c"),
        QUEUED,
        _pn.c.deadline.is_not(None),
        _pn.c.deadline <= bindparam("now"),
    )
    .order_by(_pn.c.deadline)
    .limit(bindparam("n"))
)
_MISSED_OF = Read(lambda _d: _MISSED, ["c", "now", "n"])
_MISSED_LOCKED = Read(lambda d: _locked(_MISSED, d), ["c", "now", "n"])


def select_missed(
    conn: Connection, *, campaign_id: int, now: datetime, limit: int, lock: bool = False
) -> list[MissedRow]:
    """Queued rows with ``deadline <= now`` (``ix_phone_numbers_deadline``), oldest first.

    Due or not: a dial planned after the deadline (the next round at 15:00 for a
    09:30 deadline) can never be made either. ``lock`` takes them with ``FOR UPDATE
    SKIP LOCKED`` on PostgreSQL, as a claim does.
    """
    read = _MISSED_LOCKED if lock else _MISSED_OF
    return list(map(MissedRow._make, read.rows(conn, campaign_id, now, limit)))
