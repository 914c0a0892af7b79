"""Settle dials that no live daemon will hear about: a crash, kill -9, or a dead peer.

An open attempt whose daemon is gone is adopted when the PBX still has its call
(late events then settle it), and otherwise marked ``interrupted``: not counted
against the contact, and due again only after the minimum spacing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, select, update

from dialerd.db import tables
from dialerd.db.queue import IN_FLIGHT
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import PbxSignals
from dialerd.engine.results import Pending, record_outcomes
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.reconcile")
_at = tables.attempts
_in = tables.instances
# Without a word from the PBX, a call older than this is given up on.
GIVE_UP_AFTER = timedelta(hours=4)


def alive_instances(conn: Connection, *, now: datetime, heartbeat_s: float) -> set[str]:
    cutoff = now - timedelta(seconds=3 * heartbeat_s)
    rows = conn.execute(
        select(_in.c.id).where(_in.c.stopped_at.is_(None), _in.c.heartbeat_at >= cutoff)
    ).scalars()
    return set(rows)


def open_instances(conn: Connection) -> set[str]:
    """Instances with dials still open."""
    return set(conn.execute(select(_at.c.instance_id).where(IN_FLIGHT).distinct()).scalars())


def orphaned(conn: Connection, *, keep: set[str]) -> list[Row[Any]]:
    """Open attempts of daemons not in ``keep`` (the live ones)."""
    rows = conn.execute(select(_at).where(IN_FLIGHT)).all()
    return [r for r in rows if r.instance_id not in keep]


def settle_orphans(
    conn: Connection,
    *,
    instance_id: str,
    alive: set[str],
    live_keys: set[str] | None,
    runtime_for: Callable[[int], CampaignRuntime | None],
    adopt: Callable[[str, int], None] | None,
    now: datetime,
    startup: bool = False,
    spare: frozenset[str] = frozenset(),
) -> tuple[int, int]:
    """Adopt orphans whose call is still up; interrupt the others. Returns (adopted, interrupted).

    At start-up this daemon's own id counts as a previous run's (a fresh process has
    nothing in flight), so a fixed ``instance_id`` survives kill -9 too. With the
    PBX's channel list unknown (link down), only orphans older than GIVE_UP_AFTER
    are interrupted; the rest wait for the next pass. Orphans of the instances in
    ``spare`` (peers gone only lately, which may yet restart and replay their
    spilled results) may be adopted but are not interrupted yet.
    """
    adopted = 0
    lost = []
    keep = alive - {instance_id} if startup else alive | {instance_id}
    for attempt in orphaned(conn, keep=keep):
        key, started = attempt.key, attempt.started_at or attempt.claimed_at
        if live_keys is not None and key in live_keys:
            conn.execute(update(_at).where(_at.c.id == attempt.id).values(instance_id=instance_id))
            if adopt is not None:
                adopt(key, attempt.id)
            adopted += 1
        elif attempt.instance_id in spare and now - started < GIVE_UP_AFTER:
            continue
        elif live_keys is not None or now - started >= GIVE_UP_AFTER:
            lost.append(attempt)
    interrupted = _interrupt(conn, lost, runtime_for, now, "its daemon stopped")
    return adopted, interrupted


def interrupt_own(
    conn: Connection,
    *,
    instance_id: str,
    runtime_for: Callable[[int], CampaignRuntime | None],
    now: datetime,
    reason: str,
) -> int:
    """On shutdown past the drain bound: record this daemon's open dials as interrupted."""
    rows = conn.execute(select(_at).where(IN_FLIGHT, _at.c.instance_id == instance_id)).all()
    return _interrupt(conn, rows, runtime_for, now, reason)


def _interrupt(
    conn: Connection,
    attempts: Sequence[Row[Any]],
    runtime_for: Callable[[int], CampaignRuntime | None],
    now: datetime,
    reason: str,
) -> int:
    """Record dials with no word from the PBX as ``interrupted``: not counted, spaced."""
    signals = PbxSignals(error=f"interrupted: {reason}", ended_at=now, lost=True)
    done = record_outcomes(
        conn,
        [Pending(a, Outcome.interrupted, signals, rule=reason) for a in attempts],
        runtime_for=runtime_for,
        now=now,
    )
    for rec in done:
        log.info(
            "call_interrupted",
            campaign=rec.campaign,
            attempt_id=rec.attempt_id,
            contact_id=rec.contact_id,
            reason=reason,
        )
    return len(done)
