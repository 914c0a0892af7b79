"""Clocks: the database's for the daemon (anchored), the system's, a virtual one for tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


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


class AnchoredClock:
    """The database's time, read at each sync and carried forward by a monotonic clock.

    ``sample`` reads the reference (the database's clock); between syncs the time
    advances with ``monotonic``, so a step of this host's wall clock never moves it,
    and reading it costs no query. The first ``now()`` syncs; ``sync()`` re-anchors
    (the daemon calls it with each heartbeat). A failed sync keeps the old anchor.
    """

    def __init__(self, sample: Callable[[], datetime], monotonic: Callable[[], float]) -> None:
        self._sample = sample
        self._monotonic = monotonic
        self._anchor: tuple[datetime, float] | None = None
        self._lock = threading.Lock()

    def sync(self) -> timedelta:
        """Read the reference again; returns how far it moved from this clock's estimate."""
        before = self._monotonic()
        moment = self._sample().astimezone(UTC)
        after = self._monotonic()
        mono = (before + after) / 2  # the sample was taken somewhere in between
        with self._lock:
            drift = moment - self._at(mono) if self._anchor is not None else timedelta(0)
            self._anchor = (moment, mono)
        return drift

    def now(self) -> datetime:
        if self._anchor is None:
            self.sync()
        with self._lock:
            return self._at(self._monotonic())

    def _at(self, mono: float) -> datetime:
        assert self._anchor is not None
        moment, at = self._anchor
        return moment + timedelta(seconds=mono - at)


def utc_offset_s(tz: str, at: datetime) -> int:
    """The UTC offset of zone ``tz`` at the instant ``at``, in seconds (DST included)."""
    delta = at.astimezone(ZoneInfo(tz)).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0
