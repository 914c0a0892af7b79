"""An even pace for actions on the wire: a token bucket that holds one slice.

Pure code, no clock of its own: the caller passes the time. At ``rate`` actions a
second, a slice is ``rate x slice_s`` actions (at least one); after an idle spell
at most one slice leaves at once, then one slice every ``slice_s``, so no more than
``burst + rate x t`` actions leave in any ``t`` seconds. A caller that comes late
(its thread not scheduled in time) does not catch up: the pace falls while the
daemon is busy, which Asterisk took better than a catch-up (BENCHMARKS.md).
"""

from __future__ import annotations

import math

#: Paced actions leave in slices this far apart (one at a time below 1 / SLICE_S a second).
SLICE_S = 0.004


class Pacer:
    """How many queued actions may leave now, and when the next may."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, rate: float, slice_s: float = SLICE_S) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError("rate must be a positive number of actions per second")
        self.rate = rate
        self.burst = max(1.0, float(round(rate * slice_s)))
        self._tokens = self.burst
        self._last: float | None = None

    def take(self, now: float, queued: int) -> tuple[int, float | None]:
        """(actions that may leave at ``now``, of ``queued``; seconds until the next one
        may, None when none is left waiting). ``now`` must not go backwards."""
        if self._last is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        # a hair of slack: waiting the time it named must free the token it named
        n = min(int(self._tokens + 1e-9), max(queued, 0))
        self._tokens -= n
        left = queued - n
        if left <= 0:
            return n, None
        return n, (min(self.burst, left) - self._tokens) / self.rate
