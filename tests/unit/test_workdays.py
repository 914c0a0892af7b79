"""Working-day arithmetic on the campaign calendar (seed 001's 48 h / 72 h / 3 working days)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.domain.calendar import CallingCalendar, Window
from dialerd.domain.workdays import (
    RelativeTimes,
    is_working_day,
    parse_reminder,
    parse_working_days,
    shift_working_days,
)

SHANGHAI = "Asia/Shanghai"
CN = CallingCalendar(SHANGHAI, (Window(frozenset(range(5)), time(9), time(17)),), "CN")
days = st.dates(date(2026, 1, 1), date(2026, 12, 20))


def test_make_up_saturday_counts_and_the_spring_festival_does_not() -> None:
    assert is_working_day(CN, date(2026, 2, 14))  # a make-up Saturday (调休上班)
    assert not is_working_day(CN, date(2026, 2, 17))  # Spring Festival
    # Before Monday 2026-02-16 (a holiday): Sat 02-14 (make-up), Fri 02-13, Thu 02-12
    assert shift_working_days(CN, date(2026, 2, 16), -3) == date(2026, 2, 12)


@settings(max_examples=200, deadline=None)
@given(day=days, n=st.integers(1, 15))
def test_shifting_lands_on_working_days_and_counts_them(day: date, n: int) -> None:
    after = shift_working_days(CN, day, n)
    before = shift_working_days(CN, day, -n)
    assert after is not None and before is not None
    assert is_working_day(CN, after) and is_working_day(CN, before)
    span = [day + timedelta(days=i) for i in range(1, (after - day).days + 1)]
    assert sum(is_working_day(CN, d) for d in span) == n
    span = [before + timedelta(days=i) for i in range((day - before).days)]
    assert sum(is_working_day(CN, d) for d in span) == n


@settings(max_examples=100, deadline=None)
@given(day=days, n=st.integers(1, 10))
def test_back_and_forth_returns_to_a_working_day(day: date, n: int) -> None:
    later = shift_working_days(CN, day, n)
    assert later is not None
    back = shift_working_days(CN, later, -n)
    assert (back is not None and back <= day) or not is_working_day(CN, day)
    if is_working_day(CN, day):
        assert back == day


def test_zero_is_the_day_itself_or_the_next_working_day() -> None:
    assert shift_working_days(CN, date(2026, 11, 23), 0) == date(2026, 11, 23)
    assert shift_working_days(CN, date(2026, 11, 21), 0) == date(2026, 11, 23)


def test_reminder_starts_at_local_midnight_of_the_working_day() -> None:
    rules = RelativeTimes(reminder_days=3)
    at = rules.not_before(CN, date(2026, 11, 27), SHANGHAI)  # due Friday
    assert at == datetime(2026, 11, 24, tzinfo=ZoneInfo(SHANGHAI))  # Tuesday


def test_deadlines_fixed_and_in_working_days() -> None:
    event = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)  # Friday 16:00 in Shanghai
    assert RelativeTimes(within=timedelta(hours=72)).deadline(CN, event, SHANGHAI) == (
        event + timedelta(hours=72)
    )
    # 2 working days after Friday: Tuesday, closing at 17:00 Shanghai (09:00 UTC)
    two = RelativeTimes(within_days=2).deadline(CN, event, SHANGHAI)
    assert two == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "n"), [("3 working days before due", 3), ("1 Working Day before due", 1)]
)
def test_reminder_text(text: str, n: int) -> None:
    assert parse_reminder(text) == n


def test_bad_texts() -> None:
    with pytest.raises(ValueError, match="N working days before due"):
        parse_reminder("3 days before")
    assert parse_working_days("2 working days") == 2
    assert parse_working_days("72h") is None
