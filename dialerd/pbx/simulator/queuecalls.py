"""Callers in the simulated queues: join, wait, agent, talk, complete; or time out.

A call answered by a person whose Originate named a queue's dialplan context
(``QueueScript.context``, docs/asterisk.md's ``[dialerd-queue]``) is handed here
once it is up. As recorded (:mod:`dialerd.pbx.simulator.queuetext`):

* nobody logged in unpaused (joinempty): ``QUEUESTATUS=JOINEMPTY``, the
  ``DialerdAbandon`` UserEvent, the apology, the hangup;
* otherwise ``QueueCallerJoin``; a free member (round robin, not paused, not on
  a call, wrap-up over) is offered the oldest caller: ``AgentCalled``, after
  ``ring_s`` ``QueueMemberStatus`` (in use), ``QueueCallerLeave``,
  ``AgentConnect``; after the drawn talk time ``AgentComplete``, the hangup, and
  ``QueueMemberStatus`` with the new ``LastCall`` and the drawn ``Wrapuptime``;
* no member within ``timeout_s``: ``QueueCallerAbandon``, ``QueueCallerLeave``,
  ``QUEUESTATUS=TIMEOUT``, the UserEvent, the apology, the hangup.

A caller offered to an agent is connected (its timeout no longer runs).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from dialerd.pbx.simulator.calls import Call
from dialerd.pbx.simulator.queue import Member, SimQueue
from dialerd.pbx.simulator.queuetext import (
    abandon_events,
    agent_event,
    at_priority,
    caller_event,
    dest_block,
    queue_entry,
)

__all__ = ["QueueDesk"]


@dataclass(slots=True)
class _Caller:
    call: Call
    queue: SimQueue
    snapshot: str  # the ;1 channel in Queue() (priority 3)
    joined_at: float
    position: int
    timer: asyncio.TimerHandle | None = None
    member: Member | None = None
    dest: str = ""
    talk_s: float = 0.0
    connected_at: float = 0.0


class QueueDesk:
    """Every simulated queue's callers; ``broadcast`` writes events to the AMI sessions."""

    def __init__(
        self,
        queues: list[SimQueue],
        loop: Callable[[], asyncio.AbstractEventLoop],
        broadcast: Callable[[bytes], None],
    ) -> None:
        self.queues = queues
        self._loop = loop
        self._send = broadcast
        self._waiting: dict[str, list[_Caller]] = {q.name: [] for q in queues}
        self._callers: dict[int, _Caller] = {}  # id(call) -> caller, until it ends
        self._wake: dict[str, asyncio.TimerHandle] = {}
        self._agent_uid = 0

    def queue_for(self, context: str) -> SimQueue | None:
        return next((q for q in self.queues if q.script.context == context), None)

    # -- a caller arrives ---------------------------------------------------------------
    def enter(self, call: Call) -> None:
        """The answered call reaches ``Queue()`` of its context's queue."""
        queue = self.queue_for(call.values.get("context", ""))
        snapshot = _caller_snapshot(call)
        if queue is None or snapshot is None:
            call.hangup()
            return
        snapshot = at_priority(snapshot, queue.script.context, 3)
        if not queue.can_join():
            queue.join_empty += 1
            self._send(self._abandon_text(call, snapshot, queue, "JOINEMPTY"))
            self._later(queue.script.apology_s, call.hangup)
            return
        waiting = self._waiting[queue.name]
        loop = self._loop()
        caller = _Caller(call, queue, snapshot, loop.time(), len(waiting) + 1)
        waiting.append(caller)
        queue.joined += 1
        self._callers[id(call)] = caller
        self._send(
            caller_event(
                "QueueCallerJoin",
                snapshot,
                ("Queue", queue.name),
                ("Position", caller.position),
                ("Count", len(waiting)),
            ).encode()
        )
        caller.timer = loop.call_later(queue.script.timeout_s, self._time_out, caller)
        self.dispatch(queue)

    def dispatch(self, queue: SimQueue) -> None:
        """Offer the oldest callers to free members; wake up when a wrap-up ends."""
        waiting, loop = self._waiting[queue.name], self._loop()
        while waiting:
            member = queue.free_member(loop.time())
            if member is None:
                break
            self._offer(waiting.pop(0), member)
        if waiting:
            wake_at = queue.next_free_at(loop.time())
            old = self._wake.pop(queue.name, None)
            if old is not None:
                old.cancel()
            if wake_at is not None:
                self._wake[queue.name] = loop.call_at(wake_at, self.dispatch, queue)

    # -- an agent takes it ----------------------------------------------------------------
    def _offer(self, caller: _Caller, member: Member) -> None:
        if caller.timer is not None:
            caller.timer.cancel()
            caller.timer = None
        queue, call = caller.queue, caller.call
        member.busy, member.seq = True, member.seq + 1
        caller.member = member
        self._agent_uid += 1
        linkedid = _field(caller.snapshot, "Linkedid")
        agent_chan = f"{member.interface}-{self._agent_uid:08x};1"
        agent_uid = f"{linkedid.partition('.')[0]}.9{self._agent_uid}"
        cid = (call.values.get("cid_num", ""), call.values.get("cid_name", ""))
        account = call.values.get("account", "")  # the agent's leg inherits the caller's
        caller.dest = dest_block(agent_chan, True, agent_uid, linkedid, *cid, account=account)
        down = dest_block(agent_chan, False, agent_uid, linkedid, *cid, account=account)
        self._send(
            agent_event(
                "AgentCalled", caller.snapshot, down, queue.name, member.interface, member.name
            ).encode()
        )
        self._later(queue.script.ring_s, lambda: self._connect(caller))

    def _connect(self, caller: _Caller) -> None:
        if self._callers.get(id(caller.call)) is not caller or caller.member is None:
            return
        queue, member, loop = caller.queue, caller.member, self._loop()
        member.status = 2
        caller.connected_at = loop.time()
        caller.talk_s = queue.draw_talk()
        hold = int(caller.connected_at - caller.joined_at)
        queue.connected += 1
        queue.holds.append(caller.connected_at - caller.joined_at)
        self._send(
            queue.member_event("QueueMemberStatus", member)
            + caller_event(
                "QueueCallerLeave",
                caller.snapshot,
                ("Queue", queue.name),
                ("Position", 1),
                ("Count", len(self._waiting[queue.name])),
            ).encode()
            + agent_event(
                "AgentConnect",
                caller.snapshot,
                caller.dest,
                queue.name,
                member.interface,
                member.name,
                f"HoldTime: {hold}\r\nRingTime: {int(queue.script.ring_s)}\r\n",
            ).encode()
        )
        self._later(caller.talk_s, lambda: self._complete(caller, "agent"))

    def _complete(self, caller: _Caller, reason: str) -> None:
        if self._callers.pop(id(caller.call), None) is not caller or caller.member is None:
            return
        queue, member, loop = caller.queue, caller.member, self._loop()
        hold = int(caller.connected_at - caller.joined_at)
        talk = round(loop.time() - caller.connected_at)
        self._send(
            agent_event(
                "AgentComplete",
                caller.snapshot,
                caller.dest,
                queue.name,
                member.interface,
                member.name,
                f"HoldTime: {hold}\r\nTalkTime: {talk}\r\nReason: {reason}\r\n",
            ).encode()
        )
        if reason == "agent":
            caller.call.hangup()
        member.busy, member.status = False, 1
        member.calls_taken += 1
        member.last_call = int(time.time())
        member.wrapup = queue.draw_wrapup()
        member.free_at = loop.time() + member.wrapup
        member.talk_total += loop.time() - caller.connected_at
        member.wrapup_total += member.wrapup
        self._send(queue.member_event("QueueMemberStatus", member))
        self.dispatch(queue)

    # -- nobody takes it --------------------------------------------------------------------
    def _time_out(self, caller: _Caller) -> None:
        queue, call = caller.queue, caller.call
        queue.timed_out += 1
        self._leave(caller)
        self._send(self._abandon_text(call, caller.snapshot, queue, "TIMEOUT"))
        self._later(queue.script.apology_s, call.hangup)

    def _leave(self, caller: _Caller) -> None:
        """A waiting caller goes: ``QueueCallerAbandon`` and ``QueueCallerLeave``."""
        queue, loop = caller.queue, self._loop()
        waiting = self._waiting[queue.name]
        position = waiting.index(caller) + 1 if caller in waiting else 1
        if caller in waiting:
            waiting.remove(caller)
        self._callers.pop(id(caller.call), None)
        if caller.timer is not None:
            caller.timer.cancel()
            caller.timer = None
        self._send(
            caller_event(
                "QueueCallerAbandon",
                caller.snapshot,
                ("Queue", queue.name),
                ("Position", position),
                ("OriginalPosition", caller.position),
                ("HoldTime", int(loop.time() - caller.joined_at)),
            ).encode()
            + caller_event(
                "QueueCallerLeave",
                caller.snapshot,
                ("Queue", queue.name),
                ("Position", position),
                ("Count", len(waiting)),
            ).encode()
        )

    def _abandon_text(self, call: Call, snapshot: str, queue: SimQueue, status: str) -> bytes:
        attempt = call.values.get("tag", "")
        return abandon_events(snapshot, queue.script.context, attempt, status).encode()

    # -- the caller's side ends ---------------------------------------------------------------
    def call_ended(self, call: Call) -> None:
        """The caller's channel hung up (e.g. the Hangup action) while queued or talking."""
        caller = self._callers.get(id(call))
        if caller is None:
            return
        if caller.member is None:
            self._leave(caller)
        elif caller.connected_at:
            self._complete(caller, "caller")
        else:  # ringing the agent: the agent is free again
            self._callers.pop(id(call), None)
            caller.member.busy = False
            self.dispatch(caller.queue)

    def end_talks(self, queue: SimQueue) -> None:
        """Every agent of ``queue`` on a call hangs up now."""
        for caller in [c for c in self._callers.values() if c.queue is queue and c.connected_at]:
            self._complete(caller, "agent")

    def entries(self, queue: SimQueue) -> list[str]:
        """The queue's waiting callers as QueueStatus lists them."""
        now = self._loop().time()
        return [
            queue_entry(queue.name, i, c.snapshot, int(now - c.joined_at))
            for i, c in enumerate(self._waiting[queue.name], start=1)
        ]

    def _later(self, delay_s: float, fn: Callable[[], None]) -> None:
        loop = self._loop()
        if delay_s <= 0:
            loop.call_soon(fn)
        else:
            loop.call_later(delay_s, fn)


def _caller_snapshot(call: Call) -> str | None:
    """The originated ``;1`` channel's snapshot (the caller in the queue)."""
    channels = call.live_channels()
    for name, snapshot, _, _ in channels:
        if name.endswith(";1"):
            return snapshot
    return channels[0][1] if channels else None


def _field(snapshot: str, name: str) -> str:
    for line in snapshot.split("\r\n"):
        if line.startswith(name + ": "):
            return line[len(name) + 2 :]
    return ""
