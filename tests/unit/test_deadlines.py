"""domain.due's deadline rule: no dial starts at or after it; a missed one closes or pauses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialerd.domain.due import Missed, at_deadline, may_start
from dialerd.domain.policy import DialPolicy
from dialerd.domain.states import ClosedReason, ContactState, OnDeadline

DEADLINE = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])


def test_the_audit_cases() -> None:
    # dialled at 09:00 fine; at 15:00 (the next round) never, and the contact is missed
    assert may_start(DEADLINE, DEADLINE - timedelta(minutes=30))
    afternoon = DEADLINE + timedelta(hours=5, minutes=30)
    assert not may_start(DEADLINE, afternoon)
    assert at_deadline(DEADLINE, afternoon, OnDeadline.close) == Missed(
        ContactState.closed, ClosedReason.deadline_missed
    )
    # years late: never dialled
    assert at_deadline(datetime(2019, 1, 1, tzinfo=UTC), afternoon, OnDeadline.close) is not None


def test_the_deadline_instant_itself_is_too_late() -> None:
    assert not may_start(DEADLINE, DEADLINE)
    assert may_start(DEADLINE, DEADLINE - timedelta(microseconds=1))


def test_pause_keeps_the_contact_for_a_person() -> None:
    late = DEADLINE + timedelta(seconds=1)
    assert at_deadline(DEADLINE, late, OnDeadline.pause) == Missed(
        ContactState.paused, ClosedReason.deadline_missed
    )


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        may_start(datetime(2026, 1, 1), DEADLINE)
    with pytest.raises(ValueError, match="timezone-aware"):
        may_start(DEADLINE, datetime(2026, 1, 1))


def test_the_policy_defaults_to_close_and_reads_the_file_word() -> None:
    assert DialPolicy().on_deadline is OnDeadline.close
    assert DialPolicy(on_deadline="pause").on_deadline is OnDeadline.pause  # type: ignore[arg-type]


@given(instants, st.one_of(st.none(), instants), zones)
def test_a_dial_may_start_exactly_while_the_deadline_is_ahead(
    now: datetime, deadline: datetime | None, zone: timezone
) -> None:
    local = now.astimezone(zone)  # the same instant in any zone gives the same answer
    assert may_start(deadline, local) == (deadline is None or now < deadline)


@given(instants, instants, st.sampled_from(list(OnDeadline)))
def test_missed_is_final_and_its_state_follows_the_campaign(
    deadline: datetime, now: datetime, choice: OnDeadline
) -> None:
    missed = at_deadline(deadline, now, choice)
    assert (missed is None) == may_start(deadline, now)
    if missed is not None:
        assert missed.reason is ClosedReason.deadline_missed
        assert (
            missed.state
            is {
                OnDeadline.close: ContactState.closed,
                OnDeadline.pause: ContactState.paused,
            }[choice]
        )
        # once missed, always missed: time only moves on
        assert at_deadline(deadline, now + timedelta(days=1), choice) == missed


@given(instants, instants)
def test_no_deadline_is_never_missed(now: datetime, other: datetime) -> None:
    assert at_deadline(None, now, OnDeadline.close) is None
    assert at_deadline(None, max(now, other), OnDeadline.pause) is None
