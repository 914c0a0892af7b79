"""QueueTracker on hand-made events: the cases the recordings do not show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialerd.domain.agents import CallEnd
from dialerd.domain.pacing.floor import AgentState
from dialerd.pbx.ami.queues import QueueTracker, wrapup_times

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
A1 = "PJSIP/agent1"


def _at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def _member(queue: str, iface: str = A1, name: str = "agent1", **fields: str) -> dict[str, str]:
    base = {
        "Event": "QueueMemberStatus",
        "Queue": queue,
        "MemberName": name,
        "Interface": iface,
        "Status": "1",
        "InCall": "0",
        "Paused": "0",
        "PausedReason": "",
        "LastCall": "0",
        "CallsTaken": "0",
        "Wrapuptime": "0",
    }
    return base | fields


def _row(queue: str, iface: str, name: str, **fields: str) -> dict[str, str]:
    row = _member(queue, iface, name, **fields) | {"Event": "QueueMember", "Location": iface}
    row["Name"] = name
    return row


def _states(t: QueueTracker, queue: str, at: float) -> dict[str, AgentState]:
    return {m.name: m.state for m in t.members(queue, _at(at))}


def test_queues_conf_wrapup_per_queue_with_comments_and_templates() -> None:
    text = "[general]\nwrapuptime=9\n[sales](!)\nwrapuptime = 5 ; s\n[support]\nstrategy=ringall\n"
    assert wrapup_times(text + "[late]\nwrapuptime=>2\n") == {"sales": 5.0, "late": 2.0}


def test_member_wrapuptime_wins_over_the_queue_and_ready_after_it() -> None:
    t = QueueTracker({"q": 3.0})
    t.feed(_member("q", Wrapuptime="10"), _at(0))
    t.feed(_member("q", Wrapuptime="10", InCall="1", Status="2"), _at(1))
    t.feed(_member("q", Wrapuptime="10", LastCall="1796161395", CallsTaken="1"), _at(5))
    assert _states(t, "q", 14.9) == {"agent1": AgentState.WRAP_UP}
    assert _states(t, "q", 15.0) == {"agent1": AgentState.READY}
    floor = t.floor_of("q", _at(8), ringing=[1.5])
    assert floor.agents[0].elapsed == 3.0 and floor.ringing == (1.5,)


def test_one_device_in_two_queues_talks_in_both_but_pauses_per_queue() -> None:
    t = QueueTracker()
    t.feed(_member("sales"), _at(0))
    t.feed(_member("support"), _at(0))
    t.feed(_member("support", Paused="1", PausedReason="lunch"), _at(1))
    connect = {"Queue": "sales", "Interface": A1, "MemberName": "agent1", "Uniqueid": "u1"}
    t.feed({"Event": "AgentConnect", **connect, "HoldTime": "0", "RingTime": "2"}, _at(2))
    assert _states(t, "sales", 3) == {"agent1": AgentState.TALKING}
    (paused,) = t.members("support", _at(3))
    assert (paused.state, paused.paused_reason) == (AgentState.PAUSED, "lunch")


def test_ring_no_answer_and_unavailable() -> None:
    t = QueueTracker()
    t.feed(_member("q"), _at(0))
    called = {"Queue": "q", "Interface": A1, "MemberName": "agent1", "Uniqueid": "u1"}
    t.feed({"Event": "AgentCalled", **called}, _at(1))
    assert _states(t, "q", 2) == {"agent1": AgentState.RINGING}
    t.feed({"Event": "AgentRingNoAnswer", **called, "RingTime": "10"}, _at(11))
    assert _states(t, "q", 11) == {"agent1": AgentState.READY}
    t.feed(_member("q", Status="5"), _at(12))
    assert _states(t, "q", 12) == {"agent1": AgentState.UNAVAILABLE}
    t.feed({"Event": "QueueMemberRemoved", "Queue": "q", "Interface": A1}, _at(13))
    assert t.members("q", _at(13)) == []


def test_snapshot_replaces_members_and_waiting_callers() -> None:
    t = QueueTracker()
    t.feed(_member("q", "PJSIP/old", "old"), _at(0))
    t.feed(
        {"Event": "QueueCallerJoin", "Queue": "q", "Uniqueid": "gone", "Linkedid": "gone"}, _at(0)
    )
    rows = [
        {"Event": "QueueParams", "Queue": "q"},
        _row("q", A1, "agent1", Paused="1", PausedReason="break"),
        {"Event": "QueueEntry", "Queue": "q", "Uniqueid": "u9", "Wait": "4"},
        {"Event": "QueueStatusComplete"},
    ]
    t.snapshot(rows, _at(10))
    assert _states(t, "q", 10) == {"agent1": AgentState.PAUSED}
    floor = t.floor_of("q", _at(10))
    assert floor.waiting == 1 and floor.count(AgentState.PAUSED) == 1
    call = t.call("u9")
    assert call is not None and call.joined_at == _at(6)


def test_a_queued_call_joins_its_dial_by_attempt_and_linkedid_and_is_forgotten() -> None:
    t = QueueTracker(max_calls=2)
    varset = {"Event": "VarSet", "Uniqueid": "u1", "Linkedid": "l1"}
    t.feed({**varset, "Variable": "DIALERD_ATTEMPT", "Value": "att-7"}, _at(0))
    t.feed({"Event": "Newstate", "Uniqueid": "u1", "ChannelState": "6"}, _at(1))
    join = {"Queue": "q", "Uniqueid": "u1", "Linkedid": "l1"}
    t.feed({"Event": "QueueCallerJoin", **join}, _at(2))
    t.feed({"Event": "QueueCallerAbandon", **join, "HoldTime": "4"}, _at(6))
    call = t.call("att-7")
    assert call is not None and call is t.call("l1")
    assert (call.end, call.answered_at, call.hold_s, call.wait_s) == (
        CallEnd.ABANDONED,
        _at(1),
        4,
        5.0,
    )
    for n in range(2):
        t.feed({"Event": "QueueCallerJoin", "Queue": "q", "Uniqueid": f"x{n}"}, _at(7))
    assert t.call("att-7") is None  # the oldest went past max_calls
    assert t.forget_call("x0") is not None and [c.uniqueid for c in t.calls()] == ["x1"]
