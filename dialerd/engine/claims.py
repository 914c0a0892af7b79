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
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite

from dialerd.db import tables
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
