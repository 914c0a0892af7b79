"""The agents behind a queue as dialerd sees them: members now, and each answered call's figures.

Pure values, filled by the PBX adapter (``pbx/ami/queues.py`` for Asterisk's
app_queue) and read by the pacer (through :class:`~dialerd.domain.pacing.floor.Floor`),
the dispatcher and ``dialerd status``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dialerd.domain.pacing.floor import AgentState, Floor

if TYPE_CHECKING:  # agenttime imports Member from here
    from dialerd.domain.agenttime import CustomerWait, QueueHour, QueueTime


@dataclass(frozen=True, slots=True)
class Member:
    """One queue member at one moment."""

    queue: str
    name: str  # MemberName, e.g. "agent1"
    interface: str  # e.g. "Local/agent1@agent-sim"
    state: AgentState
    since: datetime  # when it entered this state
    paused_reason: str = ""  # only when PAUSED; may be empty


class CallEnd(StrEnum):
    """How a queued caller left the queue."""

    CONNECTED = "connected"  # an agent took the call
    ABANDONED = "abandoned"  # hung up or timed out in the queue (Asterisk tells them apart only
    #                          by the dialplan's QUEUESTATUS)


@dataclass(frozen=True, slots=True)
class QueueCall:
    """One answered dial handed to a queue: who took it, and how long each step was.

    ``uniqueid``/``linkedid`` are the originated channel's (the Local ``;1`` half),
    ``attempt`` the channel's ``DIALERD_ATTEMPT``: the three ways to join a dial.
    """

    queue: str
    uniqueid: str
    linkedid: str
    attempt: str | None
    joined_at: datetime
    answered_at: datetime | None = None  # the channel went Up (before it joined the queue)
    called_at: datetime | None = None  # the first agent's phone started ringing
    connected_at: datetime | None = None
    completed_at: datetime | None = None  # the agent's call ended
    left_at: datetime | None = None  # left the queue (to an agent, or abandoned)
    member: str | None = None  # the MemberName of the agent who took it
    end: CallEnd | None = None
    hold_s: int | None = None  # Asterisk's HoldTime: seconds in the queue
    ring_s: int | None = None  # Asterisk's RingTime: seconds the taking agent rang
    talk_s: int | None = None  # Asterisk's TalkTime

    @property
    def wait_s(self) -> float | None:
        """Customer wait: answer (else queue join) to agent, or to abandon."""
        start = self.answered_at or self.joined_at
        end = self.connected_at if self.end is not CallEnd.ABANDONED else self.left_at
        return None if end is None else max(0.0, (end - start).total_seconds())

    @property
    def ring_to_agent_s(self) -> float | None:
        """Seconds the agent's phone rang before the agent took the call."""
        if self.ring_s is not None:
            return float(self.ring_s)
        if self.called_at is None or self.connected_at is None:
            return None
        return max(0.0, (self.connected_at - self.called_at).total_seconds())

    @property
    def talk_time_s(self) -> float | None:
        """Agent talk time: Asterisk's TalkTime, else connect to completion."""
        if self.talk_s is not None:
            return float(self.talk_s)
        if self.connected_at is None or self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.connected_at).total_seconds())


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """Agents of one queue by state (for status output)."""

    queue: str
    ready: int = 0
    ringing: int = 0
    talking: int = 0
    wrap_up: int = 0
    paused: int = 0
    unavailable: int = 0
    waiting: int = 0  # callers in the queue
    occupancy: float | None = None  # (talk + wrap-up) ÷ logged-in time, this UTC hour

    def as_dict(self) -> dict[str, Any]:
        """For the heartbeat's status JSON."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> QueueCounts:
        """From a heartbeat's status JSON; missing or bad counts read as 0."""
        counts = {
            f: int(v) if isinstance(v := doc.get(f), int) else 0
            for f in cls.__dataclass_fields__
            if f not in ("queue", "occupancy")
        }
        occ = doc.get("occupancy")
        occupancy = (
            float(occ) if isinstance(occ, int | float) and not isinstance(occ, bool) else None
        )
        return cls(str(doc.get("queue", "?")), **counts, occupancy=occupancy)

    @classmethod
    def of(cls, queue: str, members: list[Member], waiting: int) -> QueueCounts:
        by = {s: sum(1 for m in members if m.state is s) for s in AgentState}
        return cls(
            queue,
            ready=by[AgentState.READY],
            ringing=by[AgentState.RINGING],
            talking=by[AgentState.TALKING],
            wrap_up=by[AgentState.WRAP_UP],
            paused=by[AgentState.PAUSED],
            unavailable=by[AgentState.UNAVAILABLE],
            waiting=waiting,
        )


@runtime_checkable
class AgentFloors(Protocol):
    """What a PBX adapter tells of its agent queues (AmiTelephony, VirtualPbx)."""

    def queues(self) -> list[QueueCounts]: ...

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None: ...

    def queue_call(self, ident: str) -> QueueCall | None: ...

    def agent_times(self) -> list[QueueTime]: ...

    def take_agent_hours(self) -> list[QueueHour]: ...

    def give_back_agent_hours(self, hours: list[QueueHour]) -> None: ...

    def take_customer_waits(self) -> list[CustomerWait]: ...
