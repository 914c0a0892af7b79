"""decide(), plan_next() and first_due(): rounds, spacing, caps, appointments, terminal outcomes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialerd.domain.calendar import ALL_DAYS, WORKDAYS, CallingCalendar, Window
from dialerd.domain.outcomes import Bucket, Outcome
from dialerd.domain.policy import (
    ContactView,
    Decision,
    DialPolicy,
    NumberView,
    RollingCap,
    decide,
    first_due,
    fit_window,
    plan_next,
)
from dialerd.domain.states import NumberState
from dialerd.domain.treatments import Treatment, TreatmentKind

O = Outcome  # noqa: E741
H = timedelta(hours=1)
M = timedelta(minutes=1)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
ALWAYS = CallingCalendar("UTC", (Window(ALL_DAYS, time(0), time(0)),))
OFFICE = CallingCalendar("UTC", (Window(WORKDAYS, time(9), time(17)),))
POLICY = DialPolicy()


def contact(
    n: int = 3,
    *,
    rounds: int = 1,
    started: datetime | None = T0,
    results: Mapping[int, Outcome] | None = None,
    dialed: Mapping[int, datetime] | None = None,
    states: Mapping[int, str] | None = None,
    **kw: object,
) -> ContactView:
    dialed = dialed or {}
    states = states or {}
    return ContactView(
        state=kw.pop("state", "active"),  # type: ignore[arg-type]
        rounds_started=rounds,
        round_started_at=started,
        refusals=kw.pop("refusals", 0),  # type: ignore[arg-type]
        numbers=tuple(
            NumberView(
                p,
                NumberState(states.get(p, "dialable")),
                dialed.get(p),
                (dialed[p],) if p in dialed else (),
            )
            for p in range(1, n + 1)
        ),
        round_results=dict(results or {}),
        **kw,  # type: ignore[arg-type]
    )


def run(
    c: ContactView,
    position: int,
    outcome: Outcome,
    now: datetime,
    *,
    policy: DialPolicy = POLICY,
    calendar: CallingCalendar = ALWAYS,
    **kw: object,
) -> Decision:
    return decide(c, position, outcome, now=now, policy=policy, calendar=calendar, **kw)  # type: ignore[arg-type]


# -- the first dial -----------------------------------------------------------------


def test_fresh_contact_starts_round_one_with_the_first_number() -> None:
    fresh = contact(rounds=0, started=None)
    step = plan_next(fresh, now=T0, policy=POLICY, calendar=ALWAYS)
    assert (step.position, step.at, step.new_round, step.is_appointment) == (1, T0, True, False)
    assert (step.rounds_started, step.round_started_at) == (1, T0)
    assert first_due(fresh, now=T0, policy=POLICY, calendar=ALWAYS) == (1, T0)


def test_first_dial_waits_for_the_window_and_not_before() -> None:
    fresh = contact(rounds=0, started=None)
    saturday = datetime(2026, 3, 7, 12, tzinfo=UTC)
    monday_9 = datetime(2026, 3, 9, 9, tzinfo=UTC)
    assert first_due(fresh, now=saturday, policy=POLICY, calendar=OFFICE) == (1, monday_9)
    later = replace(fresh, not_before=monday_9 + 2 * H)
    assert first_due(later, now=saturday, policy=POLICY, calendar=OFFICE) == (1, monday_9 + 2 * H)


def test_nothing_is_due_for_an_inactive_contact() -> None:
    for state in ("paused", "closed", "completed"):
        c = contact(rounds=0, started=None, state=state)
        assert first_due(c, now=T0, policy=POLICY, calendar=ALWAYS) is None
        assert plan_next(c, now=T0, policy=POLICY, calendar=ALWAYS).contact_state == state


def test_resumed_contact_goes_on_with_its_round() -> None:
    c = contact(results={1: O.busy}, dialed={1: T0})
    assert first_due(c, now=T0 + H, policy=POLICY, calendar=ALWAYS) == (2, T0 + H)
    # results of our own failures do not count as dialled
    c = contact(results={1: O.internal_failure}, dialed={1: T0})
    assert first_due(c, now=T0 + H, policy=POLICY, calendar=ALWAYS) == (1, T0 + 6 * H)


def test_a_round_opened_but_not_dialled_keeps_its_planned_start() -> None:
    c = contact(rounds=2, started=T0 + 6 * H, dialed={1: T0, 2: T0, 3: T0})
    assert first_due(c, now=T0 + H, policy=POLICY, calendar=ALWAYS) == (1, T0 + 6 * H)


# -- a round --------------------------------------------------------------------------


def test_the_round_dials_each_number_in_order() -> None:
    c = contact(dialed={1: T0})
    d = run(c, 1, O.no_answer, T0 + M, dialed_at=T0)
    assert (d.next_position, d.next_at, d.new_round, d.round_result) == (2, T0 + M, False, None)
    assert (d.counted, d.bucket, d.number_state, d.contact_state) == (
        True,
        Bucket.retryable,
        "dialable",
        "active",
    )


def test_the_last_number_ends_the_round_and_the_next_starts_after_min_spacing() -> None:
    c = contact(results={1: O.no_answer, 2: O.busy}, dialed={1: T0, 2: T0 + M, 3: T0 + 2 * M})
    d = run(c, 3, O.powered_off, T0 + 3 * M)
    assert d.round_result is O.busy
    assert (d.next_position, d.next_at, d.new_round) == (1, T0 + 6 * H, True)
    assert (d.rounds_started, d.round_started_at) == (2, T0 + 6 * H)


def test_round_spacing_holds_without_dial_times() -> None:
    # e.g. numbers re-enabled or replaced: min_spacing still separates round starts
    c = contact(2, results={1: O.busy, 2: O.busy})
    assert first_due(c, now=T0 + H, policy=POLICY, calendar=ALWAYS) == (1, T0 + 6 * H)


def test_number_spacing_holds_inside_a_round() -> None:
    # number 2 was dialled 2 h ago (previous round ran late): it waits for its own spacing
    c = contact(rounds=2, started=T0, dialed={1: T0, 2: T0 - 2 * H})
    d = run(c, 1, O.no_answer, T0 + M, dialed_at=T0)
    assert (d.next_position, d.next_at) == (2, T0 + 4 * H)


def test_max_rounds_closes_the_contact() -> None:
    c = contact(rounds=4, results={1: O.no_answer, 2: O.no_answer}, dialed={1: T0, 2: T0, 3: T0})
    d = run(c, 3, O.busy, T0 + M)
    assert (d.contact_state, d.closed_reason, d.round_result) == ("closed", "max_rounds", O.busy)
    assert d.next_position is None and d.next_at is None
    assert not d.new_round


def test_retry_after_is_a_floor_above_min_spacing() -> None:
    policy = DialPolicy(overrides={O.busy: Treatment(TreatmentKind.retry, 8 * H)})
    c = contact(1, dialed={1: T0})
    d = run(c, 1, O.busy, T0 + M, policy=policy, dialed_at=T0)
    assert (d.next_position, d.next_at, d.new_round) == (1, T0 + 8 * H, True)
    short = DialPolicy(overrides={O.busy: Treatment(TreatmentKind.retry, 2 * H)})
    assert run(c, 1, O.busy, T0 + M, policy=short, dialed_at=T0).next_at == T0 + 6 * H


def test_spacing_counts_from_the_result_without_dialed_at() -> None:
    d = run(contact(1, dialed={1: T0}), 1, O.no_answer, T0 + M)
    assert d.next_at == T0 + M + 6 * H


def test_open_hours_spacing() -> None:
    policy = DialPolicy(spacing="open_hours")
    friday_4pm = datetime(2026, 3, 6, 16, tzinfo=UTC)
    c = contact(1, started=friday_4pm, dialed={1: friday_4pm})
    d = run(c, 1, O.no_answer, friday_4pm + M, policy=policy, calendar=OFFICE, dialed_at=friday_4pm)
    assert d.next_at == datetime(2026, 3, 9, 14, tzinfo=UTC)  # 1 h Friday + 5 h Monday
    wall = run(c, 1, O.no_answer, friday_4pm + M, calendar=OFFICE, dialed_at=friday_4pm)
    assert wall.next_at == datetime(2026, 3, 9, 9, tzinfo=UTC)


def test_the_next_dial_is_pushed_into_the_window() -> None:
    c = contact(1, started=datetime(2026, 3, 2, 15, tzinfo=UTC))
    d = run(c, 1, O.no_answer, datetime(2026, 3, 2, 15, 1, tzinfo=UTC), calendar=OFFICE)
    assert d.next_at == datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert d.round_started_at == d.next_at


def test_the_dial_must_fit_the_ring_timeout() -> None:
    at = datetime(2026, 3, 2, 16, 59, 50, tzinfo=UTC)
    assert fit_window(at, calendar=OFFICE, tz=None, policy=POLICY) == datetime(
        2026, 3, 3, 9, tzinfo=UTC
    )


def test_nothing_due_once_the_calendar_ends() -> None:
    ending = replace(OFFICE, end=datetime(2026, 3, 2).date())
    d = run(
        contact(1), 1, O.no_answer, T0 + M, calendar=ending, policy=DialPolicy(min_spacing=9 * H)
    )
    assert (d.next_position, d.next_at, d.contact_state) == (None, None, "active")


# -- caps ----------------------------------------------------------------------------


def test_number_cap_pushes_the_dial() -> None:
    policy = DialPolicy(min_spacing=H, number_cap=RollingCap(2, 24 * H))
    c = contact(1, dialed={1: T0})
    c = replace(c, numbers=(replace(c.numbers[0], recent_dials=(T0 - 3 * H, T0)),))
    d = run(c, 1, O.no_answer, T0 + M, policy=policy, dialed_at=T0)
    assert d.next_at == T0 + 21 * H  # 2 dials in any 24 h: wait for T0 - 3 h to age out


def test_contact_cap_pushes_the_dial() -> None:
    policy = DialPolicy(contact_cap=RollingCap(2, 12 * H))
    c = replace(contact(dialed={1: T0}), recent_dials=(T0 - H,))
    d = run(c, 1, O.no_answer, T0 + M, policy=policy, dialed_at=T0)
    assert (d.next_position, d.next_at) == (2, T0 - H + 12 * H)


def test_rolling_cap_arithmetic() -> None:
    cap = RollingCap(3, 10 * H)
    assert cap.not_before([T0, T0 + H]) is None
    assert cap.not_before([T0 + 2 * H, T0, T0 + H]) == T0 + 10 * H
    assert cap.not_before([T0, T0 + H, T0 + 2 * H, T0 + 3 * H]) == T0 + 11 * H
    with pytest.raises(ValueError):
        RollingCap(0, H)


# -- numbers dropped -----------------------------------------------------------------


def test_vacant_number_is_dead_and_the_others_go_on() -> None:
    d = run(contact(), 1, O.vacant, T0 + M)
    assert (d.number_state, d.bucket, d.next_position, d.contact_state) == (
        "dead",
        Bucket.terminal_number,
        2,
        "active",
    )


def test_number_problems_exhaust_the_number() -> None:
    for outcome in (O.answering_machine, O.suspended, O.incoming_barred):
        assert run(contact(), 1, outcome, T0 + M).number_state == "exhausted"


def test_the_last_number_dropped_closes_the_contact() -> None:
    c = contact(2, states={1: "dead"}, results={1: O.vacant})
    d = run(c, 2, O.vacant, T0 + M)
    assert (d.contact_state, d.closed_reason, d.round_result) == ("closed", "no_numbers", O.vacant)


def test_numbers_only_barred_by_dnc_pause_the_contact() -> None:
    c = contact(2, states={1: "dnc"})
    d = run(c, 2, O.vacant, T0 + M)
    assert (d.contact_state, d.closed_reason, d.next_position) == ("paused", "dnc", None)
    paused = contact(2, rounds=0, started=None, states={1: "dnc", 2: "dnc"})
    step = plan_next(paused, now=T0, policy=POLICY, calendar=ALWAYS)
    assert step.contact_state == "paused"


# -- reached ----------------------------------------------------------------------------


@pytest.mark.parametrize("outcome", [O.answered, O.completed])
def test_reaching_the_person_completes_the_contact(outcome: Outcome) -> None:
    d = run(contact(results={1: O.busy}), 2, outcome, T0 + M)
    assert (d.contact_state, d.closed_reason, d.round_result, d.next_position) == (
        "completed",
        None,
        outcome,
        None,
    )
    assert d.bucket is Bucket.terminal_contact


def test_dnc_request_closes_and_asks_for_a_dnc_entry() -> None:
    d = run(contact(), 1, O.dnc_requested, T0 + M)
    assert (d.contact_state, d.closed_reason, d.add_dnc, d.number_state) == (
        "closed",
        "dnc_requested",
        True,
        "dnc",
    )


def test_refusals_count_and_the_third_closes() -> None:
    d = run(contact(refusals=1), 1, O.refused, T0 + M)
    assert (d.refusals, d.contact_state, d.next_position, d.bucket) == (
        2,
        "active",
        2,
        Bucket.retryable,
    )
    d = run(contact(refusals=2), 1, O.refused, T0 + M)
    assert (d.refusals, d.contact_state, d.closed_reason) == (3, "closed", "max_refusals")
    assert (d.treatment.kind, d.bucket) == (TreatmentKind.close, Bucket.terminal_contact)


def test_overrides_beat_the_defaults() -> None:
    policy = DialPolicy(
        overrides={
            O.answering_machine: Treatment(TreatmentKind.retry),
            O.no_answer: Treatment(TreatmentKind.pause),
            O.busy: Treatment(TreatmentKind.close),
        }
    )
    assert run(contact(), 1, O.answering_machine, T0, policy=policy).number_state == "dialable"
    d = run(contact(), 1, O.no_answer, T0, policy=policy)
    assert (d.contact_state, d.next_position, d.round_result) == ("paused", None, None)
    d = run(contact(), 1, O.busy, T0, policy=policy)
    assert (d.contact_state, d.closed_reason) == ("closed", "busy")


# -- our own failures ----------------------------------------------------------------


@pytest.mark.parametrize("outcome", [O.internal_failure, O.interrupted])
def test_our_failures_redial_the_same_number_in_the_same_round(outcome: Outcome) -> None:
    c = contact(results={1: O.no_answer}, dialed={1: T0, 2: T0 + M})
    d = run(c, 2, outcome, T0 + 2 * M, dialed_at=T0 + M)
    assert (d.next_position, d.next_at, d.new_round, d.round_result) == (
        2,
        T0 + M + 6 * H,
        False,
        None,
    )
    assert (d.counted, d.bucket, d.rounds_started) == (False, Bucket.not_counted, 1)


# -- appointments ----------------------------------------------------------------------


def test_callback_makes_an_appointment_exempt_from_spacing() -> None:
    c = contact(results={1: O.no_answer}, dialed={1: T0, 2: T0 + M})
    when = T0 + 30 * M
    d = run(c, 2, O.callback_requested, T0 + 2 * M, callback_at=when, dialed_at=T0 + M)
    assert (d.next_position, d.next_at, d.next_is_appointment, d.new_round) == (2, when, True, True)
    assert (d.round_result, d.rounds_started, d.round_started_at, d.appointment_at) == (
        O.callback_requested,
        1,
        when,
        when,
    )


def test_inconvenient_with_a_time_is_an_appointment_without_is_a_retry() -> None:
    when = T0 + 3 * H
    d = run(contact(), 1, O.inconvenient, T0 + M, callback_at=when)
    assert (d.next_at, d.next_is_appointment) == (when, True)
    d = run(contact(), 1, O.inconvenient, T0 + M)
    assert (d.next_position, d.next_is_appointment) == (2, False)


def test_appointment_outside_the_window_moves_to_the_next_opening() -> None:
    evening = datetime(2026, 3, 2, 20, tzinfo=UTC)
    d = run(contact(), 1, O.callback_requested, T0 + M, calendar=OFFICE, callback_at=evening)
    assert d.next_at == datetime(2026, 3, 3, 9, tzinfo=UTC)
    assert d.next_is_appointment


def test_appointment_in_the_past_is_due_now() -> None:
    d = run(contact(), 1, O.callback_requested, T0 + M, callback_at=T0 - H)
    assert d.next_at == T0 + M


def test_after_the_appointment_its_round_goes_on_with_the_other_numbers() -> None:
    when = T0 + 30 * M
    c = contact(
        rounds=1,
        started=when,
        dialed={1: T0 - 7 * H, 2: T0 + M, 3: T0 - 7 * H},
        appointment_at=when,
        appointment_position=2,
    )
    pending = plan_next(c, now=T0 + 5 * M, policy=POLICY, calendar=ALWAYS)
    assert (pending.position, pending.at, pending.is_appointment, pending.new_round) == (
        2,
        when,
        True,
        False,
    )
    d = run(c, 2, O.no_answer, when + M, dialed_at=when)
    assert (d.next_position, d.next_at, d.next_is_appointment, d.new_round) == (
        1,
        when + M,
        False,
        False,
    )
    assert d.appointment_at is None
    assert d.rounds_started == 1  # the appointment round did not count


def test_appointment_rounds_do_not_count_toward_max_rounds() -> None:
    c = contact(1, rounds=4, dialed={1: T0})
    d = run(c, 1, O.callback_requested, T0 + M, callback_at=T0 + H, dialed_at=T0)
    assert (d.next_at, d.contact_state, d.rounds_started) == (T0 + H, "active", 4)
    appointment = contact(1, rounds=4, started=T0 + H, dialed={1: T0 + H}, appointment_at=T0 + H)
    d = run(appointment, 1, O.no_answer, T0 + H + M, dialed_at=T0 + H)
    assert (d.contact_state, d.closed_reason) == ("closed", "max_rounds")


def test_appointment_failing_for_our_reasons_stays_an_appointment() -> None:
    c = contact(1, started=T0 + H, dialed={1: T0}, appointment_at=T0 + H)
    d = run(c, 1, O.internal_failure, T0 + H + M, dialed_at=T0 + H)
    assert (d.next_at, d.next_is_appointment, d.new_round) == (T0 + 7 * H, True, False)


# -- time zones and inputs -------------------------------------------------------------


def test_contact_time_zone_is_used_for_windows() -> None:
    shanghai_office = CallingCalendar("Asia/Shanghai", (Window(WORKDAYS, time(9), time(17)),))
    fresh = contact(rounds=0, started=None)
    due = first_due(fresh, now=T0, policy=POLICY, calendar=shanghai_office, tz="America/New_York")
    assert due == (1, datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("America/New_York")))


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        run(contact(), 1, O.busy, datetime(2026, 3, 2, 9))
    with pytest.raises(ValueError):
        run(contact(), 9, O.busy, T0)  # no such number


def test_a_late_result_for_a_closed_contact_changes_nothing() -> None:
    d = run(contact(state="closed"), 1, O.completed, T0)
    assert (d.contact_state, d.next_position, d.round_result) == ("closed", None, None)


def test_a_paused_contact_records_but_schedules_nothing() -> None:
    d = run(contact(state="paused"), 1, O.no_answer, T0)
    assert (d.contact_state, d.next_position) == ("paused", None)
    d = run(contact(state="paused"), 1, O.completed, T0)
    assert d.contact_state == "completed"


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        DialPolicy(max_rounds=0)
    with pytest.raises(ValueError):
        DialPolicy(spacing="sometimes")  # type: ignore[arg-type]
    assert DialPolicy().treatment_for(O.busy) == Treatment(TreatmentKind.retry)
    assert DialPolicy(overrides={"busy": Treatment(TreatmentKind.pause)}).treatment_for(  # type: ignore[dict-item]
        O.busy
    ) == Treatment(TreatmentKind.pause)


@pytest.mark.parametrize("outcome", [O.internal_failure, O.interrupted])
def test_our_failure_that_reached_nobody_is_due_after_retry_after_not_the_spacing(
    outcome: Outcome,
) -> None:
    c = contact(results={1: O.no_answer}, dialed={1: T0, 2: T0 + M})
    d = run(c, 2, outcome, T0 + 2 * M, dialed_at=T0 + M, retry_after=timedelta(seconds=30))
    assert (d.next_position, d.next_at, d.new_round, d.counted) == (
        2,
        T0 + 2 * M + timedelta(seconds=30),
        False,
        False,
    )


def test_retry_after_does_not_shorten_the_callees_outcomes() -> None:
    c = contact(results={1: O.no_answer}, dialed={1: T0, 2: T0 + M})
    soon = run(c, 2, O.busy, T0 + 2 * M, dialed_at=T0 + M, retry_after=timedelta(seconds=30))
    assert soon == run(c, 2, O.busy, T0 + 2 * M, dialed_at=T0 + M)
