"""Settle dials that no live daemon will hear about: a crash, kill -9, or a dead peer.

A daemon owns its open attempts while its lease (``instances.lease_until``, the
database's time) runs. An attempt is orphaned only when its daemon's lease has
expired by the database's clock (or the daemon stopped, or it is this daemon's
own previous run) AND the PBX no longer has its channel: a stalled daemon, a
database outage or a skewed host clock therefore never settles a live call. An
orphan the PBX still has is adopted (its late events settle it); one it has not
is marked ``interrupted``: not counted against the contact, due again only after
the minimum spacing, and corrected if its real result arrives later
(:mod:`dialerd.engine.corrections`). With the PBX's channel list unknown (link
down) nothing is settled.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, select, update

from dialerd.db import tables
from dialerd.db.clock import database_now
from dialerd.db.queue import IN_FLIGHT
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import PbxSignals
from dialerd.engine.results import Pending, record_outcomes
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.reconcile")
_at = tables.attempts
_in = tables.instances


def alive_instances(conn: Connection) -> set[str]:
    """Daemons whose lease has not expired by the database's clock (and not stopped)."""
    rows = conn.execute(
        select(_in.c.id).where(_in.c.stopped_at.is_(None), _in.c.lease_until > database_now(conn))
    ).scalars()
    return set(rows)


def open_instances(conn: Connection) -> set[str]:
    """Instances with dials still open."""
    return set(conn.execute(select(_at.c.instance_id).where(IN_FLIGHT).distinct()).scalars())


def orphaned(
    conn: Connection, *, keep: set[str], own: str | None = None, before: datetime | None = None
) -> list[Row[Any]]:
    """Open attempts of daemons not in ``keep``, and ``own``'s claimed before ``before``."""
    rows = conn.execute(select(_at).where(IN_FLIGHT)).all()
    return [
        r
        for r in rows
        if (r.instance_id not in keep and r.instance_id != own)
        or (r.instance_id == own and before is not None and r.claimed_at < before)
    ]


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
    run_started: datetime | None = None,
) -> tuple[int, int]:
    """Adopt orphans whose call is still up; interrupt the others. Returns (adopted, interrupted).

    ``alive`` holds the daemons whose lease runs (:func:`alive_instances`). At
    ``startup`` this daemon's own dials claimed before ``run_started`` (all of them
    when it is None) are a previous run's, so a fixed ``instance_id`` survives
    kill -9 too. ``live_keys`` None (the PBX's channel list is unknown): nothing is
    done; the daemon passes ``startup`` again until one pass could decide. Orphans of
    the instances in ``spare`` (peers gone only lately, which may yet restart and
    replay their spilled results) may be adopted but are not interrupted yet.
    """
    if live_keys is None:
        return 0, 0
    adopted = 0
    lost = []
    before = (run_started or datetime.max.replace(tzinfo=now.tzinfo)) if startup else None
    for attempt in orphaned(conn, keep=alive, own=instance_id, before=before):
        if attempt.key in live_keys:
            conn.execute(update(_at).where(_at.c.id == attempt.id).values(instance_id=instance_id))
            if adopt is not None:
                adopt(attempt.key, attempt.id)
            adopted += 1
        elif attempt.instance_id in spare:
            continue
        else:
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
