"""Where the agents' time goes: seconds per queue and state, per UTC hour, and wrap-up spells.

Fed the members of a queue with their states each time they may have changed
(:meth:`AgentClock.observe`), it adds the time since the previous look to the
state the member was in, split at the current state's start (``Member.since``)
and at hour boundaries. Pure: the caller gives every time and serialises access.

**Occupancy** = (talk + wrap-up) ÷ logged-in time, where *logged in* is every
state but ``unavailable`` (ready, ringing, talking, wrap-up, paused): a paused
agent is logged in and taking no calls. The seconds are what dialerd saw: while
the PBX link is down, the last state seen runs on until the next ``QueueStatus``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from dialerd.domain.agents import Member
from dialerd.domain.pacing.floor import AgentState

RECENT_WRAPS = 256  # completed wrap-up spells kept per queue for the pacer to read
_LOGGED_IN = frozenset(AgentState) - {AgentState.UNAVAILABLE}


@dataclass(frozen=True, slots=True)
class AgentSeconds:
    """Agents' seconds by state over some span (one hour, or the daemon's run)."""

    ready: float = 0.0
    ringing: float = 0.0
    talking: float = 0.0
    wrap_up: float = 0.0
    paused: float = 0.0
    wrap_ups: int = 0  # wrap-up spells that ended

    @property
    def logged_in(self) -> float:
        return self.ready + self.ringing + self.talking + self.wrap_up + self.paused

    @property
    def occupancy(self) -> float | None:
        """(talk + wrap-up) ÷ logged-in time; None without logged-in time."""
        return (self.talking + self.wrap_up) / self.logged_in if self.logged_in > 0 else None

    def plus(self, state: AgentState, seconds: float) -> AgentSeconds:
        if state not in _LOGGED_IN or seconds <= 0:
            return self
        return replace(self, **{state.value: getattr(self, state.value) + seconds})

    def add(self, other: AgentSeconds) -> AgentSeconds:
        return AgentSeconds(
            self.ready + other.ready,
            self.ringing + other.ringing,
            self.talking + other.talking,
            self.wrap_up + other.wrap_up,
            self.paused + other.paused,
            self.wrap_ups + other.wrap_ups,
        )


@dataclass(frozen=True, slots=True)
class QueueHour:
    """One queue's agent seconds in one UTC hour (``hour``: its start)."""

    queue: str
    hour: datetime
    seconds: AgentSeconds


@dataclass(frozen=True, slots=True)
class CustomerWait:
    """An answered dial's wait in the queue: answer to agent (or to giving up).

    Made when the agent takes the call (``AgentConnect``: the wait, the agent, the
    ring-to-agent time) or the caller gives up, and made again, complete with the
    agent's talk time, when the agent's call ends (``AgentComplete``: ``ended``).
    Writing both is idempotent; the wait is counted (metrics) from the first only.
    """

    attempt: str  # DIALERD_ATTEMPT
    queue: str
    seconds: float
    member: str | None  # the agent who took it; None when abandoned
    ring_s: float | None = None  # the taking agent's phone rang (RingTime); None: abandoned
    talk_s: float | None = None  # the agent's talk time (TalkTime); known once ``ended``
    ended: bool = False  # the record of the call's end: its wait was reported already


@dataclass(frozen=True, slots=True)
class QueueTime:
    """One queue's totals since the clock started, its current hour, and recent wrap-ups."""

    queue: str
    total: AgentSeconds
    this_hour: AgentSeconds
    wraps: tuple[float, ...] = ()  # the latest completed wrap-up spells, oldest first


@dataclass(slots=True)
class _Seen:
    state: AgentState
    at: datetime
    since: datetime  # when the member entered ``state``


@dataclass(slots=True)
class _Queue:
    total: AgentSeconds = field(default_factory=AgentSeconds)
    hours: dict[datetime, AgentSeconds] = field(default_factory=dict)  # not yet taken
    current: tuple[datetime, AgentSeconds] | None = None  # the latest hour, kept for status
    wraps: deque[float] = field(default_factory=lambda: deque(maxlen=RECENT_WRAPS))


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class AgentClock:
    """Accumulates each queue's agent seconds; see the module docstring."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], _Seen] = {}  # (queue, interface) -> last look
        self._queues: dict[str, _Queue] = {}

    def observe(self, queue: str, members: Iterable[Member], now: datetime) -> None:
        """The queue's members now; members no longer listed stop counting."""
        q = self._queues.setdefault(queue, _Queue())
        listed = set()
        for m in members:
            key = (queue, m.interface)
            listed.add(key)
            seen = self._seen.get(key)
            if seen is None or now <= seen.at:
                self._seen.setdefault(key, _Seen(m.state, now, m.since))
                continue
            if m.state is seen.state and m.since <= seen.since:
                self._add(q, seen.state, seen.at, now)
            else:  # changed at m.since (any state in between was not seen)
                split = min(max(m.since, seen.at), now)
                self._add(q, seen.state, seen.at, split)
                self._add(q, m.state, split, now)
                if seen.state is AgentState.WRAP_UP:
                    self._wrap_ended(q, (split - seen.since).total_seconds(), split)
            self._seen[key] = _Seen(m.state, now, m.since)
        for key in [k for k in self._seen if k[0] == queue and k not in listed]:
            del self._seen[key]

    def _add(self, q: _Queue, state: AgentState, start: datetime, end: datetime) -> None:
        while start < end:
            hour = hour_of(start)
            stop = min(end, hour + timedelta(hours=1))
            seconds = (stop - start).total_seconds()
            q.total = q.total.plus(state, seconds)
            q.hours[hour] = q.hours.get(hour, AgentSeconds()).plus(state, seconds)
            self._touch(q, hour, state, seconds)
            start = stop

    @staticmethod
    def _touch(q: _Queue, hour: datetime, state: AgentState, seconds: float) -> None:
        if q.current is None or q.current[0] < hour:
            q.current = (hour, AgentSeconds())
        if q.current[0] == hour:
            q.current = (hour, q.current[1].plus(state, seconds))

    def _wrap_ended(self, q: _Queue, seconds: float, at: datetime) -> None:
        q.wraps.append(max(0.0, seconds))
        one = AgentSeconds(wrap_ups=1)
        q.total = q.total.add(one)
        hour = hour_of(at)
        q.hours[hour] = q.hours.get(hour, AgentSeconds()).add(one)
        if q.current is not None and q.current[0] == hour:
            q.current = (hour, q.current[1].add(one))

    # -- output ---------------------------------------------------------------------------
    def times(self, now: datetime) -> list[QueueTime]:
        """Every queue's totals; ``this_hour`` is empty once the clock is past its hour."""
        out = []
        for name in sorted(self._queues):
            q = self._queues[name]
            current = q.current[1] if q.current and q.current[0] == hour_of(now) else None
            out.append(QueueTime(name, q.total, current or AgentSeconds(), tuple(q.wraps)))
        return out

    def take_hours(self) -> list[QueueHour]:
        """The hourly seconds added since the last take (for the database), then forgotten."""
        out = []
        for name, q in self._queues.items():
            out += [QueueHour(name, hour, s) for hour, s in sorted(q.hours.items())]
            q.hours = {}
        return out

    def give_back(self, hours: Sequence[QueueHour]) -> None:
        """Hours taken but not stored (the write failed): added to the next take."""
        for h in hours:
            q = self._queues.setdefault(h.queue, _Queue())
            q.hours[h.hour] = q.hours.get(h.hour, AgentSeconds()).add(h.seconds)
