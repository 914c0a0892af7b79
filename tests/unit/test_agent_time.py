"""The agents' seconds by state, per hour, and wrap-up spells (domain/agenttime.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dialerd.domain.agents import Member
from dialerd.domain.agenttime import AgentClock, AgentSeconds
from dialerd.domain.pacing.floor import AgentState

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
S = AgentState


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _m(state: AgentState, since: float, name: str = "agent1") -> Member:
    return Member("sales", name, f"Local/{name}@agents", state, _at(since))


def test_a_call_and_its_wrap_up() -> None:
    clock = AgentClock()
    clock.observe("sales", [_m(S.READY, 0)], _at(0))
    clock.observe("sales", [_m(S.TALKING, 30)], _at(40))  # answered at 30 s, seen at 40 s
    clock.observe("sales", [_m(S.WRAP_UP, 120)], _at(125))
    clock.observe("sales", [_m(S.READY, 140)], _at(180))  # wrap-up ended at 140 s
    (t,) = clock.times(_at(180))
    assert t.total == AgentSeconds(ready=70, talking=90, wrap_up=20, wrap_ups=1)
    assert t.total.occupancy == 110 / 180
    assert t.wraps == (20.0,)
    assert t.this_hour == t.total


def test_time_is_split_at_the_hour_and_taken_once() -> None:
    clock = AgentClock()
    clock.observe("sales", [_m(S.READY, 0)], _at(59 * 60))
    clock.observe("sales", [_m(S.READY, 0)], _at(61 * 60))
    hours = clock.take_hours()
    assert [(h.hour.hour, h.seconds.ready) for h in hours] == [(10, 60.0), (11, 60.0)]
    assert clock.take_hours() == []
    clock.give_back(hours[:1])
    assert [h.seconds.ready for h in clock.take_hours()] == [60.0]
    (t,) = clock.times(_at(61 * 60))
    assert t.this_hour == AgentSeconds(ready=60)  # only 11:00 onward


def test_paused_is_logged_in_unavailable_is_not_and_a_member_gone_stops() -> None:
    clock = AgentClock()
    clock.observe("sales", [_m(S.PAUSED, 0), _m(S.UNAVAILABLE, 0, "agent2")], _at(0))
    clock.observe("sales", [_m(S.PAUSED, 0), _m(S.UNAVAILABLE, 0, "agent2")], _at(100))
    clock.observe("sales", [], _at(200))
    clock.observe("sales", [_m(S.READY, 0)], _at(300))  # back: counted from here
    clock.observe("sales", [_m(S.READY, 0)], _at(310))
    (t,) = clock.times(_at(310))
    assert t.total == AgentSeconds(paused=100, ready=10)
    assert t.total.occupancy == 0.0


STATES = st.sampled_from(list(AgentState))


@given(st.lists(st.tuples(STATES, st.integers(1, 4000), st.booleans()), max_size=30))
def test_every_second_seen_lands_in_exactly_one_state(
    steps: list[tuple[AgentState, int, bool]],
) -> None:
    """Observed after every change (as the tracker does): seconds add up to the span."""
    clock = AgentClock()
    now, state, since = 0.0, S.READY, 0.0
    clock.observe("q", [_m(state, since)], _at(now))
    unavailable = 0.0
    for new_state, gap, changed in steps:
        if state is S.UNAVAILABLE:
            unavailable += gap
        now += gap
        if changed:
            state, since = new_state, now
        clock.observe("q", [_m(state, since)], _at(now))
    (t,) = clock.times(_at(now))
    assert abs(t.total.logged_in + unavailable - now) < 1e-6
    by_hour = sum(h.seconds.logged_in for h in clock.take_hours())
    assert abs(by_hour - t.total.logged_in) < 1e-6
