"""A campaign's measured call statistics, fed events with their times (pure; no clock).

`CallStats` is the accumulator the engine updates; `snapshot(now)` gives the
`PacingStats` the pacer reads. Times are seconds on any monotonic scale.
Distributions (ring time of human answers, ring time of the other dials, talk,
wrap-up) are histograms over the campaign's life that forget slowly (counts halve
past `max_samples`); the answer rate, abandons and human answers are counted over
a rolling window and over the campaign's day (`start_day()` resets the latter).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


class Histogram:
    """Counts in buckets of `width` seconds; the last bucket holds everything beyond."""

    __slots__ = ("_cache", "_stale", "counts", "max_samples", "total", "width")

    def __init__(self, width: float, span: float, max_samples: int = 5000) -> None:
        self.width = width
        self.counts = [0.0] * max(1, math.ceil(span / width))
        self.total = 0.0
        self.max_samples = max_samples
        self._cache: Survival | None = None
        self._stale = 0  # samples added since the cached survival was built

    def add(self, value: float) -> None:
        i = min(max(int(value / self.width), 0), len(self.counts) - 1)
        self.counts[i] += 1.0
        self.total += 1.0
        if self.total > self.max_samples:
            self.counts = [c / 2 for c in self.counts]
            self.total /= 2
        self._stale += 1

    def survival(self) -> Survival:
        """The survival function; rebuilt once 1 % of the samples are newer than it."""
        if self._cache is None or self._stale > self.total / 100:
            self._cache = Survival.of(self.counts, self.width, self.total)
            self._stale = 0
        return self._cache


@dataclass(frozen=True, slots=True)
class Survival:
    """P(X > x) from a histogram, linear inside a bucket; `n` = samples behind it."""

    width: float
    tail: tuple[float, ...]  # tail[i] = P(X >= i * width); one more entry than buckets
    n: float
    mean: float

    @classmethod
    def of(cls, counts: list[float], width: float, total: float) -> Survival:
        if total <= 0:
            return cls(width, (1.0, 0.0), 0.0, 0.0)
        tail = [0.0] * (len(counts) + 1)
        acc = 0.0
        for i in range(len(counts) - 1, -1, -1):
            acc += counts[i]
            tail[i] = acc / total
        mean = sum(c * (i + 0.5) * width for i, c in enumerate(counts)) / total
        return cls(width, tuple(tail), total, mean)

    def __call__(self, x: float) -> float:
        if x <= 0:
            return 1.0
        pos = x / self.width
        i = int(pos)
        if i >= len(self.tail) - 1:
            return 0.0
        return self.tail[i] - (pos - i) * (self.tail[i] - self.tail[i + 1])

    def ends_within(self, elapsed: float, horizon: float) -> float:
        """P(X <= elapsed + horizon | X > elapsed): the chance a running one ends in time."""
        if horizon <= 0:
            return 0.0
        alive = self(elapsed)
        if alive <= 1e-9:  # longer than anything measured: assume memoryless from the mean
            return 1.0 - math.exp(-horizon / max(self.mean, 1.0))
        return max(0.0, min(1.0, 1.0 - self(elapsed + horizon) / alive))


@dataclass(frozen=True, slots=True)
class Rates:
    """Counts over one period (the rolling window or the day)."""

    dials: int = 0  # finished dials (answered by a person or not)
    human_answers: int = 0  # of them, answered by a person
    connected: int = 0  # human answers an agent took
    abandoned: int = 0  # human answers no agent took within abandon_after

    @property
    def answer_rate(self) -> float:
        return self.human_answers / self.dials if self.dials else 0.0

    @property
    def outcomes(self) -> int:
        """Human answers whose fate is known (taken or abandoned)."""
        return self.connected + self.abandoned

    @property
    def abandon_rate(self) -> float:
        return self.abandoned / self.outcomes if self.outcomes else 0.0


@dataclass(frozen=True, slots=True)
class PacingStats:
    window: Rates
    day: Rates
    ring_human: Survival  # ring time of dials a person answered
    ring_other: Survival  # duration of the other dials (no answer, busy, failures...)
    talk: Survival
    wrap_up: Survival

    @property
    def answer_rate(self) -> float:
        """The window's human answer rate; the day's while the window has few dials."""
        if self.window.dials >= 50 or self.window.dials >= self.day.dials:
            return self.window.answer_rate
        return self.day.answer_rate


_DIAL, _HUMAN, _CONNECTED, _ABANDONED = range(4)


class CallStats:
    """The accumulator: feed it events as they happen, read `snapshot(now)`."""

    def __init__(self, window: float = 1800.0, max_samples: int = 5000) -> None:
        self.window = window
        self.ring_human = Histogram(1.0, 120.0, max_samples)
        self.ring_other = Histogram(1.0, 120.0, max_samples)
        self.talk = Histogram(2.0, 3600.0, max_samples)
        self.wrap_up = Histogram(1.0, 900.0, max_samples)
        self._recent: deque[tuple[float, int]] = deque()
        self._window_counts = [0, 0, 0, 0]
        self._day_counts = [0, 0, 0, 0]

    def _event(self, now: float, kind: int) -> None:
        self._recent.append((now, kind))
        self._window_counts[kind] += 1
        self._day_counts[kind] += 1

    def dial_ended(self, now: float, ring_time: float, *, human: bool) -> None:
        """A dial stopped ringing: a person answered (`human`), or it ended otherwise."""
        self._event(now, _DIAL)
        if human:
            self._event(now, _HUMAN)
            self.ring_human.add(ring_time)
        else:
            self.ring_other.add(ring_time)

    def connected(self, now: float) -> None:
        """An agent took a human answer."""
        self._event(now, _CONNECTED)

    def abandoned(self, now: float) -> None:
        """A human answer waited `abandon_after` without an agent."""
        self._event(now, _ABANDONED)

    def talk_ended(self, talk_time: float) -> None:
        self.talk.add(talk_time)

    def wrap_up_ended(self, wrap_time: float) -> None:
        self.wrap_up.add(wrap_time)

    def start_day(self) -> None:
        """A new calling day: the day's counts start again (the distributions stay)."""
        self._day_counts = [0, 0, 0, 0]

    def snapshot(self, now: float) -> PacingStats:
        cut = now - self.window
        while self._recent and self._recent[0][0] < cut:
            self._window_counts[self._recent.popleft()[1]] -= 1
        return PacingStats(
            window=Rates(*self._window_counts),
            day=Rates(*self._day_counts),
            ring_human=self.ring_human.survival(),
            ring_other=self.ring_other.survival(),
            talk=self.talk.survival(),
            wrap_up=self.wrap_up.survival(),
        )
