"""What the pacer sees of a queue at one moment: its agents and the dials in flight."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum


class AgentState(StrEnum):
    READY = "ready"  # waiting for a call
    RINGING = "ringing"  # a call is being offered to the agent
    TALKING = "talking"  # on a call; elapsed = talk time so far
    WRAP_UP = "wrap_up"  # after-call work; elapsed = time in wrap-up so far
    PAUSED = "paused"  # logged in, taking no calls
    UNAVAILABLE = "unavailable"  # logged out or unreachable


WORKING = frozenset({AgentState.READY, AgentState.RINGING, AgentState.TALKING, AgentState.WRAP_UP})


@dataclass(frozen=True, slots=True)
class Agent:
    state: AgentState
    elapsed: float = 0.0  # seconds in this state


@dataclass(frozen=True, slots=True)
class Floor:
    """The queue now: its agents, the unanswered dials' ring times, answered calls waiting."""

    agents: Sequence[Agent] = ()
    ringing: Sequence[float] = ()  # elapsed ring time of each dial in flight, not yet answered
    waiting: int = 0  # answered calls waiting for an agent
    _counts: dict[AgentState, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        counts = dict.fromkeys(AgentState, 0)
        for a in self.agents:
            counts[a.state] += 1
        object.__setattr__(self, "_counts", counts)

    def count(self, state: AgentState) -> int:
        return self._counts[state]

    @property
    def ready(self) -> int:
        return self._counts[AgentState.READY]

    @property
    def working(self) -> int:
        """Agents logged in and taking calls (ready, ringing, talking or wrapping up)."""
        return sum(self._counts[s] for s in WORKING)

    @property
    def in_flight(self) -> int:
        return len(self.ringing)
