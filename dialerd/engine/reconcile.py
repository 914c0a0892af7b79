"""Settle dials that no live daemon will hear about: a crash, kill -9, or a dead peer.

A daemon owns its open attempts while its lease (``instances.lease_until``, the
database's time) runs. An attempt is orphaned only when its daemon's lease has
expired by the database's clock (or the daemon stopped, or it is this daemon's
own previous run) AND the PBX no longer has its channel: a stalled daemon, a
database outage or a skewed host clock therefore never settles a live call. An
orphan the PBX still has is adopted (its late events settle it); one it has not
is settled from the PBX's own call records when they have it (:class:`CallRecords`,
Asterisk's CDR: a call that ended while no daemon listened), else marked
``interrupted``: not counted against the contact, due again only after the
minimum spacing, and corrected once if its real result arrives later, from the
records too (:func:`correct_from_records`, :mod:`dialerd.engine.corrections`).
With the PBX's channel list unknown (link down) nothing is settled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, Row, select, update

from dialerd.db import tables
from dialerd.db.clock import database_now
from dialerd.db.queue import IN_FLIGHT
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.engine.results import Pending, record_outcomes, record_results
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.reconcile")
_at = tables.attempts
_in = tables.instances


class CallRecords(Protocol):
    """The PBX's own records of ended calls (:class:`dialerd.pbx.cdr.CdrFile`)."""

    def refresh(self) -> set[str]:
        """Read new records; the dial keys they name."""
        ...

    def signals(self, keys: Iterable[str]) -> dict[str, PbxSignals]:
        """Signals of the dials in ``keys`` that have a record."""
        ...


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
    records: CallRecords | None = None,
) -> tuple[int, int]:
    """Adopt orphans whose call is still up; interrupt the others. Returns (adopted, interrupted).

    ``alive`` holds the daemons whose lease runs (:func:`alive_instances`). At
    ``startup`` this daemon's own dials claimed before ``run_started`` (all of them
    when it is None) are a previous run's, so a fixed ``instance_id`` survives
    kill -9 too. ``live_keys`` None (the PBX's channel list is unknown): nothing is
    done; the daemon passes ``startup`` again until one pass could decide. Orphans of
    the instances in ``spare`` (peers gone only lately, which may yet restart and
    replay their spilled results) may be adopted but are not interrupted yet.
    An orphan ``records`` has an ended call for is recorded with its real outcome
    (not counted as interrupted).
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
    if records is not None and lost:
        found = records.signals(a.key for a in lost)
        _from_records(conn, [a for a in lost if a.key in found], found, runtime_for, now)
        lost = [a for a in lost if a.key not in found]
    interrupted = _interrupt(conn, lost, runtime_for, now, "its daemon stopped")
    return adopted, interrupted


def correct_from_records(
    conn: Connection,
    keys: set[str],
    records: CallRecords,
    *,
    runtime_for: Callable[[int], CampaignRuntime | None],
    now: datetime,
) -> int:
    """Dials settled ``interrupted`` whose call record turned up: the truth wins, once."""
    if not keys:
        return 0
    rows: list[Row[Any]] = []
    for chunk in _chunks(sorted(keys), 500):
        rows += conn.execute(
            select(_at).where(_at.c.key.in_(chunk), _at.c.outcome == Outcome.interrupted.value)
        ).all()
    found = records.signals(r.key for r in rows)
    return len(_from_records(conn, [r for r in rows if r.key in found], found, runtime_for, now))


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _from_records(
    conn: Connection,
    attempts: Sequence[Row[Any]],
    found: dict[str, PbxSignals],
    runtime_for: Callable[[int], CampaignRuntime | None],
    now: datetime,
) -> list[Any]:
    """Classify and record the call records' results (late ones through ``record_late``)."""
    results = [DialResult(a.key, a.id, found[a.key]) for a in attempts]
    done = record_results(conn, results, runtime_for=runtime_for, now=now)
    for rec in done:
        log.info(
            "call_settled_from_records",
            campaign=rec.campaign,
            attempt_id=rec.attempt_id,
            contact_id=rec.contact_id,
            outcome=rec.outcome.value,
        )
    return done


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
