"""domain.due: the one rule for when a contact is next due, with and without the window.

The importer asks without a calendar and the dispatcher fits the dial to the
window just before it; the properties below show that this gives the dial the
policy would have planned with the calendar, and that the dispatcher's "does it
fit now?" agrees with the calendar.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.domain.calendar import ALL_DAYS, WORKDAYS, CallingCalendar, Window
from dialerd.domain.due import Due, first_due, fit_window, plan_next
from dialerd.domain.outcomes import Outcome
from dialerd.domain.policy import DialPolicy, RollingCap
from dialerd.domain.states import ContactState, NumberState
from dialerd.domain.views import ContactView, NumberView

H = timedelta(hours=1)
T0 = datetime(2026, 3, 2, 14, tzinfo=UTC)  # a Monday, 14:00 UTC
SATURDAY = datetime(2026, 3, 7, 12, tzinfo=UTC)
MONDAY_9 = datetime(2026, 3, 9, 9, tzinfo=UTC)
ALWAYS = CallingCalendar("UTC", (Window(ALL_DAYS, time(0), time(0)),))
OFFICE = CallingCalendar("UTC", (Window(WORKDAYS, time(9), time(17)),))
POLICY = DialPolicy()
CALENDARS = [
    OFFICE,
    CallingCalendar(
        "Asia/Shanghai",
        (Window(WORKDAYS, time(9), time(12)), Window(WORKDAYS, time(13, 30), time(18))),
        holiday_country="CN",
    ),
    CallingCalendar("America/New_York", (Window(ALL_DAYS, time(20), time(0)),)),
    CallingCalendar("UTC", (Window(WORKDAYS, time(10), time(16)),), end=T0.date() + 10 * H * 24),
]


def fresh(numbers: int = 2, state: ContactState = ContactState.active, **kw: object) -> ContactView:
    return ContactView(
        state=state,
        rounds_started=0,
        round_started_at=None,
        refusals=0,
        numbers=tuple(NumberView(p, NumberState.dialable, None) for p in range(1, numbers + 1)),
        round_results={},
        **kw,  # type: ignore[arg-type]
    )


# -- examples ---------------------------------------------------------------------------


def test_without_a_calendar_a_fresh_contact_is_due_at_now_or_its_not_before() -> None:
    assert first_due(fresh(), now=T0, policy=POLICY, calendar=None) == Due(1, T0)
    later = T0 + 20 * H
    assert first_due(fresh(not_before=later), now=T0, policy=POLICY, calendar=None) == (1, later)
    past = T0 - 20 * H
    assert first_due(fresh(not_before=past), now=T0, policy=POLICY, calendar=None) == (1, T0)
    step = plan_next(fresh(), now=T0, policy=POLICY, calendar=None)
    assert (step.new_round, step.is_appointment, step.rounds_started) == (True, False, 1)


def test_an_appointment_is_due_at_its_time_and_opens_no_counted_round() -> None:
    at = T0 + 3 * H
    step = plan_next(fresh(appointment_at=at), now=T0, policy=POLICY, calendar=None)
    assert (step.position, step.at, step.is_appointment) == (1, at, True)
    assert (step.new_round, step.rounds_started, step.appointment_at) == (False, 0, at)
    # not_before is a floor for every dial, appointments included
    floor = T0 + 5 * H
    step = plan_next(
        fresh(appointment_at=at, not_before=floor), now=T0, policy=POLICY, calendar=None
    )
    assert (step.at, step.is_appointment) == (floor, True)


def test_fit_window() -> None:
    assert fit_window(SATURDAY, calendar=None, tz=None, policy=POLICY) == SATURDAY
    assert fit_window(SATURDAY, calendar=OFFICE, tz=None, policy=POLICY) == MONDAY_9
    assert fit_window(T0, calendar=OFFICE, tz=None, policy=POLICY) == T0
    ring = timedelta(seconds=30)
    just_before_five = datetime(2026, 3, 2, 16, 59, 45, tzinfo=UTC)  # no room to ring
    assert fit_window(just_before_five, calendar=OFFICE, tz=None, policy=POLICY) == (
        datetime(2026, 3, 3, 9, tzinfo=UTC)
    )
    assert fit_window(just_before_five - ring, calendar=OFFICE, tz=None, policy=POLICY) == (
        just_before_five - ring
    )
    ended = CallingCalendar("UTC", OFFICE.windows, end=T0.date())
    assert fit_window(SATURDAY, calendar=ended, tz=None, policy=POLICY) is None


def test_nothing_is_due_for_a_contact_that_is_not_active() -> None:
    for state in (ContactState.paused, ContactState.closed, ContactState.completed):
        contact = fresh(state=state)
        assert first_due(contact, now=T0, policy=POLICY, calendar=ALWAYS) is None
        assert plan_next(contact, now=T0, policy=POLICY, calendar=None).contact_state == state


# -- properties -------------------------------------------------------------------------

offsets = st.integers(-72, 72).map(lambda h: T0 + h * H)
maybe_times = st.none() | offsets


@st.composite
def contacts(draw: st.DrawFn) -> ContactView:
    """Any stored contact state, consistent or not: plan_next must answer for all of them."""
    n = draw(st.integers(1, 4))
    numbers = []
    for p in range(1, n + 1):
        dialed = draw(st.none() | st.integers(1, 96).map(lambda h: T0 - h * H))
        numbers.append(
            NumberView(
                p,
                draw(st.sampled_from([NumberState.dialable] * 4 + list(NumberState))),
                dialed,
                (dialed,) if dialed is not None else (),
                draw(st.none() | st.sampled_from(list(Outcome))) if dialed else None,
            )
        )
    rounds = draw(st.integers(0, 4))
    results = draw(
        st.dictionaries(st.integers(1, n), st.sampled_from(list(Outcome)), max_size=n)
        if rounds
        else st.just({})
    )
    return ContactView(
        state=draw(st.sampled_from([ContactState.active] * 4 + list(ContactState))),
        rounds_started=rounds,
        round_started_at=draw(offsets) if rounds else None,
        refusals=0,
        numbers=tuple(numbers),
        round_results=results,
        not_before=draw(maybe_times),
        appointment_at=draw(maybe_times),
        recent_dials=tuple(sorted(d for x in numbers for d in x.recent_dials)),
        appointment_position=draw(st.none() | st.integers(1, n)),
    )


wall_policies = st.builds(
    DialPolicy,
    max_rounds=st.integers(1, 4),
    min_spacing=st.sampled_from([H, 6 * H, 8 * H]),
    ring_timeout=st.sampled_from([timedelta(seconds=30), timedelta(minutes=2)]),
    number_cap=st.none() | st.just(RollingCap(2, 24 * H)),
    contact_cap=st.none() | st.just(RollingCap(3, 24 * H)),
)
zones = st.sampled_from([None, "America/New_York", "Asia/Shanghai"])


@pytest.mark.timeout(120)  # 300 examples: 20 s seen on a loaded machine
@settings(max_examples=300, deadline=None)
@given(contacts(), offsets, wall_policies, st.sampled_from(CALENDARS), zones)
def test_the_window_pushed_later_gives_the_planned_dial(
    contact: ContactView,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None,
) -> None:
    """plan_next with the calendar == plan_next without it, then fitted to the window."""
    planned = plan_next(contact, now=now, policy=policy, calendar=calendar, tz=tz)
    bare = plan_next(contact, now=now, policy=policy, calendar=None, tz=tz)
    assert (bare.contact_state, bare.closed_reason) == (
        planned.contact_state,
        planned.closed_reason,
    )
    if bare.at is None:
        assert planned.at is None
        return
    fitted = fit_window(bare.at, calendar=calendar, tz=tz, policy=policy)
    assert planned.at == fitted
    if fitted is not None:
        assert (planned.position, planned.new_round, planned.is_appointment) == (
            bare.position,
            bare.new_round,
            bare.is_appointment,
        )


@pytest.mark.timeout(120)  # 300 examples: 18 s seen on a loaded machine
@settings(max_examples=300, deadline=None)
@given(contacts(), offsets, wall_policies, st.sampled_from(CALENDARS), zones)
def test_a_due_time_respects_now_not_before_and_the_window(
    contact: ContactView,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None,
) -> None:
    due = first_due(contact, now=now, policy=policy, calendar=calendar, tz=tz)
    step = plan_next(contact, now=now, policy=policy, calendar=calendar, tz=tz)
    if due is None:
        assert step.at is None
        return
    assert due == (step.position, step.at)
    assert contact.state == ContactState.active
    assert contact.number(due.position).state == NumberState.dialable
    assert due.at >= now
    assert contact.not_before is None or due.at >= contact.not_before
    assert calendar.is_open(due.at, tz=tz, duration=policy.ring_timeout)


@settings(max_examples=300, deadline=None)
@given(offsets, st.integers(0, 3599), wall_policies, st.sampled_from(CALENDARS), zones)
def test_the_dispatcher_pushes_exactly_when_the_dial_does_not_fit_now(
    hour: datetime,
    seconds: int,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None,
) -> None:
    now = hour + timedelta(seconds=seconds)
    at = fit_window(now, calendar=calendar, tz=tz, policy=policy)
    assert (at == now) == calendar.is_open(now, tz=tz, duration=policy.ring_timeout)
    if at is not None:
        assert at >= now
        assert fit_window(at, calendar=calendar, tz=tz, policy=policy) == at  # one push suffices
