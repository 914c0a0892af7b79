"""The ``instances`` table: each daemon registers, beats (renewing its lease), and stops.

``dialerd status`` calls an instance alive while its heartbeat is newer than
``ALIVE_BEATS`` periods and ``stopped_at`` is NULL. Ownership of dials in flight is
the lease: each beat sets ``lease_until`` to the database's time plus the lease
(``lease_seconds``), and peers compare it with the database's time too
(:func:`dialerd.engine.reconcile.alive_instances`), so neither host's clock counts.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session

from dialerd.db.clock import database_now
from dialerd.db.models import Instance
from dialerd.domain.liveness import ALIVE_BEATS as ALIVE_BEATS  # in the domain: no models needed
from dialerd.domain.liveness import is_alive as is_alive


def lease_seconds(heartbeat_s: float) -> float:
    """How long a beat's lease lasts: ``ALIVE_BEATS`` heartbeat periods."""
    return ALIVE_BEATS * heartbeat_s


def renew_lease(session: Session, instance_id: str, *, lease_s: float) -> datetime:
    """Extend this daemon's lease to the database's time plus ``lease_s``; returns that time."""
    db_now = database_now(session.connection())
    session.execute(
        update(Instance)
        .where(Instance.id == instance_id)
        .values(lease_until=db_now + timedelta(seconds=lease_s))
    )
    return db_now


def _version() -> str:
    try:
        return version("dialerd")
    except PackageNotFoundError:
        return "unknown"


def register_instance(
    session: Session,
    *,
    instance_id: str,
    pbx_kind: str,
    now: datetime,
    lease_s: float | None = None,
) -> Instance:
    """Insert or refresh this daemon's row (a restart with the same id reuses it).

    With ``lease_s`` the daemon takes its lease at once, before its first dial.
    """
    row = session.get(Instance, instance_id)
    if row is None:
        row = Instance(id=instance_id)
        session.add(row)
    row.hostname = socket.gethostname()
    row.pid = os.getpid()
    row.version = _version()
    row.started_at = now
    row.heartbeat_at = now
    row.stopped_at = None
    row.lease_until = None
    row.pbx_kind = pbx_kind
    row.pbx_up = False
    row.in_flight = 0
    row.status = {}
    session.flush()
    if lease_s is not None:
        renew_lease(session, instance_id, lease_s=lease_s)
        session.refresh(row)
    return row


def beat(
    session: Session,
    instance_id: str,
    *,
    now: datetime,
    pbx_up: bool,
    in_flight: int,
    status: dict[str, Any],
    lease_s: float | None = None,
) -> None:
    """Record that this daemon is alive, with its PBX link and load; renew its lease."""
    session.execute(
        update(Instance)
        .where(Instance.id == instance_id)
        .values(heartbeat_at=now, pbx_up=pbx_up, in_flight=in_flight, status=status)
    )
    if lease_s is not None:
        renew_lease(session, instance_id, lease_s=lease_s)


def mark_stopped(session: Session, instance_id: str, *, now: datetime) -> None:
    """A clean exit: the instance no longer counts as alive, at once."""
    session.execute(
        update(Instance)
        .where(Instance.id == instance_id)
        .values(stopped_at=now, heartbeat_at=now, lease_until=None, pbx_up=False, in_flight=0)
    )


def alive_clause(*, now: datetime, heartbeat_s: float) -> ColumnElement[bool]:
    """SQL condition: the instance row is alive at ``now``."""
    cutoff = now - timedelta(seconds=ALIVE_BEATS * heartbeat_s)
    return and_(Instance.stopped_at.is_(None), Instance.heartbeat_at > cutoff)


def instances(session: Session, *, since: datetime | None = None) -> list[Instance]:
    """Instances seen since ``since`` (all when None), latest heartbeat first."""
    query = select(Instance).order_by(Instance.heartbeat_at.desc(), Instance.id)
    if since is not None:
        query = query.where(Instance.heartbeat_at >= since)
    return list(session.scalars(query))


def alive_instances(session: Session, *, now: datetime, heartbeat_s: float) -> list[Instance]:
    query = select(Instance).where(alive_clause(now=now, heartbeat_s=heartbeat_s))
    return list(session.scalars(query.order_by(Instance.id)))
