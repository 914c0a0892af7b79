"""When a daemon counts as alive: a heartbeat within ``ALIVE_BEATS`` periods, not stopped."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

ALIVE_BEATS = 3  # heartbeats a daemon may miss before it counts as gone


class Beating(Protocol):
    """An ``instances`` row: a model or a Core row alike."""

    @property
    def stopped_at(self) -> datetime | None: ...

    @property
    def heartbeat_at(self) -> datetime: ...


def is_alive(row: Beating, *, now: datetime, heartbeat_s: float) -> bool:
    return row.stopped_at is None and row.heartbeat_at > now - timedelta(
        seconds=ALIVE_BEATS * heartbeat_s
    )
