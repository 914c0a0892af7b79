"""Asterisk app_queue members from AMI: each device's and membership's state (pure).

Per device (``Interface``), shared by every queue it is a member of: its device
``Status``/``InCall``, the call it rings for or talks on, when its last call
ended; per membership (queue, interface): the name and the pause with its
reason. :class:`MemberStates` derives a member's state when asked (the order is
given in :mod:`dialerd.pbx.ami.queues`); :class:`~dialerd.pbx.ami.queues.QueueTracker`
builds on it with the queued calls. Not thread-safe: the caller serialises access.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dialerd.domain.agents import Member
from dialerd.domain.pacing.floor import AgentState

Message = Mapping[str, str]

_UNAVAILABLE = frozenset({4, 5})  # AST_DEVICE_INVALID, AST_DEVICE_UNAVAILABLE
_RINGING = frozenset({6})  # AST_DEVICE_RINGING
_BUSY = frozenset({2, 3, 7, 8})  # INUSE, BUSY, RINGINUSE, ONHOLD


def wrapup_times(queues_conf: str) -> dict[str, float]:
    """``{queue: wrapuptime}`` from the text of a queues.conf (``[general]`` excluded)."""
    times: dict[str, float] = {}
    section: str | None = None
    for raw in queues_conf.splitlines():
        line = raw.split(";", 1)[0].strip()
        head = re.fullmatch(r"\[([^\]]+)\](\(.*\))?", line)
        if head:
            section = None if head[1] == "general" else head[1]
            continue
        key, sep, value = line.partition("=")
        if section and sep and key.strip().lower() == "wrapuptime":
            try:
                times[section] = max(0.0, float(value.strip().lstrip(">").strip()))
            except ValueError:
                continue
    return times


def _int(msg: Message, name: str, default: int = 0) -> int:
    try:
        return int(msg.get(name) or default)
    except ValueError:
        return default


def _epoch(value: int, now: datetime) -> datetime | None:
    """An Asterisk epoch (LastCall, LastPause) as a time no later than ``now``; 0 is none."""
    if value <= 0:
        return None
    return min(datetime.fromtimestamp(value, UTC), now)


@dataclass(slots=True)
class _Device:
    """One agent's phone, shared by its queues."""

    known: bool = False  # seen in a member row or event: LastCall changes are news
    status: int = 1
    status_at: datetime | None = None
    in_call: bool = False
    calls_taken: int = 0
    last_call: int = 0  # Asterisk's LastCall epoch
    wrapup_s: float = 0.0  # the member's own Wrapuptime (0: the queue's)
    ended_at: datetime | None = None  # the last call's end: wrap-up starts here
    ringing_for: str | None = None  # Uniqueid of the queued call it rings for
    ringing_at: datetime | None = None
    talking_on: str | None = None
    talking_at: datetime | None = None
    changed_at: datetime | None = None


@dataclass(slots=True)
class _Membership:
    name: str
    paused: bool = False
    reason: str = ""
    paused_at: datetime | None = None
    since: datetime | None = None


class MemberStates:
    """Queues' members and their devices, from member rows and events."""

    def __init__(self, wrapup_s: Mapping[str, float] | None, default_wrapup_s: float) -> None:
        self._wrapup = dict(wrapup_s or {})
        self._default_wrapup = default_wrapup_s
        self._devices: dict[str, _Device] = {}
        self._members: dict[str, dict[str, _Membership]] = {}  # queue -> interface -> membership

    def set_wrapup(self, queue: str, seconds: float) -> None:
        self._wrapup[queue] = max(0.0, seconds)

    def members(self, queue: str, now: datetime) -> list[Member]:
        """The queue's members and their states now, by name."""
        found = []
        for interface, member in self._members.get(queue, {}).items():
            device = self._devices.setdefault(interface, _Device())
            state, since, reason = self._state_of(queue, device, member, now)
            found.append(Member(queue, member.name, interface, state, since, reason))
        return sorted(found, key=lambda m: (m.name, m.interface))

    # -- member state -------------------------------------------------------------------
    def _wrapup_s(self, queue: str, device: _Device) -> float:
        if device.wrapup_s > 0:
            return device.wrapup_s
        return self._wrapup.get(queue, self._default_wrapup)

    def _state_of(
        self, queue: str, d: _Device, m: _Membership, now: datetime
    ) -> tuple[AgentState, datetime, str]:
        base = d.changed_at or m.since or now
        if m.paused:
            return AgentState.PAUSED, m.paused_at or base, m.reason
        if d.status in _UNAVAILABLE:
            return AgentState.UNAVAILABLE, d.status_at or base, ""
        if d.talking_on is not None or d.in_call:
            return AgentState.TALKING, d.talking_at or d.status_at or base, ""
        if d.ringing_for is not None:
            return AgentState.RINGING, d.ringing_at or base, ""
        if d.status in _RINGING:
            return AgentState.RINGING, d.status_at or base, ""
        if d.status in _BUSY:
            return AgentState.TALKING, d.status_at or base, ""
        if d.ended_at is not None:
            until = d.ended_at + timedelta(seconds=self._wrapup_s(queue, d))
            if now < until:
                return AgentState.WRAP_UP, d.ended_at, ""
            return AgentState.READY, max(until, base, m.since or base), ""
        return AgentState.READY, max(base, m.since or base), ""

    def _device(self, interface: str) -> _Device:
        device = self._devices.get(interface)
        if device is None:
            device = self._devices[interface] = _Device()
        return device

    def _membership(self, queue: str, interface: str, name: str, now: datetime) -> _Membership:
        members = self._members.setdefault(queue, {})
        member = members.get(interface)
        if member is None:
            member = members[interface] = _Membership(name or interface, since=now)
        elif name:
            member.name = name
        return member

    def _update_member(
        self, msg: Message, now: datetime, interface: str, name: str, *, live: bool
    ) -> None:
        queue = msg.get("Queue") or ""
        member = self._membership(queue, interface, name, now)
        device = self._device(interface)
        paused = msg.get("Paused") == "1"
        if paused != member.paused:
            member.paused_at = now if live else _epoch(_int(msg, "LastPause"), now) or now
            device.changed_at = now
        member.paused = paused
        member.reason = (msg.get("PausedReason") or "") if paused else ""
        status = _int(msg, "Status", device.status)
        if status != device.status:
            device.status, device.status_at, device.changed_at = status, now, now
        in_call = msg.get("InCall") == "1"
        last_call = _int(msg, "LastCall")
        if last_call > device.last_call:
            ended = now if live else _epoch(last_call, now) or now
            if device.known:  # a call ended since we last looked
                self._end_call(device, ended)
            elif device.ended_at is None:  # first sight: the PBX's clock is all there is
                device.ended_at = _epoch(last_call, now)
            device.last_call = last_call
        elif device.known and device.in_call and not in_call:
            self._end_call(device, now)
        device.known = True
        device.in_call = in_call
        device.calls_taken = max(device.calls_taken, _int(msg, "CallsTaken"))
        device.wrapup_s = float(_int(msg, "Wrapuptime"))

    def _end_call(self, device: _Device, now: datetime) -> None:
        if device.ended_at is None or device.ended_at < now:
            device.ended_at = now
        device.talking_on = device.talking_at = None
        device.ringing_for = device.ringing_at = None
        device.changed_at = now

    # -- member handlers ---------------------------------------------------------------
    def _on_params(self, msg: Message, now: datetime) -> None:
        queue = msg.get("Queue") or ""
        self._members.setdefault(queue, {})
        if msg.get("Wrapuptime"):
            self.set_wrapup(queue, float(_int(msg, "Wrapuptime")))

    def _on_member_row(self, msg: Message, now: datetime) -> None:
        interface = msg.get("Location") or msg.get("Interface") or ""
        self._update_member(msg, now, interface, msg.get("Name") or "", live=False)

    def _on_member(self, msg: Message, now: datetime) -> None:
        interface = msg.get("Interface") or ""
        self._update_member(msg, now, interface, msg.get("MemberName") or "", live=True)

    def _on_removed(self, msg: Message, now: datetime) -> None:
        self._members.get(msg.get("Queue") or "", {}).pop(msg.get("Interface") or "", None)
