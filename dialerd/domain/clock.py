"""Clocks: the system's for the daemon, a virtual one for `dialerd simulate` and tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class VirtualClock:
    """A clock that only moves when told to; thread-safe."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the virtual clock needs an aware start time")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance_to(self, moment: datetime) -> None:
        with self._lock:
            if moment > self._now:
                self._now = moment.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta
