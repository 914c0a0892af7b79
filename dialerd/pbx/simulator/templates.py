"""Recorded Asterisk event sequences, compiled once into cheap per-call renderers.

Each template is a transcript recorded from a real Asterisk 22, read from
:mod:`dialerd.pbx.transcripts` (the same files the tests replay; their README
says what each one shows). The events after the Originate ack become format
strings where every call-specific value is a slot: ``{action_id_line}``,
``{chan}`` (requested channel), ``{seq}``, ``{number}``, ``{uid1}``...,
``{orig_uid}``, ``{tag}``, ``{cid_num}``, ``{cid_name}``, ``{context}``,
``{exten}``, ``{dest_lines}``, ``{var_name}``/``{var_value}`` in the
``DIALERD_ATTEMPT`` VarSets, which are repeated once per Originate variable, and
``{account}`` (the Originate's ``Account``) in every ``*AccountCode`` field
Asterisk 22 fills with it: all but a Local half's ``Newchannel`` and the VarSets of
the Originate's variables, which precede its ``NewAccountCode`` (the recordings
were made without ``Account``, so their fields are empty; ``NewAccountCode`` itself
is not played: dialerd does not read it).
Events read in one socket read are merged into one group with the
recording's time, relative to the ack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from dialerd.pbx import transcripts
from dialerd.pbx.ami.protocol import AmiMessage, AmiParser

__all__ = ["AMD_VARIABLES", "Group", "Part", "Template", "load_template"]

ATTEMPT_VARIABLE = "DIALERD_ATTEMPT"
AMD_VARIABLES = ("AMDSTATUS", "AMDCAUSE")  # what AMD() sets on the answered channel
_SNAPSHOT_FIRST, _SNAPSHOT_LAST = "Channel", "Linkedid"
_UID_KEYS_SUFFIX = ("Uniqueid", "Linkedid")
_ACCOUNT_SUFFIX = "AccountCode"  # AccountCode, DestAccountCode, LocalOneAccountCode ...
SPOOL_FAILED_CHANNEL = "OutgoingSpoolFailed"  # made with the Account already set


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of a group: ``plain`` text, a per-``var``iable VarSet, or the ``response``."""

    kind: str
    fmt: str


@dataclass(frozen=True, slots=True)
class Group:
    """Events Asterisk sent together, ``at_s`` seconds after the Originate ack."""

    at_s: float
    parts: tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class ChannelView:
    """A live channel as CoreShowChannels lists it (format strings)."""

    slot: str
    snapshot: str
    application: str
    app_data: str


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled recording: groups, what is live after each, and timing landmarks."""

    name: str
    groups: tuple[Group, ...]
    live_after: tuple[tuple[ChannelView, ...], ...]
    success: bool
    answer_at_s: float | None
    timeout_group: int | None  # first group whose time follows the Originate Timeout
    recorded_timeout_s: float
    uid_slots: int
    cause: int = 0  # the Q.850 cause the call ended with: ;1's, else ;2's (0: none)
    # AMD's verdict (AMDSTATUS, AMDCAUSE) and the group that sets it (None: no AMD)
    amd: tuple[str, str] = ("", "")
    amd_group: int | None = None


@dataclass(frozen=True, slots=True)
class _Recorded:
    action_id: str
    channel: str
    number: str
    tag: str
    cid_num: str
    cid_name: str
    context: str
    exten: str
    timeout_s: float


def _esc(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _recorded(sent: str) -> _Recorded:
    block = next(b for b in sent.split("\r\n\r\n") if "Action: Originate" in b)
    h = dict(line.split(": ", 1) for line in block.split("\r\n") if ": " in line)
    cid = re.fullmatch(r'"([^"]*)" <([^>]*)>', h.get("CallerID", '"" <>'))
    channel = h["Channel"]
    return _Recorded(
        action_id=h["ActionID"],
        channel=channel,
        number=channel.partition("/")[2].partition("@")[0],
        tag=h.get("Variable", "=").partition("=")[2],
        cid_name=cid[1] if cid else "",
        cid_num=cid[2] if cid else "",
        context=h.get("Context", h.get("Application", "")),
        exten=h.get("Exten", ""),
        timeout_s=int(h.get("Timeout", "30000")) / 1000,
    )


class _Compiler:
    def __init__(self, rec: _Recorded, uids: dict[str, str], seq: str | None) -> None:
        self.rec, self.uids = rec, uids
        self.chan_seq = _esc(f"{rec.channel}-{seq}") if seq else None

    def value(self, key: str, value: str, in_dest: bool, account: bool = True) -> str:
        rec = self.rec
        if account and key.endswith(_ACCOUNT_SUFFIX):
            return "{account}"
        if value in self.uids:
            return "{" + self.uids[value] + "}"
        if value == "<unknown>" and key == "Uniqueid":
            return "{orig_uid}"
        if key.endswith(("CallerIDNum", "ConnectedLineNum")) and value == rec.cid_num:
            return "{cid_num}"
        if key.endswith(("CallerIDName", "ConnectedLineName")) and value == rec.cid_name:
            return "{cid_name}"
        if key.endswith("Context") and value == rec.context:
            return "{context}"
        if in_dest and key in ("Exten", "Extension") and value == rec.exten:
            return "{exten}"
        text = _esc(value)
        if self.chan_seq:
            text = text.replace(self.chan_seq, "{chan}-{seq}")
        text = text.replace(_esc(rec.channel), "{chan}").replace(rec.number, "{number}")
        return text.replace(_esc(rec.tag), "{tag}") if rec.tag else text

    def message(self, msg: AmiMessage) -> Part:
        in_dest = msg.get("Context") == self.rec.context
        is_response = msg.name == "OriginateResponse"
        per_var = msg.name == "VarSet" and msg.get("Variable") == ATTEMPT_VARIABLE
        # a Local half's first events come before Asterisk sets its AccountCode
        account = msg.get("Channel") == SPOOL_FAILED_CHANNEL or not (
            per_var or msg.name == "Newchannel"
        )
        lines: list[str] = []
        for key, value in msg.headers:
            if key == "ActionID":
                lines.append("{action_id_line}")
            elif is_response and key in ("Context", "Exten", "Application", "Data"):
                if "{dest_lines}" not in lines:
                    lines.append("{dest_lines}")
            elif per_var and key in ("Variable", "Value"):
                lines.append(f"{key}: {{var_{'name' if key == 'Variable' else 'value'}}}\r\n")
            else:
                lines.append(f"{key}: {self.value(key, value, in_dest, account)}\r\n")
        kind = "response" if is_response else "var" if per_var else "plain"
        return Part(kind, "".join(lines) + "\r\n")

    def snapshot(self, msg: AmiMessage) -> str:
        """A channel as CoreShowChannels lists it: by then its AccountCode is set."""
        keys = [k for k, _ in msg.headers]
        first, last = keys.index(_SNAPSHOT_FIRST), keys.index(_SNAPSHOT_LAST)
        in_dest = msg.get("Context") == self.rec.context
        return "".join(
            f"{k}: {self.value(k, v, in_dest)}\r\n" for k, v in msg.headers[first : last + 1]
        )


def timed_messages(name: str) -> tuple[list[tuple[float, AmiMessage]], _Recorded]:
    """Recording ``name``'s events after its Originate's ack, each with its time from the ack."""
    recording = transcripts.load(name)
    rec = _recorded(recording.sent.decode())
    parser, out, ack_at = AmiParser(), [], None
    for chunk in recording.chunks:
        if chunk.direction != "recv":
            continue
        for msg in parser.feed(recording.data(chunk)):
            if msg.kind == "response" and msg.get("ActionID") == rec.action_id:
                ack_at = chunk.at_s
            elif msg.kind == "event" and ack_at is not None:
                out.append((round(chunk.at_s - ack_at, 3), msg))
    return out, rec


@cache
def load_template(name: str) -> Template:
    """Compile one recording of :mod:`dialerd.pbx.transcripts` (compiled once per process)."""
    timed, rec = timed_messages(name)
    uids: dict[str, str] = {}
    for _, msg in timed:
        for key, value in msg.headers:
            if key.endswith(_UID_KEYS_SUFFIX) and value != "<unknown>" and value not in uids:
                uids[value] = f"uid{len(uids) + 1}"
    seq_match = re.search(
        re.escape(rec.channel) + r"-([0-9a-f]{8});",
        "".join(msg.get("Channel") or "" for _, msg in timed[:3]),
    )
    comp = _Compiler(rec, uids, seq_match[1] if seq_match else None)
    groups: list[Group] = []
    live_after: list[tuple[ChannelView, ...]] = []
    live: dict[str, ChannelView] = {}
    success, answer_at, timeout_group = False, None, None
    causes: dict[str, int] = {}
    parts: list[Part] = []
    for i, (at_s, msg) in enumerate(timed):
        part = comp.message(msg)
        if parts and parts[-1].kind == part.kind == "plain":
            parts[-1] = Part("plain", parts[-1].fmt + part.fmt)
        else:
            parts.append(part)
        slot = uids.get(msg.get("Uniqueid") or "")
        if slot and msg.name == "Hangup":
            live.pop(slot, None)
            causes.setdefault(slot, int(msg.get("Cause") or 0))
        elif slot and msg.get(_SNAPSHOT_FIRST) and msg.get(_SNAPSHOT_LAST):
            old = live.get(slot)
            app = msg.get("Application") if msg.name == "Newexten" else None
            live[slot] = ChannelView(
                slot,
                comp.snapshot(msg),
                _esc(app) if app is not None else (old.application if old else ""),
                comp.value("AppData", msg.get("AppData") or "", False)
                if app is not None
                else (old.app_data if old else ""),
            )
        if msg.name == "OriginateResponse":
            success = msg.get("Response") == "Success"
            if msg.get("Reason") == "3":
                timeout_group = next(
                    (g for g, grp in enumerate(groups) if grp.at_s >= 0.9 * rec.timeout_s),
                    len(groups),
                )
        if answer_at is None and slot == "uid1" and msg.get("ChannelStateDesc") == "Up":
            answer_at = at_s
        if i + 1 == len(timed) or timed[i + 1][0] != at_s:
            groups.append(Group(at_s, tuple(parts)))
            live_after.append(tuple(live.values()))
            parts = []
    amd, amd_group = _amd(timed)
    return Template(
        name=name,
        groups=tuple(groups),
        live_after=tuple(live_after),
        success=success,
        answer_at_s=answer_at,
        timeout_group=timeout_group,
        recorded_timeout_s=rec.timeout_s,
        uid_slots=len(uids),
        cause=causes.get("uid1") or causes.get("uid2") or 0,
        amd=amd,
        amd_group=amd_group,
    )


def _amd(timed: list[tuple[float, AmiMessage]]) -> tuple[tuple[str, str], int | None]:
    """AMD's verdict in a recording (its VarSet) and the index of the group that sets it."""
    found: dict[str, str] = {}
    group, first = 0, None
    for i, (at_s, msg) in enumerate(timed):
        if msg.name == "VarSet" and msg.get("Variable") in AMD_VARIABLES:
            found.setdefault(msg.get("Variable") or "", msg.get("Value") or "")
            first = group if first is None else first
        if i + 1 < len(timed) and timed[i + 1][0] != at_s:
            group += 1
    return (found.get("AMDSTATUS", ""), found.get("AMDCAUSE", "")), first
