"""The dispatcher's SQL: read the due queue by index and claim rows atomically.

A dial starts only strictly before its contact's deadline: the due rows are read
with ``deadline > now`` (the same ``now`` the claim writes as the start time), and
:func:`select_missed` finds the queued rows whose deadline has passed, for the
dispatcher to settle as the domain's ``at_deadline`` says.

PostgreSQL locks the chosen rows with ``FOR UPDATE SKIP LOCKED`` so several
daemons never claim one number twice; SQLite has a single writer (``BEGIN
IMMEDIATE``). The queue conditions come from :mod:`dialerd.db.queue`, as literals so
the planners can use the partial indexes ``ix_phone_numbers_due`` and
``ix_phone_numbers_deadline``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from dialerd.db import tables
from dialerd.db.queue import QUEUED, QUEUED_SQL
from dialerd.domain.states import AttemptStatus, ContactState

_pn = tables.phone_numbers
_ct = tables.contacts
_at = tables.attempts
_rd = tables.rounds


@dataclass(frozen=True)
class DueRow:
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


def attempt_key(campaign_id: int, row: DueRow) -> str:
    """The idempotency key: campaign, contact, number, round (and try, for our own failures).

    The try is written with three digits: Asterisk refuses a ChannelId that is a prefix
    of a live channel's id, and ``…-1`` would be one of ``…-10``. With every other field
    closed by a ``-``, no key is a prefix of another (``key-2`` is the dial's own ``;2``).
    """
    return f"{campaign_id}-{row.contact_id}-{row.position}-{row.round}-{row.try_no:03d}"


# A loose index scan: one seek in ix_phone_numbers_due per priority level present,
# however many numbers are queued (a plain DISTINCT reads the whole index).
_LEVELS = text(f"""
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
""")


def priority_levels(conn: Connection, campaign_id: int) -> list[int]:
    """The priorities present in the queue, highest first."""
    return [int(p) for p in conn.execute(_LEVELS, {"c": campaign_id}).scalars()]


def _due_query(campaign_id: int, now: datetime, lock: bool) -> Any:
    q = (
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
        .where(_pn.c.campaign_id == campaign_id, QUEUED, _pn.c.next_dial_at <= now)
    )
    return q.with_for_update(of=_pn, skip_locked=True) if lock else q


def select_due(
    conn: Connection,
    *,
    campaign_id: int,
    now: datetime,
    limit: int,
    priorities: Sequence[int],
) -> list[DueRow]:
    """Due rows in dialling order: earliest deadline first, then priority, then due time."""
    lock = conn.dialect.name == "postgresql"
    base = _due_query(campaign_id, now, lock)
    result = list(
        conn.execute(
            base.where(_pn.c.deadline.is_not(None), _pn.c.deadline > now)
            .order_by(_pn.c.deadline)
            .limit(limit)
        ).all()
    )
    for level in priorities:
        remaining = limit - len(result)
        if remaining <= 0:
            break
        result += conn.execute(
            base.where(_pn.c.deadline.is_(None), _pn.c.priority == level)
            .order_by(_pn.c.next_dial_at)
            .limit(remaining)
        ).all()
    return [
        DueRow(
            number_id=r.id,
            contact_id=r.contact_id,
            position=r.position,
            e164=r.e164,
            carrier=r.carrier,
            due_at=r.next_dial_at,
            round=r.next_round,
            try_no=r.next_try,
            is_appointment=r.next_is_appointment,
            external_id=r.external_id,
            contact_tz=r.timezone,
            rounds_started=r.rounds_started,
        )
        for r in result
    ]


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
        due = (
            select(_pn.c.id)
            .where(
                _pn.c.campaign_id == campaign_id,
                QUEUED,
                _pn.c.priority == level,
                _pn.c.next_dial_at <= now,
                _pn.c.deadline.is_(None) | (_pn.c.deadline > now),
            )
            .limit(limit - found)
            .subquery()
        )
        found += int(conn.execute(select(func.count()).select_from(due)).scalar_one())
    return found


@dataclass(frozen=True)
class MissedRow:
    """A queued dial whose contact's deadline has passed at the tick's ``now``."""

    number_id: int
    contact_id: int
    deadline: datetime


def select_missed(
    conn: Connection, *, campaign_id: int, now: datetime, limit: int, lock: bool = False
) -> list[MissedRow]:
    """Queued rows with ``deadline <= now`` (``ix_phone_numbers_deadline``), oldest first.

    Due or not: a dial planned after the deadline (the next round at 15:00 for a
    09:30 deadline) can never be made either. ``lock`` takes them with ``FOR UPDATE
    SKIP LOCKED`` on PostgreSQL, as a claim does.
    """
    q = (
        select(_pn.c.id, _pn.c.contact_id, _pn.c.deadline)
        .where(
            _pn.c.campaign_id == campaign_id,
            QUEUED,
            _pn.c.deadline.is_not(None),
            _pn.c.deadline <= now,
        )
        .order_by(_pn.c.deadline)
        .limit(limit)
    )
    if lock and conn.dialect.name == "postgresql":
        q = q.with_for_update(of=_pn, skip_locked=True)
    return [MissedRow(r.id, r.contact_id, r.deadline) for r in conn.execute(q)]


@dataclass(frozen=True)
class Claim:
    row: DueRow
    key: str
    caller_id: str
    channel: str
    refused: Exception | None = None  # unsafe for the wire: recorded, never sent


def _insert_into(conn: Connection, table: Any) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def write_claims(
    conn: Connection,
    claims: Sequence[Claim],
    *,
    campaign_id: int,
    instance_id: str,
    now: datetime,
    utc_offset_s: int | None = None,
) -> dict[str, int]:
    """Write the attempt rows and take the numbers out of the queue; returns key → attempt id.

    ``utc_offset_s`` is the campaign zone's UTC offset at ``now``: the rows' local day.

    The rows are written ``dialing``, started now: the Originates follow the commit at
    once, and a dial that then fails to leave gets its start time cleared. (Marking
    them after the send would wait on rows the result writer already holds.)

    A key that already exists is a dial that was made before: it is never made again
    (the row is left out of the result and the contact is paused and flagged).
    """
    if not claims:
        return {}
    stmt = (
        _insert_into(conn, _at)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(_at.c.id, _at.c.key)
    )
    params = [
        {
            "key": c.key,
            "campaign_id": campaign_id,
            "contact_id": c.row.contact_id,
            "phone_number_id": c.row.number_id,
            "round": c.row.round,
            "position": c.row.position,
            "try_no": c.row.try_no,
            "number": c.row.e164,
            "instance_id": instance_id,
            "status": AttemptStatus.dialing,
            "started_at": now,
            "is_appointment": c.row.is_appointment,
            "planned_at": c.row.due_at,
            "claimed_at": now,
            "utc_offset_s": utc_offset_s,
            "caller_id": c.caller_id,
            "channel": c.channel,
        }
        for c in claims
    ]
    ids = {r.key: r.id for r in conn.execute(stmt, params)}
    taken = [c for c in claims if c.key in ids]
    if taken:
        conn.execute(
            update(_pn)
            .where(_pn.c.id == bindparam("b_id"))
            .values(
                next_dial_at=None,
                in_flight_attempt_id=bindparam("b_attempt"),
                claimed_by=instance_id,
                dial_count=_pn.c.dial_count + 1,
                last_dialed_at=now,
            ),
            [{"b_id": c.row.number_id, "b_attempt": ids[c.key]} for c in taken],
        )
        _open_rounds(conn, taken, campaign_id=campaign_id, now=now)
    duplicates = [c for c in claims if c.key not in ids]
    if duplicates:
        _quarantine(conn, duplicates, campaign_id=campaign_id, instance_id=instance_id, now=now)
    return ids


def _open_rounds(
    conn: Connection, claims: Sequence[Claim], *, campaign_id: int, now: datetime
) -> None:
    """Record the round a dial opens: its row, and the contact's count and start time.

    A dial opens a round when that round has no row yet; appointment rounds do not
    count toward ``max_rounds``.
    """
    if not claims:
        return
    stmt = (
        _insert_into(conn, _rd)
        .on_conflict_do_nothing(index_elements=["contact_id", "round"])
        .returning(_rd.c.contact_id)
    )
    opened = {
        r.contact_id
        for r in conn.execute(
            stmt,
            [
                {
                    "campaign_id": campaign_id,
                    "contact_id": c.row.contact_id,
                    "round": c.row.round,
                    "is_appointment": c.row.is_appointment,
                    "started_at": now,
                }
                for c in claims
            ],
        )
    }
    rows = [c for c in claims if c.row.contact_id in opened]
    if rows:
        conn.execute(
            update(_ct)
            .where(_ct.c.id == bindparam("b_id"))
            .values(
                rounds_started=_ct.c.rounds_started + bindparam("b_counts"),
                round_started_at=now,
                updated_at=now,
            ),
            [
                {"b_id": c.row.contact_id, "b_counts": 0 if c.row.is_appointment else 1}
                for c in rows
            ],
        )


def _quarantine(
    conn: Connection,
    claims: Sequence[Claim],
    *,
    campaign_id: int,
    instance_id: str,
    now: datetime,
) -> None:
    """A queued dial whose key was already used: pause the contact rather than dial twice."""
    for c in claims:
        conn.execute(update(_pn).where(_pn.c.id == c.row.number_id).values(next_dial_at=None))
        conn.execute(
            update(_ct)
            .where(_ct.c.id == c.row.contact_id)
            .values(
                state=ContactState.paused,
                flagged=f"idempotency key {c.key} was already dialled",
                updated_at=now,
            )
        )
        conn.execute(
            insert(tables.campaign_events).values(
                campaign_id=campaign_id,
                at=now,
                kind="duplicate_key_refused",
                actor=instance_id,
                details={"key": c.key, "contact_id": c.row.contact_id},
            )
        )


def mark_not_sent(conn: Connection, attempt_ids: Sequence[int]) -> None:
    """These Originates never left (refused before the wire, or no link): no start time."""
    if attempt_ids:
        conn.execute(update(_at).where(_at.c.id.in_(attempt_ids)).values(started_at=None))
