"""Simulated app_queue members: QueueStatus rows, QueuePause and QueueMemberStatus, as
Asterisk 22 writes them.

Field names and order are those of the recordings in
``dialerd/pbx/transcripts/queue/`` (``queue-status``, ``queue-pause-unpause``,
``queue-answered-agent``). Each :class:`QueueScript` is one queue of static
members ``Local/agentN@agent-sim`` (``agentN``): how many, which start paused,
their talk and wrap-up times (log-normal, seeded), scheduled breaks, the queue's
timeout and the dialplan context whose answered calls join it. The callers'
side is :mod:`dialerd.pbx.simulator.queuecalls`. Agents' times are wall-clock
seconds, not scaled by the simulator's ``time_scale``: the daemon measures them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["Break", "Member", "QueueFigures", "QueueScript", "SimQueue", "lognormal"]


@dataclass(frozen=True, slots=True)
class Break:
    """Agent ``agent`` (from 1) pauses ``at_s`` seconds after start for ``length_s``."""

    at_s: float
    agent: int
    length_s: float
    reason: str = "break"


@dataclass(frozen=True, slots=True)
class QueueScript:
    """One simulated queue and its team of agents.

    ``talk_s``/``wrapup_s`` are means; ``talk_sigma``/``wrapup_sigma`` the
    log-normal shape (0: always the mean). Wrap-up is drawn per call in whole
    seconds (Asterisk's ``wrapuptime`` is), and told in the member's
    ``Wrapuptime``. ``timeout_s`` is the dialplan's ``Queue()`` timeout
    (docs/asterisk.md: ``abandon_after``); ``ring_s`` how long an agent's phone
    rings before the agent answers.
    """

    name: str = "callback-team"
    agents: int = 2
    paused: Mapping[int, str] = field(default_factory=dict)  # agent number (from 1) -> reason
    context: str = "dialerd-queue"
    timeout_s: float = 2.0
    talk_s: float = 6.0
    talk_sigma: float = 0.0
    wrapup_s: float = 0.0
    wrapup_sigma: float = 0.0
    ring_s: float = 0.0
    apology_s: float = 1.0  # the apology after an abandon, before the hangup
    breaks: Sequence[Break] = ()
    seed: int | None = None


def lognormal(rng: random.Random, mean: float, sigma: float) -> float:
    """A log-normal draw with this mean (``sigma`` 0: the mean itself)."""
    if mean <= 0 or sigma <= 0:
        return max(mean, 0.0)
    return rng.lognormvariate(math.log(mean) - sigma * sigma / 2, sigma)


@dataclass(slots=True)
class Member:
    """One agent: its pause, its device's state, and its figures."""

    name: str
    interface: str
    login_time: int
    paused: bool = False
    reason: str = ""
    last_pause: int = 0
    status: int = 1  # AST_DEVICE_NOT_INUSE; 2 in use, 6 ringing
    busy: bool = False  # offered or on a call
    calls_taken: int = 0
    last_call: int = 0
    wrapup: int = 0  # this call's wrap-up, whole seconds
    free_at: float = 0.0  # loop time its wrap-up ends
    seq: int = 0
    talk_total: float = 0.0  # seconds on calls
    wrapup_total: float = 0.0  # seconds of wrap-up owed by its calls


@dataclass(frozen=True, slots=True)
class QueueFigures:
    """What happened in one simulated queue since the simulator started."""

    agents: int
    joined: int  # callers that joined
    connected: int  # ... and reached an agent
    timed_out: int  # ... and waited out the timeout (abandoned)
    join_empty: int  # callers turned away: nobody unpaused (abandoned)
    talk_s: float  # every agent's talk time
    wrapup_s: float  # every agent's wrap-up time
    hold_s: tuple[float, ...]  # each connected caller's wait for its agent

    @property
    def abandoned(self) -> int:
        return self.timed_out + self.join_empty

    def occupancy(self, elapsed_s: float) -> float:
        """(talk + wrap-up) / (agents x elapsed): the share of the team's time at work."""
        return (self.talk_s + self.wrapup_s) / (self.agents * elapsed_s) if elapsed_s > 0 else 0.0


class SimQueue:
    """One queue's members; ``now`` gives the epoch seconds Asterisk writes."""

    def __init__(self, script: QueueScript, now: Callable[[], float]) -> None:
        self.script = script
        self.name = script.name
        self.rng = random.Random(script.seed)
        self._now = now
        self._next = 0  # rrmemory: where the next offer starts
        self.joined = self.connected = self.timed_out = self.join_empty = 0
        self.holds: list[float] = []
        login = int(now())
        self.members = [
            Member(f"agent{n}", f"Local/agent{n}@agent-sim", login)
            for n in range(1, script.agents + 1)
        ]
        for n, reason in script.paused.items():
            if 1 <= n <= len(self.members):
                member = self.members[n - 1]
                member.paused, member.reason, member.last_pause = True, reason, login

    # -- who takes calls -------------------------------------------------------------
    def can_join(self) -> bool:
        """joinempty = paused,invalid,unavailable,unknown: someone not paused is logged in."""
        return any(not m.paused for m in self.members)

    def free_member(self, loop_now: float) -> Member | None:
        """The next member (round robin with memory) ready for a call now."""
        n = len(self.members)
        for i in range(n):
            m = self.members[(self._next + i) % n]
            if not m.paused and not m.busy and m.free_at <= loop_now:
                self._next = (self._next + i + 1) % n
                return m
        return None

    def next_free_at(self, loop_now: float) -> float | None:
        """When the earliest wrap-up among idle, unpaused members ends (None: none pending)."""
        times = [
            m.free_at for m in self.members if not m.paused and not m.busy and m.free_at > loop_now
        ]
        return min(times) if times else None

    def draw_talk(self) -> float:
        s = self.script
        return lognormal(self.rng, s.talk_s, s.talk_sigma)

    def draw_wrapup(self) -> int:
        s = self.script
        return round(lognormal(self.rng, s.wrapup_s, s.wrapup_sigma))

    def figures(self) -> QueueFigures:
        return QueueFigures(
            agents=len(self.members),
            joined=self.joined,
            connected=self.connected,
            timed_out=self.timed_out,
            join_empty=self.join_empty,
            talk_s=sum(m.talk_total for m in self.members),
            wrapup_s=sum(m.wrapup_total for m in self.members),
            hold_s=tuple(self.holds),
        )

    def member(self, number: int) -> Member:
        return self.members[number - 1]

    # -- AMI text -----------------------------------------------------------------------
    def status_rows(self, action_id_line: str, entries: Sequence[str] = ()) -> tuple[bytes, int]:
        """``QueueParams``, one ``QueueMember`` per member, then ``entries`` (QueueEntry rows)."""
        rows = [
            f"Event: QueueParams\r\nQueue: {self.name}\r\nMax: 0\r\nStrategy: rrmemory\r\n"
            f"Calls: {len(entries)}\r\nHoldtime: 0\r\nTalkTime: 0\r\nCompleted: 0\r\n"
            "Abandoned: 0\r\nServiceLevel: 0\r\nServicelevelPerf: 0.0\r\n"
            f"ServicelevelPerf2: 0.0\r\nWeight: 0\r\n{action_id_line}\r\n"
        ]
        for m in self.members:
            rows.append(
                f"Event: QueueMember\r\nQueue: {self.name}\r\nName: {m.name}\r\n"
                f"Location: {m.interface}\r\nStateInterface: {m.interface}\r\n"
                f"{self._counters(m)}Paused: {int(m.paused)}\r\nPausedReason: {m.reason}\r\n"
                f"Wrapuptime: {m.wrapup}\r\n{action_id_line}\r\n"
            )
        rows += [f"{entry}{action_id_line}\r\n" for entry in entries]
        return "".join(rows).encode(), len(rows)

    def pause(self, interface: str, paused: bool, reason: str) -> bytes | None:
        """Pause or unpause a member: its ``QueueMemberPause`` event, or None if not a member."""
        member = next((m for m in self.members if m.interface == interface), None)
        if member is None:
            return None
        if paused != member.paused:
            member.last_pause = int(self._now()) if paused else member.last_pause
        member.paused, member.reason = paused, reason if paused else ""
        return self.member_event("QueueMemberPause", member)

    def member_event(self, event: str, m: Member) -> bytes:
        """``QueueMemberStatus`` or ``QueueMemberPause`` for one member, as recorded."""
        return (
            f"Event: {event}\r\nPrivilege: agent,all\r\nQueue: {self.name}\r\n"
            f"MemberName: {m.name}\r\nInterface: {m.interface}\r\n"
            f"StateInterface: {m.interface}\r\n{self._counters(m)}"
            f"Paused: {int(m.paused)}\r\nPausedReason: {m.reason}\r\n"
            f"Ringinuse: 0\r\nWrapuptime: {m.wrapup}\r\n\r\n"
        ).encode()

    @staticmethod
    def _counters(m: Member) -> str:
        return (
            f"Membership: static\r\nPenalty: 0\r\nCallsTaken: {m.calls_taken}\r\n"
            f"LastCall: {m.last_call}\r\nLastPause: {m.last_pause}\r\n"
            f"LoginTime: {m.login_time}\r\nInCall: 0\r\nStatus: {m.status}\r\n"
        )
