"""The calling calendar: windows, holidays and make-up days, DST, open-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialerd.domain.calendar import WORKDAYS, CallingCalendar, Window

NY = "America/New_York"
SH = "Asia/Shanghai"
NYZ, SHZ = ZoneInfo(NY), ZoneInfo(SH)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def cal(tz: str = NY, *windows: Window, **kw: object) -> CallingCalendar:
    windows = windows or (Window(WORKDAYS, time(9), time(17)),)
    return CallingCalendar(tz, tuple(windows), **kw)  # type: ignore[arg-type]


def every_day(start: time, end: time) -> Window:
    return Window(frozenset(range(7)), start, end)


def local(
    zone: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone, fold=fold)


def spans(c: CallingCalendar, day: date) -> list[tuple[datetime, datetime]]:
    return list(c.intervals(day))


# -- windows and days ---------------------------------------------------------------


def test_weekday_window() -> None:
    c = cal()
    monday = local(NYZ, 2026, 3, 2, 9)
    assert c.is_open(monday)
    assert not c.is_open(monday - M)
    assert c.is_open(local(NYZ, 2026, 3, 2, 16, 59))
    assert not c.is_open(local(NYZ, 2026, 3, 2, 17))
    assert not c.is_open(local(NYZ, 2026, 3, 7, 12))  # Saturday


def test_duration_must_fit_inside_the_window() -> None:
    c = cal()
    assert c.is_open(local(NYZ, 2026, 3, 2, 16, 59, 30), duration=timedelta(seconds=30))
    assert not c.is_open(local(NYZ, 2026, 3, 2, 16, 59, 31), duration=timedelta(seconds=30))
    late = local(NYZ, 2026, 3, 2, 16, 59, 45)
    assert c.next_open(late, duration=timedelta(seconds=30)) == local(NYZ, 2026, 3, 3, 9)


def test_next_open() -> None:
    c = cal()
    friday_evening = local(NYZ, 2026, 3, 6, 18)
    assert c.next_open(friday_evening) == local(NYZ, 2026, 3, 9, 9)
    inside = local(NYZ, 2026, 3, 9, 10, 15)
    assert c.next_open(inside) == inside
    assert c.next_open(inside).tzinfo is UTC  # type: ignore[union-attr]


def test_several_windows_a_day_and_midnight_end() -> None:
    c = cal(NY, Window(WORKDAYS, time(9), time(12)), Window(WORKDAYS, time(14), time(0)))
    assert c.next_open(local(NYZ, 2026, 3, 2, 12, 30)) == local(NYZ, 2026, 3, 2, 14)
    assert c.is_open(local(NYZ, 2026, 3, 2, 23, 59))
    assert not c.is_open(local(NYZ, 2026, 3, 3, 0))  # 24:00 ends the window
    assert c.open_time_between(local(NYZ, 2026, 3, 2), local(NYZ, 2026, 3, 3)) == 13 * H


def test_overlapping_windows_merge() -> None:
    c = cal(NY, Window(WORKDAYS, time(9), time(12)), Window(frozenset({0}), time(11), time(13)))
    assert spans(c, date(2026, 3, 2)) == [(local(NYZ, 2026, 3, 2, 9), local(NYZ, 2026, 3, 2, 13))]


def test_contact_time_zone_overrides_the_calendars() -> None:
    c = cal(SH)  # 09:00-17:00 Shanghai, but this contact lives in New York
    at = local(NYZ, 2026, 3, 2, 10)
    assert c.is_open(at, tz=NY)
    assert not c.is_open(at)  # 23:00 in Shanghai
    assert c.next_open(local(NYZ, 2026, 3, 2, 8), tz=NY) == local(NYZ, 2026, 3, 2, 9)


def test_start_end_closed_opened_dates() -> None:
    c = cal(
        start=date(2026, 3, 3),
        end=date(2026, 3, 13),
        closed=frozenset({date(2026, 3, 4)}),
        opened=frozenset({date(2026, 3, 7)}),
    )
    assert not c.is_open(local(NYZ, 2026, 3, 2, 10))  # before start
    assert c.is_open(local(NYZ, 2026, 3, 3, 10))
    assert not c.is_open(local(NYZ, 2026, 3, 4, 10))  # closed
    assert c.is_open(local(NYZ, 2026, 3, 7, 10))  # an opened Saturday
    assert c.next_open(local(NYZ, 2026, 3, 13, 18)) is None  # the campaign has ended
    assert c.next_open(local(NYZ, 2026, 3, 1)) == local(NYZ, 2026, 3, 3, 9)


def test_a_calendar_that_never_opens() -> None:
    assert cal(NY, end=None, closed=frozenset()).next_open(local(NYZ, 2026, 1, 1)) is not None
    never = cal(NY, Window(frozenset({0}), time(9), time(10)), start=date(2030, 1, 1))
    assert never.next_open(local(NYZ, 2026, 1, 1)) is None  # beyond the look-ahead


def test_validation() -> None:
    with pytest.raises(ValueError):
        Window(frozenset({7}), time(9), time(17))
    with pytest.raises(ValueError):
        Window(WORKDAYS, time(17), time(9))
    with pytest.raises(ValueError):
        cal("Mars/Olympus_Mons")
    with pytest.raises(ValueError):
        cal(holiday_country="XX")
    with pytest.raises(ValueError):
        cal().is_open(datetime(2026, 3, 2, 10))  # naive


# -- holidays -------------------------------------------------------------------------


def test_china_make_up_saturdays_open_and_golden_week_closes() -> None:
    c = cal(SH, holiday_country="CN")
    for saturday in (date(2026, 2, 14), date(2026, 2, 28), date(2026, 9, 20)):
        assert c.is_open(local(SHZ, saturday.year, saturday.month, saturday.day, 10)), saturday
    for day_off in (date(2026, 2, 16), date(2026, 2, 20), date(2026, 10, 5), date(2026, 10, 7)):
        assert not c.is_open(local(SHZ, day_off.year, day_off.month, day_off.day, 10)), day_off
    # Friday before the Spring Festival: the next open instant is the make-up Saturday.
    assert c.next_open(local(SHZ, 2026, 2, 13, 18)) == local(SHZ, 2026, 2, 14, 9)
    # After National Day week the make-up Saturday 10-10 opens, then Monday 10-12.
    assert c.next_open(local(SHZ, 2026, 9, 30, 18)) == local(SHZ, 2026, 10, 8, 9)
    assert c.next_open(local(SHZ, 2026, 10, 9, 18)) == local(SHZ, 2026, 10, 10, 9)


def test_make_up_day_takes_the_working_day_windows() -> None:
    c = cal(
        SH,
        Window(WORKDAYS, time(9), time(17)),
        Window(frozenset({5}), time(10), time(12)),  # short Saturdays
        holiday_country="CN",
    )
    assert c.windows_on(date(2026, 2, 14)) == (Window(WORKDAYS, time(9), time(17)),)
    assert c.windows_on(date(2026, 3, 7)) == (Window(frozenset({5}), time(10), time(12)),)


def test_an_ordinary_saturday_stays_closed_in_china() -> None:
    assert not cal(SH, holiday_country="CN").is_open(local(SHZ, 2026, 3, 7, 10))


def test_us_holidays_with_subdivision() -> None:
    c = cal(NY, holiday_country="US-NY")
    assert not c.is_open(local(NYZ, 2026, 7, 3, 10))  # Independence Day observed (Friday)
    assert not c.is_open(local(NYZ, 2026, 2, 12, 10))  # Lincoln's Birthday, a NY holiday
    assert cal(NY, holiday_country="US").is_open(local(NYZ, 2026, 2, 12, 10))


def test_opened_beats_a_holiday_and_closed_beats_everything() -> None:
    c = cal(SH, holiday_country="CN", opened=frozenset({date(2026, 10, 5)}))
    assert c.is_open(local(SHZ, 2026, 10, 5, 10))
    c = cal(SH, holiday_country="CN", closed=frozenset({date(2026, 2, 14)}))
    assert not c.is_open(local(SHZ, 2026, 2, 14, 10))


# -- DST (America/New_York) -------------------------------------------------------------


def test_spring_forward_day() -> None:
    day = date(2026, 3, 8)  # 02:00 EST -> 03:00 EDT
    assert spans(cal(NY, every_day(time(9), time(17))), day) == [
        (datetime(2026, 3, 8, 13, tzinfo=UTC), datetime(2026, 3, 8, 21, tzinfo=UTC))
    ]
    [(start, end)] = spans(cal(NY, every_day(time(0), time(6))), day)
    assert end - start == 5 * H
    # a window starting in the skipped hour opens at the jump
    [(start, end)] = spans(cal(NY, every_day(time(2, 30), time(4))), day)
    assert start == datetime(2026, 3, 8, 7, tzinfo=UTC) == local(NYZ, 2026, 3, 8, 3)
    assert end - start == H
    # a window lying wholly in the skipped hour does not happen that day
    assert spans(cal(NY, every_day(time(2), time(2, 45))), day) == []
    assert len(spans(cal(NY, every_day(time(2), time(2, 45))), date(2026, 3, 9))) == 1


def test_fall_back_day() -> None:
    day = date(2026, 11, 1)  # 02:00 EDT -> 01:00 EST: 01:00-02:00 happens twice
    [(start, end)] = spans(cal(NY, every_day(time(9), time(17))), day)
    assert (start, end - start) == (datetime(2026, 11, 1, 14, tzinfo=UTC), 8 * H)
    [(start, end)] = spans(cal(NY, every_day(time(0), time(6))), day)
    assert end - start == 7 * H
    # a repeated wall time means its first occurrence, at both ends
    [(start, end)] = spans(cal(NY, every_day(time(1, 30), time(2, 30))), day)
    # (aware datetimes in a fold never compare equal across zones: compare in UTC)
    assert start == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    assert end == datetime(2026, 11, 1, 7, 30, tzinfo=UTC)  # 02:30 EST
    [(start, end)] = spans(cal(NY, every_day(time(0), time(1, 30))), day)
    assert end == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)
    c = cal(NY, every_day(time(0), time(1, 30)))
    assert c.is_open(local(NYZ, 2026, 11, 1, 1, 15, fold=0))
    assert not c.is_open(local(NYZ, 2026, 11, 1, 1, 15, fold=1))


def test_next_open_across_the_dst_weekend() -> None:
    c = cal()
    assert c.next_open(local(NYZ, 2026, 3, 6, 17)) == datetime(2026, 3, 9, 13, tzinfo=UTC)
    assert c.next_open(local(NYZ, 2026, 10, 30, 17)) == datetime(2026, 11, 2, 14, tzinfo=UTC)


# -- open-time arithmetic -------------------------------------------------------------


def test_add_open_time_skips_closed_time() -> None:
    c = cal()
    friday_4pm = local(NYZ, 2026, 3, 6, 16)
    assert c.add_open_time(friday_4pm, 6 * H) == local(NYZ, 2026, 3, 9, 14)
    assert c.add_open_time(friday_4pm, H) == local(NYZ, 2026, 3, 6, 17)
    assert c.add_open_time(local(NYZ, 2026, 3, 7, 3), 2 * H) == local(NYZ, 2026, 3, 9, 11)
    assert c.add_open_time(friday_4pm, timedelta(0)) == friday_4pm


def test_add_open_time_past_the_end() -> None:
    c = cal(end=date(2026, 3, 6))
    later = c.add_open_time(local(NYZ, 2026, 3, 6, 16), 6 * H)
    assert c.next_open(later) is None


def test_open_time_between() -> None:
    c = cal()
    a, b = local(NYZ, 2026, 3, 6, 16), local(NYZ, 2026, 3, 9, 14)
    assert c.open_time_between(a, b) == 6 * H
    assert c.open_time_between(b, a) == timedelta(0)
    # a whole week around spring-forward: five 8-hour days
    assert c.open_time_between(local(NYZ, 2026, 3, 7), local(NYZ, 2026, 3, 14)) == 40 * H


@pytest.mark.parametrize("hours", [1, 6, 8, 9, 30])
def test_add_and_between_agree(hours: int) -> None:
    c = cal(holiday_country="US")
    start = local(NYZ, 2026, 10, 30, 15, 20)
    end = c.add_open_time(start, hours * H)
    assert c.open_time_between(start, end) == hours * H
