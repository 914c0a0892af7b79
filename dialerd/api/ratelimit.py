"""Per-token token buckets for the write endpoints (in process: each daemon its own)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_BUCKETS = 10_000  # a flood of names cannot grow memory without bound


class TokenBuckets:
    """``rate`` writes per second per token, up to ``burst`` at once."""

    def __init__(
        self, rate: float, burst: int, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._monotonic = monotonic
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, name: str) -> float:
        """Spend one write of ``name``'s; 0.0 when allowed, else seconds until one is."""
        now = self._monotonic()
        with self._lock:
            tokens, at = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                if name not in self._buckets and len(self._buckets) >= MAX_BUCKETS:
                    self._buckets.clear()
                self._buckets[name] = (tokens - 1.0, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / self.rate
