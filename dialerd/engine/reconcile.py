"""Settle dials that no live daemon will hear about: a crash, kill -9, or a dead peer.

An open attempt whose daemon is gone is adopted when the PBX still has its call
(late events then settle it), and otherwise marked ``interrupted``: not counted
against the contact, and due again only after the minimum spacing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, text, update

from dialerd.db import tables
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import PbxSignals
from dialerd.engine.results import record_outcome
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.reconcile")
_at = tables.attempts
_in = tables.instances
_OPEN = text("attempts.status IN ('claimed', 'dialing')")
# Without a word from the PBX, a call older than this is given up on.
GIVE_UP_AFTER = timedelta(hours=4)


def alive_instances(conn: Connection, *, now: datetime, heartbeat_s: float) -> set[str]:
    cutoff = now - timedelta(seconds=3 * heartbeat_s)
    rows = conn.execute(
        select(_in.c.id).where(_in.c.stopped_at.is_(None), _in.c.heartbeat_at >= cutoff)
    ).scalars()
    return set(rows)


def orphaned(conn: Connection, *, keep: set[str]) -> list[Any]:
    """Open attempts of daemons not in ``keep`` (the live ones)."""
    rows = conn.execute(select(_at).where(_OPEN)).all()
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
) -> tuple[int, int]:
    """Adopt orphans whose call is still up; interrupt the others. Returns (adopted, interrupted).

    At start-up this daemon's own id counts as a previous run's (a fresh process has
    nothing in flight), so a fixed ``instance_id`` survives kill -9 too. With the
    PBX's channel list unknown (link down), only orphans older than GIVE_UP_AFTER
    are interrupted; the rest wait for the next pass.
    """
    adopted = interrupted = 0
    keep = alive - {instance_id} if startup else alive | {instance_id}
    for attempt in orphaned(conn, keep=keep):
        key, started = attempt.key, attempt.started_at or attempt.claimed_at
        if live_keys is not None and key in live_keys:
            conn.execute(update(_at).where(_at.c.id == attempt.id).values(instance_id=instance_id))
            if adopt is not None:
                adopt(key, attempt.id)
            adopted += 1
            continue
        if live_keys is None and now - started < GIVE_UP_AFTER:
            continue
        runtime = runtime_for(attempt.campaign_id)
        if runtime is None:
            continue
        record_outcome(
            conn,
            attempt,
            Outcome.interrupted,
            runtime=runtime,
            now=now,
            signals=PbxSignals(error="interrupted: its daemon stopped", ended_at=now),
            rule="orphaned attempt",
        )
        interrupted += 1
        log.info(
            "call_interrupted",
            campaign=runtime.name,
            attempt_id=attempt.id,
            contact_id=attempt.contact_id,
            previous_instance=attempt.instance_id,
        )
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
    rows = conn.execute(select(_at).where(_OPEN, _at.c.instance_id == instance_id)).all()
    count = 0
    for attempt in rows:
        runtime = runtime_for(attempt.campaign_id)
        if runtime is None:
            continue
        record_outcome(
            conn,
            attempt,
            Outcome.interrupted,
            runtime=runtime,
            now=now,
            signals=PbxSignals(error=f"interrupted: {reason}", ended_at=now),
            rule=reason,
        )
        count += 1
    return count
