"""Per-campaign limits read from the database, so they hold across several daemons."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, case, func, select

from dialerd.db import tables
from dialerd.db.queue import IN_FLIGHT

_at = tables.attempts


# built once: building and keying a statement per call cost more than running it (every tick)
_DIALS_SINCE = (
    select(func.count())
    .select_from(_at)
    .where(_at.c.campaign_id == bindparam("c"), _at.c.claimed_at > bindparam("since"))
)
# every daemon's and this one's in one pass over the open attempts (each row is read once)
_BOTH_IN_FLIGHT = (
    select(
        _at.c.campaign_id,
        func.count(),
        func.count(case((_at.c.instance_id == bindparam("instance"), 1))),
    )
    .where(IN_FLIGHT)
    .group_by(_at.c.campaign_id)
)
# one campaign's load under its claim lock: its dials in flight, its dials in the rate window
_LOAD = select(
    select(func.count())
    .select_from(_at)
    .where(IN_FLIGHT, _at.c.campaign_id == bindparam("c"))
    .scalar_subquery(),
    _DIALS_SINCE.scalar_subquery(),
)


@dataclass(frozen=True)
class InFlight:
    """Dials in flight: every daemon's per campaign, and this daemon's in all."""

    by_campaign: dict[int, int]
    own: int


def in_flight(conn: Connection, instance_id: str) -> InFlight:
    """Every daemon's dials in flight per campaign, and ``instance_id``'s, in one query."""
    rows = conn.execute(_BOTH_IN_FLIGHT, {"instance": instance_id}).all()
    return InFlight({int(cid): int(n) for cid, n, _ in rows}, sum(int(own) for *_, own in rows))


def campaign_load(conn: Connection, campaign_id: int, since: datetime) -> tuple[int, int]:
    """A campaign's dials in flight (all daemons) and its dials claimed since ``since``.

    One statement for the two figures a claim re-checks under its lock.
    """
    flying, recent = conn.execute(_LOAD, {"c": campaign_id, "since": since}).one()
    return int(flying), int(recent)


def dials_in_flight(
    conn: Connection, campaign_ids: Iterable[int], now: datetime
) -> dict[int, float]:
    """Every daemon's dials in flight for these campaigns: attempt id -> seconds since claimed."""
    ids = list(campaign_ids)
    if not ids:
        return {}
    q = select(_at.c.id, _at.c.claimed_at).where(IN_FLIGHT, _at.c.campaign_id.in_(ids))
    return {
        int(aid): max(0.0, (now - _aware(claimed)).total_seconds())
        for aid, claimed in conn.execute(q).all()
    }


def _aware(at: datetime) -> datetime:
    """SQLite returns naive UTC datetimes."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def dials_since(conn: Connection, campaign_id: int, since: datetime) -> int:
    """Dials claimed for a campaign since ``since`` (the calls-per-second window)."""
    return int(conn.execute(_DIALS_SINCE, {"c": campaign_id, "since": since}).scalar_one())


def lock_campaign(conn: Connection, campaign_id: int) -> bool:
    """Serialise claiming for one campaign across daemons for this transaction.

    PostgreSQL: a transaction-level advisory lock, so counting in-flight dials and
    claiming are one atomic step; False means another daemon is claiming right now.
    SQLite: ``BEGIN IMMEDIATE`` already serialises every writer.
    """
    if conn.dialect.name != "postgresql":
        return True
    return bool(
        conn.execute(select(func.pg_try_advisory_xact_lock(0x6469616C, campaign_id))).scalar_one()
    )


def rate_window(per_second: float) -> tuple[timedelta, int]:
    """The sliding window a rate is counted over, and the dials it allows in it.

    One second for rates of at least one a second; for slower rates, the window in
    which one dial is allowed (0.5/s: one dial per 2 s).
    """
    if per_second >= 1:
        return timedelta(seconds=1), int(per_second)
    return timedelta(seconds=1 / per_second), 1
