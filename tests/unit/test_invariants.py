"""Property tests: whole contact lives through plan_next/decide, with random outcomes.

A small model of the engine applies each Decision the way docs/outcomes.md says
(number state, contact state, rounds, appointment), dials exactly when told,
and checks after every dial:

* never more than ``max_rounds`` counted (non-appointment) rounds;
* never two round starts closer than ``min_spacing`` (the later one an ordinary
  round), never two dials of one number closer than ``min_spacing`` (the later one
  not an appointment), in wall or open-hours time as the policy says;
* never a dial outside a window (ring timeout included) or on a holiday;
* never a dial of a dead/DNC/exhausted number, never a dial of a contact that is
  not active, and the rolling caps always hold;
* and that a resumed contact (plan_next on the stored state) would do exactly what
  the decision said.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dialerd.domain.calendar import ALL_DAYS, WORKDAYS, CallingCalendar, Window
from dialerd.domain.outcomes import Group, Outcome, info
from dialerd.domain.policy import (
    ContactView,
    Decision,
    DialPolicy,
    NumberView,
    RollingCap,
    Step,
    decide,
    plan_next,
)
from dialerd.domain.states import ContactState, NumberState
from dialerd.domain.treatments import Treatment, TreatmentKind

H = timedelta(hours=1)
MAX_DIALS = 40

CALENDARS = {
    "ny-office": CallingCalendar(
        "America/New_York", (Window(WORKDAYS, time(9), time(17)),), holiday_country="US"
    ),
    "ny-nights": CallingCalendar(  # windows across the DST jumps
        "America/New_York",
        (Window(ALL_DAYS, time(0, 30), time(2, 30)), Window(ALL_DAYS, time(20), time(0))),
    ),
    "cn-office": CallingCalendar(
        "Asia/Shanghai",
        (Window(WORKDAYS, time(9), time(12)), Window(WORKDAYS, time(13, 30), time(18))),
        holiday_country="CN",
    ),
    "short-campaign": CallingCalendar(
        "Europe/London", (Window(WORKDAYS, time(10), time(16)),), end=date(2026, 3, 13)
    ),
}
STARTS = [
    datetime(2026, 3, 6, 15, tzinfo=UTC),  # before the US spring-forward weekend
    datetime(2026, 10, 30, 12, tzinfo=UTC),  # before the US fall-back weekend
    datetime(2026, 2, 11, 2, tzinfo=UTC),  # before the Spring Festival and its make-up days
    datetime(2026, 9, 28, 2, tzinfo=UTC),  # before National Day
    datetime(2026, 3, 2, 9, tzinfo=UTC),
    datetime(2026, 3, 5, 21, 59, 40, tzinfo=UTC),  # 16:59:40 in New York: no room to ring
]
ZONES = [None, "America/New_York", "Asia/Shanghai", "Europe/London"]
# Mostly outcomes that keep the contact going, so that lives run to several rounds.
OUTCOME_POOL = [
    o for o in Outcome if info(o).group in (Group.dial_again, Group.line_problem)
] * 4 + [*Outcome]
RESULT_AFTER = [timedelta(seconds=s) for s in (5, 40, 200, 1785, 3590)]
CALLBACKS = [None, timedelta(minutes=10), 2 * H, 20 * H, -H, timedelta(days=3)]


def caps() -> st.SearchStrategy[RollingCap | None]:
    return st.none() | st.builds(
        RollingCap, st.integers(1, 3), st.sampled_from([12 * H, 24 * H, 48 * H])
    )


def treatments() -> st.SearchStrategy[Treatment]:
    return st.sampled_from(list(TreatmentKind)).flatmap(
        lambda kind: st.builds(
            Treatment,
            st.just(kind),
            st.sampled_from([None, 2 * H, 10 * H])
            if kind in (TreatmentKind.retry, TreatmentKind.callback)
            else st.none(),
        )
    )


policies = st.builds(
    DialPolicy,
    max_rounds=st.integers(1, 4),
    min_spacing=st.sampled_from([H, 3 * H, 6 * H, 8 * H]),
    ring_timeout=st.sampled_from([timedelta(seconds=30), timedelta(minutes=2)]),
    overrides=st.dictionaries(st.sampled_from(list(Outcome)), treatments(), max_size=4),
    max_refusals=st.integers(1, 3),
    number_cap=caps(),
    contact_cap=caps(),
    spacing=st.sampled_from(["wall", "open_hours"]),
)


@dataclass
class Num:
    position: int
    state: str = "dialable"
    dials: list[datetime] = field(default_factory=list)
    last_outcome: Outcome | None = None


@dataclass
class Model:
    """What the engine stores, updated from Steps and Decisions as documented."""

    numbers: dict[int, Num]
    state: str = "active"
    rounds_started: int = 0
    round_started_at: datetime | None = None
    refusals: int = 0
    round_results: dict[int, Outcome] = field(default_factory=dict)
    appointment_at: datetime | None = None
    appointment_position: int | None = None
    dials: list[tuple[datetime, int, bool]] = field(default_factory=list)  # (at, pos, appt)
    round_starts: list[tuple[datetime, bool]] = field(default_factory=list)  # (at, appt)

    def view(self) -> ContactView:
        return ContactView(
            state=ContactState(self.state),
            rounds_started=self.rounds_started,
            round_started_at=self.round_started_at,
            refusals=self.refusals,
            numbers=tuple(
                NumberView(
                    n.position,
                    NumberState(n.state),
                    max(n.dials, default=None),
                    tuple(n.dials),
                    n.last_outcome,
                )
                for n in self.numbers.values()
            ),
            round_results=MappingProxyType(dict(self.round_results)),
            appointment_at=self.appointment_at,
            recent_dials=tuple(t for t, _, _ in self.dials),
            appointment_position=self.appointment_position,
        )

    def apply(self, step: Step | Decision) -> None:
        if isinstance(step, Decision):
            at, position = step.next_at, step.next_position
            appointment, new_round = step.next_is_appointment, step.new_round
        else:
            at, position = step.at, step.position
            appointment, new_round = step.is_appointment, step.new_round
        self.state = step.contact_state
        self.rounds_started = step.rounds_started
        self.round_started_at = step.round_started_at
        self.appointment_at = step.appointment_at
        self.appointment_position = position if appointment else None
        if new_round:
            assert at is not None
            self.round_results = {}
            self.round_starts.append((at, appointment))


def spaced_enough(
    a: datetime, b: datetime, policy: DialPolicy, cal: CallingCalendar, tz: str | None
) -> bool:
    if policy.spacing == "open_hours":
        return cal.open_time_between(a, b, tz=tz) >= policy.min_spacing
    return b - a >= policy.min_spacing


def check_dial(
    model: Model,
    at: datetime,
    position: int,
    policy: DialPolicy,
    cal: CallingCalendar,
    tz: str | None,
) -> None:
    zone_key = tz or cal.timezone
    assert model.state == "active", "dialled a contact that is not active"
    number = model.numbers[position]
    assert number.state == "dialable", f"dialled a {number.state} number"
    assert cal.is_open(at, tz=tz, duration=policy.ring_timeout), f"dial outside a window: {at}"
    if cal.holiday_country:
        day = at.astimezone(ZoneInfo(zone_key)).date()
        assert day not in holidays.country_holidays(cal.holiday_country, years=day.year)
    counted = [appt for _, appt in model.round_starts if not appt]
    assert len(counted) <= policy.max_rounds
    assert model.rounds_started <= policy.max_rounds
    for (a, _), (b, appt) in zip(model.round_starts, model.round_starts[1:], strict=False):
        if not appt:
            assert spaced_enough(a, b, policy, cal, tz), f"round starts {a} and {b} too close"
    is_appointment = model.appointment_at is not None and model.appointment_position == position
    if number.dials and not is_appointment:
        assert spaced_enough(number.dials[-1], at, policy, cal, tz), "number redialled too soon"
    for cap, times in (
        (policy.number_cap, number.dials),
        (policy.contact_cap, [t for t, _, _ in model.dials]),
    ):
        if cap is not None:
            assert sum(1 for t in times if t > at - cap.window) < cap.count, "rolling cap broken"


@pytest.mark.timeout(120)  # 120 whole lives: 15 s seen on a loaded machine
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=st.data(),
    policy=policies,
    calendar=st.sampled_from(sorted(CALENDARS)),
    start=st.sampled_from(STARTS),
    tz=st.sampled_from(ZONES),
    n_numbers=st.integers(1, 4),
)
def test_a_contacts_whole_life(
    data: st.DataObject,
    policy: DialPolicy,
    calendar: str,
    start: datetime,
    tz: str | None,
    n_numbers: int,
) -> None:
    cal = CALENDARS[calendar]
    model = Model({p: Num(p) for p in range(1, n_numbers + 1)})
    now = start
    step = plan_next(model.view(), now=now, policy=policy, calendar=cal, tz=tz)
    model.apply(step)
    at, position = step.at, step.position
    for _ in range(MAX_DIALS):
        if at is None or position is None:
            break
        assert at >= now
        check_dial(model, at, position, policy, cal, tz)
        appointment = model.appointment_at is not None
        model.dials.append((at, position, appointment))
        number = model.numbers[position]
        outcome = data.draw(st.sampled_from(OUTCOME_POOL), label="outcome")
        now = at + data.draw(st.sampled_from(RESULT_AFTER), label="result after")
        offset = data.draw(st.sampled_from(CALLBACKS), label="callback")
        exact = data.draw(st.booleans(), label="dialed_at given")
        decision = decide(
            model.view(),
            position,
            outcome,
            now=now,
            policy=policy,
            calendar=cal,
            tz=tz,
            callback_at=None if offset is None else now + offset,
            dialed_at=at if exact else None,
        )
        # the engine's writes
        number.dials.append(at)
        number.state = decision.number_state
        number.last_outcome = outcome
        model.refusals = decision.refusals
        if info(outcome).group is not Group.our_fault:
            model.round_results[position] = outcome
        model.apply(decision)
        at, position = decision.next_at, decision.next_position
        if decision.contact_state != "active":
            assert at is None and position is None
        if exact:  # a resumed contact would do just the same
            again = plan_next(model.view(), now=now, policy=policy, calendar=cal, tz=tz)
            assert (again.position, again.at) == (position, at)
            assert again.is_appointment == decision.next_is_appointment
            assert again.contact_state == decision.contact_state
    event(f"dials: {len(model.dials) // 10 * 10}+")
    event(f"appointments: {min(3, sum(1 for _, a in model.round_starts if a))}")
    event(f"end state: {model.state}")
    if model.state in ("completed", "closed"):
        after = plan_next(model.view(), now=now + 30 * 24 * H, policy=policy, calendar=cal, tz=tz)
        assert after.at is None


@settings(max_examples=60, deadline=None)
@given(
    policy=policies,
    calendar=st.sampled_from(sorted(CALENDARS)),
    start=st.sampled_from(STARTS),
    outcome=st.sampled_from(
        [o for o in Outcome if info(o).group in (Group.dial_again, Group.line_problem)]
    ),
)
def test_always_failing_contacts_end_after_max_rounds(
    policy: DialPolicy, calendar: str, start: datetime, outcome: Outcome
) -> None:
    """With default treatments and one retryable outcome forever, the contact closes."""
    policy = DialPolicy(
        max_rounds=policy.max_rounds, min_spacing=policy.min_spacing, spacing=policy.spacing
    )
    cal = CALENDARS[calendar]
    model = Model({p: Num(p) for p in (1, 2)})
    step = plan_next(model.view(), now=start, policy=policy, calendar=cal)
    model.apply(step)
    at, position = step.at, step.position
    dials = 0
    while at is not None and position is not None:
        dials += 1
        model.numbers[position].dials.append(at)
        model.round_results[position] = outcome
        decision = decide(
            model.view(),
            position,
            outcome,
            now=at + H / 60,
            policy=policy,
            calendar=cal,
            dialed_at=at,
        )
        model.apply(decision)
        at, position = decision.next_at, decision.next_position
    if model.state == "active":  # only when the campaign ran out of calendar
        assert cal.end is not None
    else:
        assert (model.state, dials) == ("closed", 2 * policy.max_rounds)
