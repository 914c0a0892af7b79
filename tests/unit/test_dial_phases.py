"""How far each dial got, and where the pacer's dials in flight are placed by it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dialerd.pbx.ami.dialphases import DialPhases, Phase
from dialerd.pbx.ami.queues import QueueTracker

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_phases_only_go_forward_and_the_oldest_dials_are_forgotten() -> None:
    d = DialPhases(max_dials=2)
    d.advance("7", Phase.QUEUED)
    d.advance("7", Phase.ANSWERED)  # a late event of an earlier phase
    d.advance(None, Phase.OVER)
    d.advance("", Phase.OVER)
    assert d.phase("7") is Phase.QUEUED
    d.advance("8", Phase.ANSWERED)
    d.advance("9", Phase.OVER)
    assert (d.phase("7"), d.phase("8"), d.phase("9")) == (None, Phase.ANSWERED, Phase.OVER)


def test_place_rings_the_unknown_counts_the_answered_and_drops_the_rest() -> None:
    d = DialPhases(max_dials=10)
    d.advance("2", Phase.ANSWERED)
    d.advance("3", Phase.QUEUED)
    d.advance("4", Phase.OVER)
    d.advance("5", Phase.ANSWERED)
    assert d.place({1: 1.5, 2: 3.0, 3: 4.0, 4: 9.0, 5: 0.5, 6: 0.0}) == ([1.5, 0.0], 2)


@given(st.dictionaries(st.integers(1, 50), st.floats(0, 60)), st.lists(st.integers(1, 50)))
def test_every_dial_is_placed_at_most_once(dials: dict[int, float], answered: list[int]) -> None:
    d = DialPhases(max_dials=100)
    for n, attempt in enumerate(answered):
        d.advance(str(attempt), Phase(1 + n % 3))
    ringing, waiting = d.place(dials)
    assert len(ringing) + waiting <= len(dials)
    assert len(ringing) == sum(1 for a in dials if d.phase(str(a)) is None)


def test_the_tracker_follows_a_dial_from_its_channel_and_queue_events() -> None:
    """Tagged channel, answer, queue join, hangup: ringing, on its way, the queue's, over."""
    t = QueueTracker()
    t.feed({"Event": "QueueMemberStatus", "Queue": "q", "Interface": "PJSIP/a1"}, _at(0))
    dials = {41: 2.0}
    assert t.dials.place(dials) == ([2.0], 0)  # not even tagged yet: it rings
    tag = {"Event": "VarSet", "Uniqueid": "u1", "Linkedid": "u1", "Variable": "DIALERD_ATTEMPT"}
    t.feed({**tag, "Value": "41"}, _at(1))
    assert t.dials.place(dials) == ([2.0], 0)
    t.feed({"Event": "Newstate", "Uniqueid": "u1", "ChannelState": "6"}, _at(2))
    assert t.dials.place(dials) == ([], 1)
    floor = t.floor_of("q", _at(2), answered=1)
    assert (floor.ready, floor.waiting, floor.in_flight) == (1, 1, 0)
    t.feed({"Event": "QueueCallerJoin", "Queue": "q", "Uniqueid": "u1", "Linkedid": "u1"}, _at(3))
    assert t.dials.place(dials) == ([], 0) and t.floor_of("q", _at(3)).waiting == 1
    t.feed({"Event": "Hangup", "Uniqueid": "u1", "Linkedid": "u1"}, _at(9))
    assert t.dials.place(dials) == ([], 0) and t.floor_of("q", _at(9)).waiting == 0


def test_a_dial_that_ends_unanswered_rings_no_more() -> None:
    t = QueueTracker()
    tag = {"Event": "VarSet", "Uniqueid": "u2", "Variable": "DIALERD_ATTEMPT", "Value": "42"}
    t.feed(tag, _at(0))
    t.feed({"Event": "Hangup", "Uniqueid": "u2"}, _at(5))  # busy: its result is on its way
    assert t.dials.place({42: 5.0}) == ([], 0)
