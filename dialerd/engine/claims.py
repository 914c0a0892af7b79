"""The dispatcher's claims: attempt rows written before the dial, numbers taken from the queue.

The due rows come from :mod:`dialerd.engine.due_rows` (re-exported here). A claim
writes the attempt row ``dialing`` and takes its number out of the queue in the
same transaction; PostgreSQL has locked the rows read (``FOR UPDATE SKIP
LOCKED``), SQLite has a single writer (``BEGIN IMMEDIATE``), so no two daemons
claim one number twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, update

from dialerd.db import tables
from dialerd.db.bulk import InsertMany, Many
from dialerd.domain.states import AttemptStatus, ContactState
from dialerd.engine.due_rows import (
    DueRow,
    MissedRow,
    count_due,
    priority_levels,
    select_due,
    select_missed,
)

__all__ = [
    "Claim",
    "DueRow",
    "MissedRow",
    "attempt_key",
    "count_due",
    "mark_not_sent",
    "priority_levels",
    "select_due",
    "select_missed",
    "write_claims",
]

_pn = tables.phone_numbers
_ct = tables.contacts
_at = tables.attempts
_rd = tables.rounds


def attempt_key(campaign_id: int, row: DueRow) -> str:
    """The idempotency key: campaign, contact, number, round (and try, for our own failures).

    The try is written with three digits: Asterisk refuses a ChannelId that is a prefix
    of a live channel's id, and ``…-1`` would be one of ``…-10``. With every other field
    closed by a ``-``, no key is a prefix of another (``key-2`` is the dial's own ``;2``).
    """
    return f"{campaign_id}-{row.contact_id}-{row.position}-{row.round}-{row.try_no:03d}"


@dataclass(frozen=True)
class Claim:
    row: DueRow
    key: str
    caller_id: str
    channel: str
    refused: Exception | None = None  # unsafe for the wire: recorded, never sent


_ATTEMPT_COLUMNS = (
    "key",
    "campaign_id",
    "contact_id",
    "phone_number_id",
    "round",
    "position",
    "try_no",
    "number",
    "instance_id",
    "status",
    "started_at",
    "is_appointment",
    "planned_at",
    "claimed_at",
    "utc_offset_s",
    "caller_id",
    "channel",
)
_INSERT_ATTEMPTS = InsertMany(_at, _ATTEMPT_COLUMNS, conflict=["key"], returning=["id", "key"])
_TAKE_NUMBER = Many(
    update(_pn)
    .where(_pn.c.id == bindparam("b_id"))
    .values(
        next_dial_at=None,
        in_flight_attempt_id=bindparam("b_attempt"),
        claimed_by=bindparam("b_instance"),
        dial_count=_pn.c.dial_count + 1,
        last_dialed_at=bindparam("b_now"),
    ),
    ("b_id", "b_attempt", "b_instance", "b_now"),
)
_INSERT_ROUNDS = InsertMany(
    _rd,
    ("campaign_id", "contact_id", "round", "is_appointment", "started_at"),
    conflict=["contact_id", "round"],
    returning=["contact_id"],
)
_ROUND_STARTED = Many(
    update(_ct)
    .where(_ct.c.id == bindparam("b_id"))
    .values(
        rounds_started=_ct.c.rounds_started + bindparam("b_counts"),
        round_started_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
    ),
    ("b_id", "b_counts", "b_now"),
)


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
    dialing = AttemptStatus.dialing
    rows = [
        (
            c.key,
            campaign_id,
            c.row.contact_id,
            c.row.number_id,
            c.row.round,
            c.row.position,
            c.row.try_no,
            c.row.e164,
            instance_id,
            dialing,
            now,
            c.row.is_appointment,
            c.row.due_at,
            now,
            utc_offset_s,
            c.caller_id,
            c.channel,
        )
        for c in claims
    ]
    ids: dict[str, int] = {key: id_ for id_, key in _INSERT_ATTEMPTS.execute(conn, rows)}
    taken = [c for c in claims if c.key in ids]
    if taken:
        _TAKE_NUMBER.execute(conn, [(c.row.number_id, ids[c.key], instance_id, now) for c in taken])
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
    rows = [(campaign_id, c.row.contact_id, c.row.round, c.row.is_appointment, now) for c in claims]
    opened = {contact_id for (contact_id,) in _INSERT_ROUNDS.execute(conn, rows)}
    _ROUND_STARTED.execute(
        conn,
        [
            (c.row.contact_id, 0 if c.row.is_appointment else 1, now)
            for c in claims
            if c.row.contact_id in opened
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
