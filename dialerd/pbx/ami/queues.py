"""Asterisk app_queue state from AMI: each queue's members and each queued call (pure).

Fed every message with the time it arrived (``feed``), and the rows of a
``QueueStatus`` at every (re)connect (``snapshot``), it keeps:

* per device (``Interface``), shared by every queue it is a member of: its
  device ``Status``/``InCall``, the call it rings for or talks on, when its last
  call ended; per membership (queue, interface): the name and the pause with its
  reason;
* per queued call (the originated ``;1`` channel's Uniqueid, its Linkedid and its
  ``DIALERD_ATTEMPT``): join, agent called, connect, completion or abandon;
* per dial (``DIALERD_ATTEMPT``), how far it got (``dials``, :mod:`dialphases`).

A member's state is derived when asked (:meth:`QueueTracker.members`), in this
order: paused; unavailable (``Status`` 4 or 5); talking (connected, or
``InCall: 1``); ringing (an ``AgentCalled`` not yet answered, or ``Status`` 6);
talking (``Status`` 2, 3, 7 or 8: busy on some other call); wrap-up (until the
last call's end + the wrap-up time); ready. Asterisk sends no wrap-up event:
the wrap-up time is the member's ``Wrapuptime`` when above 0, else the queue's
``wrapuptime`` from queues.conf (:func:`wrapup_times`), which ``QueueParams``
does not carry. The recordings in ``dialerd/pbx/transcripts/queue/`` show every
event read here; the members' part is in :mod:`queuemembers`. Not thread-safe: the
caller serialises access.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialerd.domain.agents import CallEnd, QueueCall, QueueCounts
from dialerd.domain.agenttime import AgentClock, CustomerWait, QueueHour, QueueTime
from dialerd.domain.pacing.floor import Agent, Floor
from dialerd.pbx.ami.correlate import ATTEMPT_VARIABLE
from dialerd.pbx.ami.dialphases import DialPhases, Phase
from dialerd.pbx.ami.queuemembers import MemberStates, Message, _int, wrapup_times

__all__ = ["CHANNEL_EVENTS", "QUEUE_EVENTS", "QueueTracker", "wrapup_times"]

#: Events the tracker reads (the AMI client's filter adds them; login class ``agent``).
QUEUE_EVENTS = frozenset(
    {
        "QueueParams",
        "QueueMember",
        "QueueEntry",
        "QueueStatusComplete",
        "QueueMemberStatus",
        "QueueMemberPause",
        "QueueMemberAdded",
        "QueueMemberRemoved",
        "AgentCalled",
        "AgentConnect",
        "AgentComplete",
        "AgentRingNoAnswer",
        "QueueCallerJoin",
        "QueueCallerLeave",
        "QueueCallerAbandon",
    }
)
#: Channel events the tracker also reads: the dial's tag, its answer, its end.
CHANNEL_EVENTS = frozenset({"VarSet", "Newstate", "Hangup"})

_UP = "6"  # ChannelState Up
DEFAULT_MAX_CALLS = 10_000


@dataclass(slots=True)
class _Channel:
    linkedid: str
    attempt: str | None = None
    answered_at: datetime | None = None


class QueueTracker(MemberStates):
    """Members and queued calls of every queue, from AMI messages and their arrival times."""

    def __init__(
        self,
        wrapup_s: Mapping[str, float] | None = None,
        *,
        default_wrapup_s: float = 0.0,
        max_calls: int = DEFAULT_MAX_CALLS,
    ) -> None:
        super().__init__(wrapup_s, default_wrapup_s)
        self._max_calls = max_calls
        self._calls: dict[str, QueueCall] = {}  # Uniqueid -> call, oldest first
        self._waiting: dict[str, set[str]] = {}  # queue -> Uniqueids of callers in it
        self._channels: dict[str, _Channel] = {}  # tagged channels, by Uniqueid
        self.dials = DialPhases(max_calls)  # how far each dial got, by DIALERD_ATTEMPT
        self._time = AgentClock()  # the agents' seconds by state, looked at after each event
        self._waits: list[CustomerWait] = []  # tagged calls taken or abandoned, not yet taken
        self._handlers = {
            "QueueParams": self._on_params,
            "QueueMember": self._on_member_row,
            "QueueEntry": self._on_entry,
            "QueueMemberStatus": self._on_member,
            "QueueMemberPause": self._on_member,
            "QueueMemberAdded": self._on_member,
            "QueueMemberRemoved": self._on_removed,
            "AgentCalled": self._on_called,
            "AgentConnect": self._on_connect,
            "AgentComplete": self._on_complete,
            "AgentRingNoAnswer": self._on_ring_no_answer,
            "QueueCallerJoin": self._on_join,
            "QueueCallerLeave": self._on_leave,
            "QueueCallerAbandon": self._on_abandon,
            "VarSet": self._on_varset,
            "Newstate": self._on_newstate,
            "Hangup": self._on_hangup,
        }

    # -- input ------------------------------------------------------------------------
    def feed(self, msg: Message, now: datetime) -> None:
        """One AMI event (others are ignored)."""
        event = msg.get("Event") or ""
        handler = self._handlers.get(event)
        if handler is not None:
            handler(msg, now)
            if event in QUEUE_EVENTS:  # channel events change no member's state
                self._look(now)

    def snapshot(self, rows: Iterable[Message], now: datetime) -> None:
        """The rows of a whole ``QueueStatus``: it replaces what was known of the queues listed.

        Members of a listed queue that are not among the rows are gone; so are
        callers no longer waiting. Calls in progress keep their figures.
        """
        rows = list(rows)
        listed = {r.get("Queue") or "" for r in rows if r.get("Event") == "QueueParams"}
        kept = {
            (r.get("Queue") or "", r.get("Location") or "")
            for r in rows
            if r.get("Event") == "QueueMember"
        }
        waiting = {r.get("Uniqueid") or "" for r in rows if r.get("Event") == "QueueEntry"}
        for queue in listed:
            members = self._members.get(queue, {})
            for interface in [i for i in members if (queue, i) not in kept]:
                del members[interface]
            self._waiting[queue] = self._waiting.get(queue, set()) & waiting
        for row in rows:
            self.feed(row, now)

    def _look(self, now: datetime) -> None:
        for queue in self._members:
            self._time.observe(queue, self.members(queue, now), now)

    def agent_times(self, now: datetime) -> list[QueueTime]:
        """Each queue's agent seconds by state (since start, this hour), recent wrap-ups."""
        self._look(now)
        return self._time.times(now)

    def take_hours(self, now: datetime) -> list[QueueHour]:
        """Agent seconds per queue and hour added since the last take."""
        self._look(now)
        return self._time.take_hours()

    def give_back(self, hours: list[QueueHour]) -> None:
        self._time.give_back(hours)

    def take_waits(self) -> list[CustomerWait]:
        """Customer waits of tagged dials since the last take (answer → agent, or → abandon)."""
        waits, self._waits = self._waits, []
        return waits

    def _waited(self, uid: str, ended: bool = False) -> None:
        call = self._calls.get(uid)
        if call is not None and call.attempt and (wait := call.wait_s) is not None:
            ring, talk = call.ring_to_agent_s, call.talk_time_s
            self._waits.append(
                CustomerWait(call.attempt, call.queue, wait, call.member, ring, talk, ended)
            )
            del self._waits[: -self._max_calls]

    # -- output -----------------------------------------------------------------------
    def queues(self) -> list[str]:
        return sorted(set(self._members) | set(self._waiting))

    def floor_of(
        self, queue: str, now: datetime, ringing: Iterable[float] = (), *, answered: int = 0
    ) -> Floor:
        """The pacer's view: agents with their time in state, callers waiting in the queue.

        ``ringing`` is the elapsed ring time of the campaigns' unanswered dials,
        which the queue does not know; ``answered`` the campaigns' answered calls
        on their way to the queue (AMD, a prompt): they wait like its callers.
        """
        agents = tuple(
            Agent(m.state, max(0.0, (now - m.since).total_seconds()))
            for m in self.members(queue, now)
        )
        return Floor(agents, tuple(ringing), len(self._waiting.get(queue, ())) + answered)

    def counts(self, now: datetime) -> list[QueueCounts]:
        return [
            QueueCounts.of(q, self.members(q, now), len(self._waiting.get(q, ())))
            for q in self.queues()
        ]

    def call(self, ident: str) -> QueueCall | None:
        """The latest queued call of a dial: by Uniqueid, Linkedid or DIALERD_ATTEMPT."""
        found = self._calls.get(ident)
        if found is not None:
            return found
        for call in reversed(self._calls.values()):
            if ident in (call.linkedid, call.attempt):
                return call
        return None

    def calls(self) -> list[QueueCall]:
        return list(self._calls.values())

    def forget_call(self, ident: str) -> QueueCall | None:
        """Drop a call whose figures were taken (its dial's result went out)."""
        call = self.call(ident)
        if call is not None:
            self._calls.pop(call.uniqueid, None)
        return call

    # -- handlers -----------------------------------------------------------------------
    def _on_entry(self, msg: Message, now: datetime) -> None:
        queue, uid = msg.get("Queue") or "", msg.get("Uniqueid") or ""
        self._waiting.setdefault(queue, set()).add(uid)
        if uid not in self._calls:
            wait = timedelta(seconds=_int(msg, "Wait"))
            self._new_call(queue, uid, msg.get("Linkedid") or uid, now - wait)

    def _new_call(self, queue: str, uid: str, linkedid: str, now: datetime) -> QueueCall:
        channel = self._channels.get(uid)
        if channel is not None:
            self.dials.advance(channel.attempt, Phase.QUEUED)
        call = QueueCall(
            queue,
            uid,
            linkedid,
            channel.attempt if channel else None,
            joined_at=now,
            answered_at=channel.answered_at if channel else None,
        )
        self._calls.pop(uid, None)
        self._calls[uid] = call
        while len(self._calls) > self._max_calls:
            del self._calls[next(iter(self._calls))]
        return call

    def _update_call(self, uid: str, **changes: object) -> None:
        call = self._calls.get(uid)
        if call is not None:
            self._calls[uid] = dataclasses.replace(call, **changes)  # type: ignore[arg-type]

    def _on_join(self, msg: Message, now: datetime) -> None:
        queue, uid = msg.get("Queue") or "", msg.get("Uniqueid") or ""
        self._waiting.setdefault(queue, set()).add(uid)
        self._members.setdefault(queue, {})
        self._new_call(queue, uid, msg.get("Linkedid") or uid, now)

    def _on_leave(self, msg: Message, now: datetime) -> None:
        uid = msg.get("Uniqueid") or ""
        self._waiting.get(msg.get("Queue") or "", set()).discard(uid)
        call = self._calls.get(uid)
        if call is not None and call.left_at is None:
            self._update_call(uid, left_at=now)

    def _on_abandon(self, msg: Message, now: datetime) -> None:
        uid = msg.get("Uniqueid") or ""
        self._waiting.get(msg.get("Queue") or "", set()).discard(uid)
        self._update_call(uid, end=CallEnd.ABANDONED, left_at=now, hold_s=_int(msg, "HoldTime"))
        self._waited(uid)
        for device in self._devices.values():
            if device.ringing_for == uid:
                device.ringing_for = device.ringing_at = None

    def _on_called(self, msg: Message, now: datetime) -> None:
        uid = msg.get("Uniqueid") or ""
        device = self._device(msg.get("Interface") or "")
        device.ringing_for, device.ringing_at, device.changed_at = uid, now, now
        call = self._calls.get(uid)
        if call is not None and call.called_at is None:
            self._update_call(uid, called_at=now)

    def _on_ring_no_answer(self, msg: Message, now: datetime) -> None:
        device = self._device(msg.get("Interface") or "")
        if device.ringing_for == (msg.get("Uniqueid") or ""):
            device.ringing_for = device.ringing_at = None
            device.changed_at = now

    def _on_connect(self, msg: Message, now: datetime) -> None:
        uid = msg.get("Uniqueid") or ""
        device = self._device(msg.get("Interface") or "")
        device.ringing_for = device.ringing_at = None
        device.talking_on, device.talking_at, device.changed_at = uid, now, now
        queue = msg.get("Queue") or ""
        self._waiting.get(queue, set()).discard(uid)
        call = self._calls.get(uid)
        if call is None:  # joined before this connection: its hold time tells when
            held = timedelta(seconds=_int(msg, "HoldTime"))
            call = self._new_call(queue, uid, msg.get("Linkedid") or uid, now - held)
        self._update_call(
            uid,
            connected_at=now,
            left_at=call.left_at or now,
            member=msg.get("MemberName") or msg.get("Interface"),
            end=CallEnd.CONNECTED,
            hold_s=_int(msg, "HoldTime"),
            ring_s=_int(msg, "RingTime"),
        )
        self._waited(uid)

    def _on_complete(self, msg: Message, now: datetime) -> None:
        uid = msg.get("Uniqueid") or ""
        device = self._device(msg.get("Interface") or "")
        if device.talking_on in (uid, None):
            self._end_call(device, now)
        self._update_call(
            uid, completed_at=now, talk_s=_int(msg, "TalkTime"), hold_s=_int(msg, "HoldTime")
        )
        self._waited(uid, ended=True)

    def _on_varset(self, msg: Message, now: datetime) -> None:
        if msg.get("Variable") != ATTEMPT_VARIABLE:
            return
        uid = msg.get("Uniqueid") or ""
        channel = self._channels.get(uid)
        if channel is None:
            if len(self._channels) >= self._max_calls:
                del self._channels[next(iter(self._channels))]
            channel = self._channels[uid] = _Channel(msg.get("Linkedid") or uid)
        channel.attempt = msg.get("Value") or None

    def _on_newstate(self, msg: Message, now: datetime) -> None:
        channel = self._channels.get(msg.get("Uniqueid") or "")
        if channel is not None and msg.get("ChannelState") == _UP and channel.answered_at is None:
            channel.answered_at = now
            self.dials.advance(channel.attempt, Phase.ANSWERED)

    def _on_hangup(self, msg: Message, now: datetime) -> None:
        uid = msg.get("Uniqueid") or ""
        channel = self._channels.pop(uid, None)
        if channel is not None:
            self.dials.advance(channel.attempt, Phase.OVER)
        for waiting in self._waiting.values():
            waiting.discard(uid)
