"""Years whose official holidays and make-up days the installed ``holidays`` package lacks."""

from __future__ import annotations

from datetime import date, time

import holidays
import pytest

from dialerd.domain.calendar import (
    CallingCalendar,
    Window,
    unannounced_message,
    unannounced_years,
)

WEEKDAYS = (Window(frozenset(range(5)), time(9), time(17)),)


def cn(**kw: object) -> CallingCalendar:
    return CallingCalendar("Asia/Shanghai", WEEKDAYS, "CN", **kw)  # type: ignore[arg-type]


def last_cn_notice() -> int:
    """The last year with CN make-up days in the installed package (read, not assumed)."""
    return max(
        y
        for y in range(2020, 2041)
        if any(d.year == y for d in holidays.country_holidays("CN", years=y).weekend_workdays)
    )


def test_a_year_after_the_last_notice_is_named() -> None:
    after = last_cn_notice() + 1
    calendar = cn(start=date(after - 1, 11, 1), end=date(after, 3, 1))
    assert unannounced_years(calendar, today=date(after - 1, 11, 1)) == (after,)
    message = unannounced_message(calendar, (after,))
    assert str(after) in message and "holidays.open / holidays.closed" in message


def test_years_with_a_notice_give_no_warning() -> None:
    last = last_cn_notice()
    calendar = cn(start=date(last, 1, 1), end=date(last, 12, 31))
    assert unannounced_years(calendar, today=date(last, 1, 1)) == ()


def test_an_open_ended_campaign_looks_ahead_from_today() -> None:
    last = last_cn_notice()
    calendar = cn()
    assert unannounced_years(calendar, today=date(last, 12, 6), horizon_days=60) == (last + 1,)
    assert unannounced_years(calendar, today=date(last, 3, 1), horizon_days=60) == ()


def test_dates_given_by_hand_override_a_year() -> None:
    after = last_cn_notice() + 1
    calendar = cn(
        start=date(after, 1, 1), end=date(after, 6, 30), opened=frozenset({date(after, 2, 6)})
    )
    assert unannounced_years(calendar, today=date(after, 1, 1)) == ()


@pytest.mark.parametrize("country", [None, "US"])
def test_countries_without_make_up_days_never_warn(country: str | None) -> None:
    calendar = CallingCalendar(
        "UTC", WEEKDAYS, country, start=date(2030, 1, 1), end=date(2031, 1, 1)
    )
    assert unannounced_years(calendar, today=date(2030, 1, 1)) == ()
    assert unannounced_message(calendar, ()) == ""
