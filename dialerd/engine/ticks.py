"""A dispatcher tick's pace and report: dials per tick, this daemon's rate window."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from dialerd.engine import limits


def paced(per_second: float, elapsed_s: float) -> int:
    """Dials a rate allows over one tick of ``elapsed_s`` (at least one).

    Rounded up, less a thousandth of a dial of float noise (50/s over 0.2000001 s is 10).
    """
    return max(1, math.ceil(per_second * elapsed_s - 1e-3))


@dataclass
class TickReport:
    """What one tick did, for metrics, status lines and tests."""

    claimed: int = 0
    sent: int = 0
    pushed_to_window: int = 0
    dnc_blocked: int = 0
    failed: int = 0
    deadline_missed: int = 0
    lateness_s: list[float] = field(default_factory=list)


@dataclass
class RateWindow:
    """Sliding window of this daemon's originates (the per-PBX rate, limits.rate_window)."""

    per_second: float
    sent: deque[float] = field(default_factory=deque)

    def budget(self, now: float) -> int:
        window, allowed = limits.rate_window(self.per_second)
        while self.sent and now - self.sent[0] >= window.total_seconds():
            self.sent.popleft()
        return max(0, allowed - len(self.sent))

    def spend(self, now: float, n: int) -> None:
        self.sent.extend([now] * n)
