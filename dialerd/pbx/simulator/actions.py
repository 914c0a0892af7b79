"""AMI actions as the recorded Asterisk 22 answers them: Login, Ping, Events,
Originate, CoreShowChannels, Getvar, Hangup, Logoff, and with simulated queues
QueueStatus and QueuePause; anything else is an unknown command. A call answered by a person
into a simulated queue's context joins that queue (:mod:`.queuecalls`).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from dialerd.pbx.ami.protocol import AmiMessage
from dialerd.pbx.simulator.calls import Call
from dialerd.pbx.simulator.records import OriginateRecord
from dialerd.pbx.simulator.templates import ATTEMPT_VARIABLE, Template, load_template

if TYPE_CHECKING:
    from dialerd.pbx.simulator.server import AmiSimulator, Session

__all__ = ["ActionHandler"]

KNOWN_TECHS = frozenset({"local", "pjsip", "iax2", "dahdi", "motif", "console", "audiosocket"})
# answered by a person: into a queue's context, the call joins that queue
QUEUED_TEMPLATES = frozenset({"answered-human", "x-answered-after-ringing"})
TRUE_VALUES = frozenset({"yes", "true", "y", "t", "1", "on"})
_CALLER_ID = re.compile(r'\s*"?([^"<]*?)"?\s*<([^>]*)>\s*')


def response(status: str, action_id: str | None, *pairs: tuple[str, str]) -> bytes:
    """One action response, ActionID right after Response like Asterisk."""
    lines = [f"Response: {status}\r\n"]
    if action_id is not None:
        lines.append(f"ActionID: {action_id}\r\n")
    lines += [f"{k}: {v}\r\n" for k, v in pairs]
    return ("".join(lines) + "\r\n").encode()


def _caller_id(text: str | None) -> tuple[str, str]:
    """(number, name) as ast_callerid_parse would split ``"Name" <number>``."""
    if not text:
        return "<unknown>", "<unknown>"
    match = _CALLER_ID.fullmatch(text)
    if match:
        return match[2] or "<unknown>", match[1] or "<unknown>"
    return text.strip(), "<unknown>"


class ActionHandler:
    """Answers every session's actions; Originates start calls on the simulator."""

    def __init__(self, sim: AmiSimulator) -> None:
        self.sim = sim
        self._uid_counter = 0
        self._seq = 0
        self._accepted = 0

    def handle(self, session: Session, msg: AmiMessage) -> None:
        h = {k.lower(): v for k, v in reversed(msg.headers)}
        action, aid = h.get("action", "").lower(), h.get("actionid")
        if not action:
            session.send(response("Error", aid, ("Message", "Missing action in request")))
        elif action == "login":
            self._login(session, h, aid)
        elif not session.record.logged_in:
            session.send(response("Error", aid, ("Message", "Authentication Required")))
        elif action == "originate":
            self._originate(session, msg, h, aid)
        elif action in ("queuestatus", "queuepause") and self.sim.queues:
            (self._queue_status if action == "queuestatus" else self._queue_pause)(session, h, aid)
        elif action in self._plain:
            self._plain[action](session, h, aid)
        else:
            session.send(response("Error", aid, ("Message", "Invalid/unknown command")))

    @property
    def _plain(self) -> dict[str, Callable[[Session, dict[str, str], str | None], None]]:
        """The actions answered from their headers alone."""
        return {
            "ping": self._ping,
            "events": self._events,
            "coreshowchannels": lambda session, _h, aid: self._core_show_channels(session, aid),
            "hangup": self._hangup,
            "getvar": self._getvar,
            "logoff": self._logoff,
        }

    @staticmethod
    def _ping(session: Session, _h: dict[str, str], aid: str | None) -> None:
        stamp = f"{time.time():.6f}"
        session.send(response("Success", aid, ("Ping", "Pong"), ("Timestamp", stamp)))

    @staticmethod
    def _events(session: Session, h: dict[str, str], aid: str | None) -> None:
        on = h.get("eventmask", "on").lower() != "off"
        session.record.events_on = on
        session.send(response("Success", aid, ("Events", "On" if on else "Off")))

    @staticmethod
    def _logoff(session: Session, _h: dict[str, str], aid: str | None) -> None:
        session.send(response("Goodbye", aid, ("Message", "Thanks for all the fish.")))
        session.close()

    def _login(self, session: Session, h: dict[str, str], aid: str | None) -> None:
        sim = self.sim
        ok = h.get("username") == sim.username and h.get("secret") == sim.secret
        if sim.faults.reject_login or not ok:
            session.closing = True  # nothing more is read, like Asterisk's sleep(1) then close

            def refuse() -> None:
                session.closing = False
                session.send(response("Error", aid, ("Message", "Authentication failed")))
                session.close()

            sim.loop.call_later(sim.login_fail_delay_s, refuse)
            return
        session.record.logged_in = True
        session.record.events_on = h.get("events", "on").lower() != "off"
        uptime = int(time.time() - sim.started_at)
        session.send(response("Success", aid, ("Message", "Authentication accepted")))
        if session.record.events_on:
            session.send(
                b"Event: FullyBooted\r\nPrivilege: system,all\r\n"
                + f"Uptime: {uptime}\r\nLastReload: {uptime}\r\n".encode()
                + b"Status: Fully Booted\r\n\r\n"
            )

    def _next_uid(self) -> str:
        self._uid_counter += 1
        return f"{int(self.sim.started_at)}.{self._uid_counter}"

    def _choose(self, h: dict[str, str], channel: str, timeout_s: float) -> Template:
        tech, _, resource = channel.partition("/")
        number, _, callee_context = resource.partition("@")
        if tech.lower() not in KNOWN_TECHS or h.get("channelid", "") in self.sim.calls:
            return load_template("bad-channel-tech")
        if tech.lower() == "local" and not self.sim.scenario.has_context(
            callee_context or "default"
        ):
            return load_template("nonexistent-callee-context")
        name = self.sim.scenario.template_for(number)
        if name == "answered-human" and "application" in h:
            name = "answered-application-wait"
        template = load_template(name)
        if template.answer_at_s is not None and template.answer_at_s > timeout_s:
            return load_template("no-answer")
        return template

    def _originate(
        self, session: Session, msg: AmiMessage, h: dict[str, str], aid: str | None
    ) -> None:
        sim = self.sim
        channel = h.get("channel", "")
        context, exten, app = h.get("context"), h.get("exten"), h.get("application")
        try:
            timeout_ms = int(h.get("timeout", "30000"))
        except ValueError:
            session.send(response("Error", aid, ("Message", "Invalid timeout")))
            return
        if "/" not in channel:
            session.send(response("Error", aid, ("Message", "Invalid channel")))
            return
        if app is None and context and exten and not sim.scenario.has_context(context):
            session.send(response("Error", aid, ("Message", "Extension does not exist.")))
            return
        variables = [
            (item.partition("=")[0], item.partition("=")[2])
            for k, v in msg.headers
            if k.lower() == "variable"
            for item in v.split(",")
            if "=" in item
        ]
        is_async = h.get("async", "").lower() in TRUE_VALUES
        template = self._choose(h, channel, timeout_ms / 1000)
        sim.remember(
            sim.originates,
            OriginateRecord(
                action_id=aid,
                channel=channel,
                channel_id=h.get("channelid"),
                other_channel_id=h.get("otherchannelid"),
                caller_id=h.get("callerid"),
                timeout_ms=timeout_ms,
                variables=variables,
                is_async=is_async,
                template=template.name,
                headers=list(msg.headers),
            ),
        )
        if is_async:
            session.send(response("Success", aid, ("Message", "Originate successfully queued")))
        else:
            session.hold()
        self._start_call(session if not is_async else None, h, template, variables, timeout_ms)
        self._accepted += 1
        if sim.faults.drop_after_originates == self._accepted:
            sim.loop.call_soon(sim.drop_now)

    def _start_call(
        self,
        sync_origin: Session | None,
        h: dict[str, str],
        template: Template,
        variables: list[tuple[str, str]],
        timeout_ms: int,
    ) -> None:
        sim = self.sim
        channel, aid = h["channel"], h.get("actionid")
        number = channel.partition("/")[2].partition("@")[0]
        cid_num, cid_name = _caller_id(h.get("callerid"))
        app = h.get("application")
        self._seq += 1
        channel_id = h.get("channelid")
        values = {
            "action_id_line": f"ActionID: {aid}\r\n" if aid is not None else "",
            "chan": channel,
            "seq": f"{self._seq:08x}",
            "number": number,
            "orig_uid": channel_id or "<unknown>",
            "tag": dict(variables).get(ATTEMPT_VARIABLE, ""),
            "cid_num": cid_num,
            "cid_name": cid_name,
            "context": h.get("context", ""),
            "exten": h.get("exten", ""),
            "dest_lines": f"Application: {app}\r\nData: {h.get('data', '')}\r\n"
            if app is not None
            else f"Context: {h.get('context', '')}\r\nExten: {h.get('exten', '')}\r\n",
            "var_name": "",
            "var_value": "",
            "account": h.get("account", ""),
        }
        ids = [channel_id, h.get("otherchannelid")]
        for slot in range(template.uid_slots):
            given = ids[slot] if slot < len(ids) else None
            values[f"uid{slot + 1}"] = given or self._next_uid()
        values.setdefault("uid1", channel_id or self._next_uid())
        # tests name a call by the ChannelId it was given, else by its ActionID
        values["call_id"] = channel_id or aid or values["uid1"]
        queued = (
            app is None
            and template.name in QUEUED_TEMPLATES
            and sim.desk.queue_for(values["context"]) is not None
        )
        call = Call(
            sim,
            template,
            values,
            variables,
            self._times(template, timeout_ms),
            sync_origin,
            handoff=sim.desk.enter if queued else None,
        )
        sim.calls[values["call_id"]] = call
        call.start()

    def _times(self, template: Template, timeout_ms: int) -> list[float]:
        """Each group's offset: the recording's, Timeout-adjusted, scaled, plus any delay."""
        scale, delay = self.sim.time_scale, self.sim.faults.event_delay_s
        shift = timeout_ms / 1000 - template.recorded_timeout_s
        times, prev = [], 0.0
        for index, group in enumerate(template.groups):
            at = group.at_s
            if template.timeout_group is not None and index >= template.timeout_group:
                at += shift
            prev = max(prev, at)
            times.append(prev * scale + delay)
        return times

    def _core_show_channels(self, session: Session, aid: str | None) -> None:
        listed = [
            (call, channel) for call in self.sim.calls.values() for channel in call.live_channels()
        ]
        out = [
            response("Success", aid, ("EventList", "start"), ("Message", "Channels will follow"))
        ]
        idline = f"ActionID: {aid}\r\n" if aid is not None else ""
        now = self.sim.loop.time()
        for call, (_, snapshot, app, app_data) in listed:
            seconds = int(now - call.started_at)
            duration = f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
            out.append(
                (
                    f"Event: CoreShowChannel\r\n{idline}{snapshot}Application: {app}\r\n"
                    f"ApplicationData: {app_data}\r\nDuration: {duration}\r\nBridgeId: \r\n\r\n"
                ).encode()
            )
        out.append(
            (
                f"Event: CoreShowChannelsComplete\r\n{idline}EventList: Complete\r\n"
                f"ListItems: {len(listed)}\r\n\r\n"
            ).encode()
        )
        session.send(b"".join(out))

    def _getvar(self, session: Session, h: dict[str, str], aid: str | None) -> None:
        """A live channel's variable (Asterisk 22: an unset one is an empty ``Value``)."""
        target, name = h.get("channel", ""), h.get("variable", "")
        if not name:
            session.send(response("Error", aid, ("Message", "No variable specified")))
            return
        for call in self.sim.calls.values():
            value = call.getvar(target, name)
            if value is not None:
                session.send(response("Success", aid, ("Variable", name), ("Value", value)))
                return
        session.send(response("Error", aid, ("Message", "No such channel")))

    def _queue_status(self, session: Session, h: dict[str, str], aid: str | None) -> None:
        idline = f"ActionID: {aid}\r\n" if aid is not None else ""
        wanted = h.get("queue")
        chunks, items = [], 0
        for queue in self.sim.queues:
            if wanted in (None, "", queue.name):
                rows, count = queue.status_rows(idline, self.sim.desk.entries(queue))
                chunks.append(rows)
                items += count
        session.send(
            response(
                "Success", aid, ("EventList", "start"), ("Message", "Queue status will follow")
            )
            + b"".join(chunks)
            + f"Event: QueueStatusComplete\r\n{idline}EventList: Complete\r\n"
            f"ListItems: {items}\r\n\r\n".encode()
        )

    def _queue_pause(self, session: Session, h: dict[str, str], aid: str | None) -> None:
        paused = h.get("paused", "").lower() in TRUE_VALUES
        wanted, interface = h.get("queue"), h.get("interface", "")
        chosen = [q for q in self.sim.queues if wanted in (None, "", q.name)]
        events = [e for q in chosen if (e := q.pause(interface, paused, h.get("reason", "")))]
        if not events:
            session.send(response("Error", aid, ("Message", "Interface not found")))
            return
        word = "paused" if paused else "unpaused"
        session.send(response("Success", aid, ("Message", f"Interface {word} successfully")))
        self.sim.broadcast(b"".join(events))
        for queue in chosen:  # an unpaused member takes the callers waiting
            self.sim.desk.dispatch(queue)

    def _hangup(self, session: Session, h: dict[str, str], aid: str | None) -> None:
        target = h.get("channel", "")
        for call in list(self.sim.calls.values()):
            names = {name for name, *_ in call.live_channels()}
            if target in names or target == call.values["uid1"]:
                session.send(response("Success", aid, ("Message", "Channel Hungup")))
                call.hangup()
                return
        session.send(response("Error", aid, ("Message", "No such channel")))
