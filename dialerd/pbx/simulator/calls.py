"""One simulated call: a compiled recording played with this call's values and timing."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from dialerd.pbx.simulator.cdr import CallRecord
from dialerd.pbx.simulator.faults import Faults
from dialerd.pbx.simulator.templates import AMD_VARIABLES, ChannelView, Template

__all__ = ["Call", "CallHost", "SyncOrigin"]

_HANGUP_RESPONSE = (
    "Event: OriginateResponse\r\nPrivilege: call,all\r\n{action_id_line}Response: Failure\r\n"
    "Channel: {chan}\r\n{dest_lines}Reason: 1\r\nUniqueid: {orig_uid}\r\n"
    "CallerIDNum: {cid_num}\r\nCallerIDName: {cid_name}\r\n\r\n"
)
_HANGUP_EVENT = (
    "Event: Hangup\r\nPrivilege: call,all\r\n{snapshot}Cause: {cause}\r\nCause-txt: {txt}\r\n\r\n"
)
_SYNC_SUCCESS = (
    "Response: Success\r\n{action_id_line}Message: Originate successfully queued\r\n\r\n"
)
_SYNC_FAILURE = "Response: Error\r\n{action_id_line}Message: Originate failed\r\n\r\n"


class CallHost(Protocol):
    """What a call needs from the server."""

    loop: asyncio.AbstractEventLoop
    faults: Faults

    def broadcast(self, data: bytes) -> None: ...

    def call_ended(self, call: Call) -> None: ...


class SyncOrigin(Protocol):
    """The session a synchronous Originate came from: held until the reply."""

    def release(self, reply: bytes) -> None: ...


class Call:
    """Plays one template; ``times[i]`` is group i's offset from the start, in seconds."""

    def __init__(
        self,
        host: CallHost,
        template: Template,
        values: dict[str, str],
        variables: Sequence[tuple[str, str]],
        times: Sequence[float],
        sync_origin: SyncOrigin | None,
        handoff: Callable[[Call], None] | None = None,
    ) -> None:
        self.host, self.template, self.values = host, template, values
        self.handoff = handoff  # given: the call goes to it once answered (the queue)
        self.variables, self.times, self.sync_origin = variables, times, sync_origin
        self.pos = 0
        self.responded = False
        self.started_at = host.loop.time()
        self.started_wall = time.time()
        self.answered_wall: float | None = None
        answer_s = template.answer_at_s
        self._answer_group = (
            next((i for i, g in enumerate(template.groups) if g.at_s >= answer_s), None)
            if answer_s is not None
            else None
        )
        # handed over once both answered and the OriginateResponse is out
        response_group = next(
            (
                i
                for i, g in enumerate(template.groups)
                if any(p.kind == "response" for p in g.parts)
            ),
            None,
        )
        self._handoff_group = (
            max(self._answer_group, response_group)
            if handoff is not None and self._answer_group is not None and response_group is not None
            else None
        )
        self._handle: asyncio.Handle | None = None

    def start(self) -> None:
        """Emit what is due now and schedule the rest."""
        self._advance()

    def _advance(self) -> None:
        self._handle = None
        loop, groups = self.host.loop, self.template.groups
        interleave = self.host.faults.interleave
        while self.pos < len(groups):
            due = self.started_at + self.times[self.pos]
            if due > loop.time():
                self._handle = loop.call_at(due, self._fire)
                return
            if interleave and self.pos > 0:
                self._handle = loop.call_soon(self._fire)
                return
            if self._step():
                return
        self.host.call_ended(self)

    def _step(self) -> bool:
        """Emit the next group; True when the call was handed over (nothing more to play)."""
        self._emit(self.pos)
        self.pos += 1
        if self.pos - 1 != self._handoff_group or self.handoff is None:
            return False
        handoff, self.handoff = self.handoff, None
        handoff(self)
        return True

    def play(self, groups: int | None = None) -> None:
        """Emit the next ``groups`` event groups now (None: all the rest); the rest keep time."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        end = len(self.template.groups) if groups is None else self.pos + groups
        while self.pos < min(end, len(self.template.groups)):
            if self._step():
                return
        self._advance()

    def _fire(self) -> None:
        if not self._step():
            self._advance()

    def _emit(self, index: int) -> None:
        values, faults = self.values, self.host.faults
        if index == self._answer_group:
            self.answered_wall = time.time()
        out: list[str] = []
        reply: str | None = None
        junk = faults.junk_rate > 0
        for part in self.template.groups[index].parts:
            if part.kind == "plain":
                out.append(part.fmt.format_map(values))
            elif part.kind == "var":
                for name, value in self.variables:
                    values["var_name"], values["var_value"] = name, value
                    out.append(part.fmt.format_map(values))
            else:
                self.responded = True
                if self.sync_origin is not None:
                    reply = (_SYNC_SUCCESS if self.template.success else _SYNC_FAILURE).format_map(
                        values
                    )
                    continue
                out.append(part.fmt.format_map(values))
            if junk:
                out.append(faults.junk().decode())
        self.host.broadcast("".join(out).encode())
        if reply is not None and self.sync_origin is not None:
            self.sync_origin.release(reply.encode())

    def record(self) -> CallRecord:
        """The call's record for the CDR, at its end."""
        values = self.values
        uids = tuple(values[f"uid{n}"] for n in (1, 2) if f"uid{n}" in values)
        amd_group = self.template.amd_group
        reached = amd_group is not None and self.pos > amd_group  # AMD() gave its verdict
        return CallRecord(
            channel=f"{values['chan']}-{values['seq']}",
            number=values["number"],
            caller_id=values["cid_num"],
            account=values.get("account", ""),
            uniqueids=uids,
            start=self.started_wall,
            answer=self.answered_wall,
            end=time.time(),
            cause=self.template.cause,
            amd=self.template.amd if reached else None,
        )

    def live_channels(self) -> list[tuple[str, str, str, str]]:
        """(channel name, snapshot text, application, application data) of live channels."""
        if self.pos == 0:
            return []
        found = []
        for view in self.template.live_after[self.pos - 1]:
            found.append(
                (
                    self._name(view),
                    view.snapshot.format_map(self.values),
                    view.application.format_map(self.values),
                    view.app_data.format_map(self.values),
                )
            )
        return found

    def getvar(self, channel: str, name: str) -> str | None:
        """A live channel's variable as ``Getvar`` reads it (None: not one of this call's).

        Every channel carries the Originate's variables; AMD's verdict
        (``AMDSTATUS``, ``AMDCAUSE``) is set on the originated channel (``;1``)
        once its VarSet events have been played.
        """
        views = self.template.live_after[self.pos - 1] if self.pos else ()
        view = next((v for v in views if self._name(v) == channel), None)
        if view is None:
            return None
        amd_group = self.template.amd_group
        if name not in AMD_VARIABLES:
            return dict(self.variables).get(name, "")
        if view.slot != "uid1" or amd_group is None or self.pos <= amd_group:
            return ""
        return self.template.amd[AMD_VARIABLES.index(name)]

    def _name(self, view: ChannelView) -> str:
        """The channel's name: its snapshot's first line (``Channel: ...``)."""
        return view.snapshot.format_map(self.values).partition("\r\n")[0].partition(": ")[2]

    def hangup(self, cause: int = 16, cause_txt: str = "Normal Clearing") -> None:
        """End the call now (the Hangup action): hang up its live channels."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        out = [
            _HANGUP_EVENT.format(snapshot=snapshot, cause=cause, txt=cause_txt)
            for _, snapshot, _, _ in reversed(self.live_channels())
        ]
        reply = None
        if not self.responded:
            self.responded = True
            if self.sync_origin is None:
                out.append(_HANGUP_RESPONSE.format_map(self.values))
            else:
                reply = _SYNC_FAILURE.format_map(self.values)
        self.pos = len(self.template.groups)
        self.host.broadcast("".join(out).encode())
        if reply is not None and self.sync_origin is not None:
            self.sync_origin.release(reply.encode())
        self.host.call_ended(self)

    def cancel(self) -> None:
        """Stop without emitting anything (simulator shutdown)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
