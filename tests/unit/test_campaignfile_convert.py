"""A campaign file becomes the domain's DialPolicy, CallingCalendar and CallerIdRules."""

from __future__ import annotations

from datetime import date, time, timedelta

from dialerd.campaignfile.convert import to_calendar, to_caller_id_rules, to_policy
from dialerd.campaignfile.loader import parse_text
from dialerd.campaignfile.models import CampaignFile
from dialerd.domain.calendar import Window
from dialerd.domain.outcomes import Outcome
from dialerd.domain.policy import RollingCap
from dialerd.domain.states import OnDeadline
from dialerd.domain.treatments import Treatment, TreatmentKind
from tests.unit.test_campaignfile import BASE, PATH, edit


def model(text: str = BASE) -> CampaignFile:
    parsed, problems = parse_text(text, PATH)
    assert parsed is not None, problems
    return parsed


def test_policy() -> None:
    text = edit(
        "record = true",
        'record = true\non_deadline = "pause"\nspacing = "open_hours"\nearly_hangup = "3s"\n'
        "max_refusals = 2\n"
        'number_cap = { count = 3, window = "24h" }',
    )
    policy = to_policy(model(text))
    assert policy.max_rounds == 4
    assert policy.min_spacing == timedelta(hours=6)
    assert policy.ring_timeout == timedelta(seconds=30)
    assert policy.spacing == "open_hours"
    assert policy.early_hangup_s == 3.0
    assert policy.max_refusals == 2
    assert policy.number_cap == RollingCap(count=3, window=timedelta(hours=24))
    assert policy.contact_cap is None
    assert policy.on_deadline is OnDeadline.pause
    assert to_policy(model()).on_deadline is OnDeadline.close  # the default
    assert dict(policy.overrides) == {
        Outcome.busy: Treatment(TreatmentKind.retry, timedelta(hours=6)),
        Outcome.answering_machine: Treatment(TreatmentKind.drop_number),
    }


def test_calendar() -> None:
    calendar = to_calendar(model(edit('end = "17:00"', 'end = "24:00"')))
    assert calendar.timezone == "Asia/Shanghai"
    assert calendar.windows == (Window(frozenset(range(5)), time(9), time(0)),)
    assert calendar.holiday_country == "CN"
    assert calendar.closed == frozenset({date(2026, 12, 31)})
    assert (calendar.start, calendar.end) == (date(2026, 11, 23), date(2026, 12, 31))
    assert calendar.windows_on(date(2026, 11, 23))  # a Monday
    assert calendar.windows_on(date(2026, 11, 28)) == ()  # a Saturday
    assert calendar.windows_on(date(2026, 12, 31)) == ()  # closed


def test_caller_ids() -> None:
    rules = to_caller_id_rules(model())
    assert rules.choose("+8613800138000", "China Mobile") == ("13900000001", "PJSIP/{number}@cmcc")
    assert rules.choose("+8613000000000", "China Unicom") == (
        "4006589888",
        "PJSIP/{number}@carrier",
    )
    assert rules.choose("+861062345678", None) == ("4006589888", "PJSIP/{number}@carrier")
