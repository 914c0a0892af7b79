"""The queue tracker's figures into the database: each answered dial's wait, agents' hours.

A job of its own, every heartbeat (not the heartbeat itself: a row the result
writer holds must not delay the lease). Per run: one ``UPDATE`` per taken call
(``attempts.customer_wait_s``, ``agent``, ``agent_ring_s``, ``agent_talk_s``), executed
as one batch, and one upsert
per queue and hour into ``queue_agent_hours`` that *adds* the seconds since the
last run. A failed write gives the hours back to the tracker for the next run;
the waits observed meanwhile are lost (they still went to the metrics). A call
taken by an agent comes twice: at the connection (no talk time yet) and at its end
(all four figures, written again): a lost first write is made good by the second.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Engine, Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from dialerd.db.models import QueueAgentHour
from dialerd.db.tables import attempts
from dialerd.domain.agents import AgentFloors
from dialerd.domain.agenttime import CustomerWait, QueueHour
from dialerd.logconfig import get_logger
from dialerd.process.metrics import Metrics

log = get_logger(__name__)
_hours: Table = QueueAgentHour.__table__  # type: ignore[assignment]
_SECONDS = ("ready", "ringing", "talking", "wrap_up", "paused")


def store_agent_figures(
    engine: Engine, floors: AgentFloors, metrics: Metrics, *, instance_id: str
) -> None:
    """Take the tracker's new waits and hours; write them (and the waits to the metrics)."""
    waits = floors.take_customer_waits()
    for w in waits:
        if not w.ended:  # the end's record repeats a wait already counted
            metrics.customer_wait(w.queue, w.seconds)
    hours = floors.take_agent_hours()
    if not waits and not hours:
        return
    try:
        with engine.begin() as conn:
            write_waits(conn, waits)
            add_hours(conn, hours, instance_id=instance_id)
    except BaseException:
        floors.give_back_agent_hours(hours)
        raise


def write_waits(conn: Connection, waits: Sequence[CustomerWait]) -> int:
    """Each wait on its attempt (``DIALERD_ATTEMPT`` is the attempt id); returns how many."""
    rows = [
        {
            "b_id": int(w.attempt),
            "b_wait": round(w.seconds, 3),
            "b_agent": w.member,
            "b_ring": _rounded(w.ring_s),
            "b_talk": _rounded(w.talk_s),
        }
        for w in waits
        if w.attempt.isdigit()
    ]
    if rows:
        conn.execute(
            update(attempts)
            .where(attempts.c.id == bindparam("b_id"))
            .values(
                customer_wait_s=bindparam("b_wait"),
                agent=bindparam("b_agent"),
                agent_ring_s=bindparam("b_ring"),
                agent_talk_s=bindparam("b_talk"),
            ),
            rows,
        )
    return len(rows)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def add_hours(conn: Connection, hours: Sequence[QueueHour], *, instance_id: str) -> None:
    """Add each queue-hour's seconds to its row (created at 0 when new)."""
    if not hours:
        return
    rows = [
        {
            "queue": h.queue[:80],
            "hour": h.hour,
            "instance_id": instance_id,
            **{f"{name}_s": getattr(h.seconds, name) for name in _SECONDS},
            "wrap_ups": h.seconds.wrap_ups,
        }
        for h in hours
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(_hours)
    added = [f"{name}_s" for name in _SECONDS] + ["wrap_ups"]
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["queue", "hour", "instance_id"],
            set_={c: _hours.c[c] + stmt.excluded[c] for c in added},
        ),
        rows,
    )
