"""The text of the queue events a queued caller causes, field for field as recorded.

From ``dialerd/pbx/transcripts/queue/``: ``QueueCallerJoin``, ``AgentCalled``,
``QueueCallerLeave``, ``AgentConnect``, ``AgentComplete`` (queue-answered-agent),
``QueueCallerAbandon`` then ``QueueCallerLeave``, ``QUEUESTATUS`` and the
``DialerdAbandon`` UserEvent of docs/asterisk.md's recipe (queue-four-calls-two-agents,
queue-all-agents-paused), ``QueueEntry`` as QueueStatus lists a waiting caller.
Each event starts from the caller's ``;1`` channel snapshot (``Channel`` ...
``Linkedid``); the agent's leg is the ``Dest*`` block.
"""

from __future__ import annotations

import re

__all__ = [
    "abandon_events",
    "agent_event",
    "at_priority",
    "caller_event",
    "dest_block",
    "queue_entry",
]

_PRIORITY = re.compile(r"^Priority: \d+\r\n", re.M)
_CONTEXT = re.compile(r"^Context: [^\r]*\r\nExten: [^\r]*\r\n", re.M)


def at_priority(snapshot: str, context: str, priority: int) -> str:
    """The ``;1`` snapshot at ``s,priority`` of ``context`` (the recipe's steps)."""
    snap = _CONTEXT.sub(f"Context: {context}\r\nExten: s\r\n", snapshot, count=1)
    return _PRIORITY.sub(f"Priority: {priority}\r\n", snap, count=1)


def field(snapshot: str, name: str) -> str:
    found = re.search(rf"^{name}: ([^\r]*)\r\n", snapshot, re.M)
    return found[1] if found else ""


def caller_event(name: str, snapshot: str, *pairs: tuple[str, object]) -> str:
    """A queue event about the caller: its snapshot, then ``pairs``."""
    tail = "".join(f"{k}: {v}\r\n" for k, v in pairs)
    return f"Event: {name}\r\nPrivilege: agent,all\r\n{snapshot}{tail}\r\n"


def dest_block(
    channel: str,
    up: bool,
    uniqueid: str,
    linkedid: str,
    cid_num: str,
    cid_name: str,
    account: str = "",
) -> str:
    """The agent's leg (``Local/agentN@agent-sim-XXXXXXXX;1``), Down while it rings.

    ``account``: the caller's AccountCode, which app_queue gives the agent's leg.
    """
    state, desc = ("6", "Up") if up else ("0", "Down")
    return (
        f"DestChannel: {channel}\r\nDestChannelState: {state}\r\n"
        f"DestChannelStateDesc: {desc}\r\nDestCallerIDNum: {cid_num}\r\n"
        f"DestCallerIDName: {cid_name}\r\nDestConnectedLineNum: {cid_num}\r\n"
        f"DestConnectedLineName: {cid_name}\r\nDestLanguage: en\r\nDestAccountCode: {account}\r\n"
        f"DestContext: agent-sim\r\nDestExten: s\r\nDestPriority: 1\r\n"
        f"DestUniqueid: {uniqueid}\r\nDestLinkedid: {linkedid}\r\n"
    )


def agent_event(
    name: str, snapshot: str, dest: str, queue: str, interface: str, member: str, *tail: str
) -> str:
    """``AgentCalled``/``AgentConnect``/``AgentComplete``: caller, agent leg, member, figures."""
    return (
        f"Event: {name}\r\nPrivilege: agent,all\r\n{snapshot}{dest}Queue: {queue}\r\n"
        f"Interface: {interface}\r\nMemberName: {member}\r\n{''.join(tail)}\r\n"
    )


def _varset(snapshot: str, variable: str, value: str) -> str:
    return (
        f"Event: VarSet\r\nPrivilege: dialplan,all\r\n{snapshot}"
        f"Variable: {variable}\r\nValue: {value}\r\n\r\n"
    )


def _newexten(snapshot: str, app: str, data: str) -> str:
    return (
        f"Event: Newexten\r\nPrivilege: dialplan,all\r\n{snapshot}Extension: s\r\n"
        f"Application: {app}\r\nAppData: {data}\r\n\r\n"
    )


def abandon_events(snapshot: str, context: str, attempt: str, status: str) -> str:
    """After ``Queue()`` returned without an agent: ``QUEUESTATUS``, then the recipe's
    ``UserEvent(DialerdAbandon,Attempt: ...,QueueStatus: ...)`` and its apology."""
    at3, at5 = at_priority(snapshot, context, 3), at_priority(snapshot, context, 5)
    data = f"DialerdAbandon,Attempt: {attempt},QueueStatus: {status}"
    return (
        _varset(at3, "QUEUESTATUS", status)
        + _newexten(at_priority(snapshot, context, 4), "NoOp", f"QUEUESTATUS={status}")
        + _newexten(at5, "UserEvent", data)
        + f"Event: UserEvent\r\nPrivilege: user,all\r\n{at5}UserEvent: DialerdAbandon\r\n"
        f"Attempt: {attempt}\r\nQueueStatus: {status}\r\n\r\n"
        + _newexten(at_priority(snapshot, context, 6), "Playback", "dialerd/sorry-another-day")
    )


def queue_entry(queue: str, position: int, snapshot: str, wait_s: int) -> str:
    """A waiting caller as ``QueueStatus`` lists it (without its ActionID line and end)."""
    return (
        f"Event: QueueEntry\r\nQueue: {queue}\r\nPosition: {position}\r\n"
        f"Channel: {field(snapshot, 'Channel')}\r\nUniqueid: {field(snapshot, 'Uniqueid')}\r\n"
        f"Linkedid: {field(snapshot, 'Linkedid')}\r\n"
        f"CallerIDNum: {field(snapshot, 'CallerIDNum')}\r\n"
        f"CallerIDName: {field(snapshot, 'CallerIDName')}\r\n"
        f"ConnectedLineNum: {field(snapshot, 'ConnectedLineNum')}\r\n"
        f"ConnectedLineName: {field(snapshot, 'ConnectedLineName')}\r\n"
        f"Wait: {wait_s}\r\nPriority: 0\r\n"
    )
