"""A validated campaign file → the pure domain objects the engine works with."""

from __future__ import annotations

from datetime import time

from dialerd.campaignfile.durations import parse_duration
from dialerd.campaignfile.fields import parse_clock, parse_days
from dialerd.campaignfile.models import CampaignFile
from dialerd.campaignfile.models import RollingCap as RollingCapModel
from dialerd.campaignfile.models import Window as WindowModel
from dialerd.domain.calendar import CallingCalendar, Window
from dialerd.domain.callerid import CallerIdRule, CallerIdRules
from dialerd.domain.outcomes import Outcome
from dialerd.domain.pacing import PacingConfig, PacingMode
from dialerd.domain.policy import DialPolicy, RollingCap
from dialerd.domain.states import OnDeadline
from dialerd.domain.treatments import Treatment, TreatmentKind
from dialerd.domain.workdays import RelativeTimes, parse_reminder, parse_working_days


def to_policy(model: CampaignFile) -> DialPolicy:
    """Rounds, spacing, caps and per-outcome treatment overrides."""
    dialing = model.dialing
    return DialPolicy(
        max_rounds=dialing.max_rounds,
        min_spacing=dialing.min_spacing,
        ring_timeout=dialing.ring_timeout,
        overrides={
            Outcome(code): Treatment(TreatmentKind(rule.treatment), rule.after)
            for code, rule in model.outcomes.items()
        },
        max_refusals=dialing.max_refusals,
        number_cap=_cap(dialing.number_cap),
        contact_cap=_cap(dialing.contact_cap),
        spacing=dialing.spacing,
        early_hangup_s=dialing.early_hangup.total_seconds(),
        on_deadline=OnDeadline(dialing.on_deadline),
    )


def _cap(cap: RollingCapModel | None) -> RollingCap | None:
    return None if cap is None else RollingCap(count=cap.count, window=cap.window)


def to_calendar(model: CampaignFile) -> CallingCalendar:
    """Windows, holidays and dates, in the campaign's time zone."""
    return CallingCalendar(
        timezone=model.timezone,
        windows=tuple(_window(w) for w in model.windows),
        holiday_country=model.holidays.country,
        closed=frozenset(model.holidays.closed),
        opened=frozenset(model.holidays.open),
        start=model.start,
        end=model.end,
    )


def _window(window: WindowModel) -> Window:
    return Window(days=parse_days(window.days), start=_clock(window.start), end=_clock(window.end))


def _clock(text: str) -> time:
    """``"09:30"`` → 09:30; ``"24:00"`` → 00:00, which the calendar reads as midnight."""
    hours, minutes = divmod(parse_clock(text) % 1440, 60)
    return time(hours, minutes)


def to_caller_id_rules(model: CampaignFile) -> CallerIdRules:
    """The default caller ID and channel, then the rules in the order written."""
    return CallerIdRules(
        default_caller_id=model.dialing.caller_id,
        default_channel=model.dialing.channel,
        rules=tuple(
            CallerIdRule(
                carrier=rule.carrier,
                prefix=rule.prefix,
                caller_id=rule.caller_id,
                channel=rule.channel,
            )
            for rule in model.caller_id_rules
        ),
    )


def to_relative_times(model: CampaignFile) -> RelativeTimes | None:
    """``[dialing] reminder`` / ``callback_within`` as working-day rules (None: neither set)."""
    dialing = model.dialing
    if dialing.reminder is None and dialing.callback_within is None:
        return None
    within = dialing.callback_within
    days = parse_working_days(within) if within is not None else None
    return RelativeTimes(
        reminder_days=parse_reminder(dialing.reminder) if dialing.reminder else None,
        within=parse_duration(within) if within is not None and days is None else None,
        within_days=days,
    )


def to_pacing(model: CampaignFile) -> PacingConfig:
    """``[pacing]`` as the pacer's config (its queue stays on the model)."""
    p = model.pacing
    return PacingConfig(
        mode=PacingMode(p.mode),
        ratio=p.ratio,
        max_abandon_rate=p.max_abandon_rate,
        abandon_after=p.abandon_after.total_seconds(),
    )
