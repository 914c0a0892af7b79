"""Simulated app_queue members: QueueStatus rows and QueuePause, as Asterisk 22 writes them.

Field names and order are those of the recordings in
``dialerd/pbx/transcripts/queue/`` (``queue-status``, ``queue-pause-unpause``).
Each :class:`QueueScript` is one queue of static members ``Local/agentN@agent-sim``
(``agentN``); some may start paused with a reason. Callers joining the queue are
not simulated yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["QueueScript", "SimQueue"]


@dataclass(frozen=True, slots=True)
class QueueScript:
    """One simulated queue: its name, agent count and the agents paused from the start."""

    name: str = "callback-team"
    agents: int = 2
    paused: Mapping[int, str] = field(default_factory=dict)  # agent number (from 1) -> reason


@dataclass(slots=True)
class _Member:
    name: str
    interface: str
    login_time: int
    paused: bool = False
    reason: str = ""
    last_pause: int = 0


class SimQueue:
    """One queue's members; ``now`` gives the epoch seconds Asterisk writes."""

    def __init__(self, script: QueueScript, now: Callable[[], float]) -> None:
        self.name = script.name
        self._now = now
        login = int(now())
        self.members = [
            _Member(f"agent{n}", f"Local/agent{n}@agent-sim", login)
            for n in range(1, script.agents + 1)
        ]
        for n, reason in script.paused.items():
            if 1 <= n <= len(self.members):
                member = self.members[n - 1]
                member.paused, member.reason, member.last_pause = True, reason, login

    def status_rows(self, action_id_line: str) -> tuple[bytes, int]:
        """``QueueParams`` then one ``QueueMember`` per member, and how many rows."""
        rows = [
            f"Event: QueueParams\r\nQueue: {self.name}\r\nMax: 0\r\nStrategy: rrmemory\r\n"
            "Calls: 0\r\nHoldtime: 0\r\nTalkTime: 0\r\nCompleted: 0\r\nAbandoned: 0\r\n"
            "ServiceLevel: 0\r\nServicelevelPerf: 0.0\r\nServicelevelPerf2: 0.0\r\nWeight: 0\r\n"
            f"{action_id_line}\r\n"
        ]
        for m in self.members:
            rows.append(
                f"Event: QueueMember\r\nQueue: {self.name}\r\nName: {m.name}\r\n"
                f"Location: {m.interface}\r\nStateInterface: {m.interface}\r\n"
                f"{self._counters(m)}Paused: {int(m.paused)}\r\nPausedReason: {m.reason}\r\n"
                f"Wrapuptime: 0\r\n{action_id_line}\r\n"
            )
        return "".join(rows).encode(), len(rows)

    def pause(self, interface: str, paused: bool, reason: str) -> bytes | None:
        """Pause or unpause a member: its ``QueueMemberPause`` event, or None if not a member."""
        member = next((m for m in self.members if m.interface == interface), None)
        if member is None:
            return None
        if paused != member.paused:
            member.last_pause = int(self._now()) if paused else member.last_pause
        member.paused, member.reason = paused, reason if paused else ""
        return (
            f"Event: QueueMemberPause\r\nPrivilege: agent,all\r\nQueue: {self.name}\r\n"
            f"MemberName: {member.name}\r\nInterface: {interface}\r\n"
            f"StateInterface: {interface}\r\n{self._counters(member)}"
            f"Paused: {int(member.paused)}\r\nPausedReason: {member.reason}\r\n"
            "Ringinuse: 0\r\nWrapuptime: 0\r\n\r\n"
        ).encode()

    @staticmethod
    def _counters(m: _Member) -> str:
        return (
            "Membership: static\r\nPenalty: 0\r\nCallsTaken: 0\r\nLastCall: 0\r\n"
            f"LastPause: {m.last_pause}\r\nLoginTime: {m.login_time}\r\nInCall: 0\r\nStatus: 1\r\n"
        )
