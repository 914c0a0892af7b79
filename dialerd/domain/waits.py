"""Why a contact waits: its next step (from :func:`policy.plan_next`) and the bound that holds it.

The planner takes a contact's next dial time as the latest of its lower bounds
(now, ``min_spacing``, a treatment's ``after``, the rolling caps, ``not_before``,
a round's planned start, an appointment), pushed to where a dial fits a calling
window. :func:`explain` names those bounds for the step ``plan_next`` chose, so
``dialerd contact`` can say "next dial 2026-12-07 09:00 (window opens;
min_spacing 6h since 03:12)" without re-deriving anything. The step's own time
is always the one reported; the tests hold the bounds to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.outcomes import Group, info
from dialerd.domain.policy import DialPolicy, plan_next
from dialerd.domain.views import ContactState, ContactView, NumberView, Step


@dataclass(frozen=True, slots=True)
class Bound:
    """One lower bound of the next dial: ``kind`` (a campaign-file key or a contact field),
    the time it allows from, and what it counts from (``since``) and by how much."""

    # min_spacing | after | number_cap | contact_cap | not_before | round_start | appointment
    kind: str
    at: datetime
    since: datetime | None = None
    amount: str = ""


@dataclass(frozen=True, slots=True)
class Wait:
    """A contact's next step and why it is not sooner.

    ``step`` is ``plan_next``'s; ``binding`` the bounds equal to the latest one
    (empty when nothing holds the dial but the clock); ``window`` is True when the
    calling window pushed the dial past them. An idle step (no ``at``) carries the
    contact's state and ``closed_reason``.
    """

    step: Step
    bounds: tuple[Bound, ...]
    binding: tuple[Bound, ...]
    window: bool

    @property
    def at(self) -> datetime | None:
        return self.step.at

    def describe(self, tz: str, *, now: datetime, closed_reason: str | None = None) -> str:
        """``next dial 2026-12-07 09:00 (window opens; min_spacing 6h since 03:12)``, in ``tz``.

        ``closed_reason``: the contact's stored one, for a contact already idle.
        """
        step = self.step
        if step.at is None:
            if step.contact_state == ContactState.active:
                return "nothing due (no calling window left in the campaign's calendar)"
            idle_reason = step.closed_reason or closed_reason
            reason = f": {idle_reason}" if idle_reason else ""
            return f"no next dial: {step.contact_state}{reason}"
        zone = ZoneInfo(tz)
        today = now.astimezone(zone)
        why = ["window opens"] if self.window else []
        why += [_describe(b, zone, today) for b in self.binding]
        when = (
            "due now" if step.at <= now else f"next dial {step.at.astimezone(zone):%Y-%m-%d %H:%M}"
        )
        what = f", number {step.position}" + (", appointment" if step.is_appointment else "")
        what += ", new round" if step.new_round and not step.is_appointment else ""
        return f"{when}{what} ({'; '.join(why) or 'nothing holds it back'})"


def explain(
    contact: ContactView,
    *,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None = None,
) -> Wait:
    """The contact's next step (``plan_next``) and the bounds behind its time."""
    step = plan_next(contact, now=now, policy=policy, calendar=calendar, tz=tz)
    if step.at is None or step.position is None:
        return Wait(step, (), (), False)
    number = contact.number(step.position)
    bounds = _contact_bounds(contact, policy)
    if step.is_appointment:
        assert step.appointment_at is not None or contact.appointment_at is not None
        when = contact.appointment_at if contact.appointment_at is not None else step.at
        bounds += [Bound("appointment", when), *_cap_bounds(number, policy)]
    else:
        bounds += _number_bounds(number, policy, calendar, tz)
        bounds += _round_floor(contact, step, policy, calendar, tz)
    latest = max([now, *(b.at for b in bounds)])
    binding: list[Bound] = []
    for b in bounds:  # the round's spacing and the number's often count from the same dial
        if b.at == latest > now and all((b.kind, b.since) != (o.kind, o.since) for o in binding):
            binding.append(b)
    return Wait(step, tuple(bounds), tuple(binding), step.at > latest)


def _contact_bounds(contact: ContactView, policy: DialPolicy) -> list[Bound]:
    out = []
    if contact.not_before is not None:
        out.append(Bound("not_before", contact.not_before))
    cap = policy.contact_cap
    if cap is not None:
        capped = cap.not_before(contact.recent_dials)
        if capped is not None:
            out.append(
                Bound("contact_cap", capped, capped - cap.window, _cap(cap.count, cap.window))
            )
    return out


def _cap_bounds(number: NumberView, policy: DialPolicy) -> list[Bound]:
    cap = policy.number_cap
    capped = cap.not_before(number.recent_dials) if cap is not None else None
    if cap is None or capped is None:
        return []
    return [Bound("number_cap", capped, capped - cap.window, _cap(cap.count, cap.window))]


def _spaced(
    since: datetime, policy: DialPolicy, calendar: CallingCalendar, tz: str | None
) -> datetime:
    if policy.spacing == "open_hours":
        return calendar.add_open_time(since, policy.min_spacing, tz=tz)
    return since + policy.min_spacing


def _number_bounds(
    number: NumberView, policy: DialPolicy, calendar: CallingCalendar, tz: str | None
) -> list[Bound]:
    out = _cap_bounds(number, policy)
    last = number.last_dialed_at
    if last is not None:
        spacing = duration_text(policy.min_spacing)
        if policy.spacing == "open_hours":
            spacing += " of open hours"
        out.append(Bound("min_spacing", _spaced(last, policy, calendar, tz), last, spacing))
        if number.last_outcome is not None:
            delay = policy.treatment_for(number.last_outcome).after
            if delay is not None:
                amount = f"{number.last_outcome.value} {duration_text(delay)}"
                out.append(Bound("after", last + delay, last, amount))
    return out


def _round_floor(
    contact: ContactView,
    step: Step,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None,
) -> list[Bound]:
    """The round's own bound: spacing since the last round began, or a round's planned start."""
    started = contact.round_started_at
    if started is None:
        return []
    if step.new_round:
        at = _spaced(started, policy, calendar, tz)
        spacing = duration_text(policy.min_spacing)
        if policy.spacing == "open_hours":
            spacing += " of open hours"
        return [Bound("min_spacing", at, started, spacing)]
    done = {p for p, o in contact.round_results.items() if info(o).group is not Group.our_fault}
    return [] if done else [Bound("round_start", started)]


def _cap(count: int, window: timedelta) -> str:
    return f"{count} per {duration_text(window)}"


def duration_text(value: timedelta) -> str:
    """``6h``, ``1d12h``, ``90s`` → compact, as campaign files write durations."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def _describe(bound: Bound, zone: ZoneInfo, today: datetime) -> str:
    at = bound.at.astimezone(zone)
    if bound.kind == "appointment":
        return f"appointment at {_clock(at, today)}"
    if bound.kind == "not_before":
        return f"not before {_clock(at, today)}"
    if bound.kind == "round_start":
        return f"round planned for {_clock(at, today)}"
    since = f" since {_clock(bound.since.astimezone(zone), today)}" if bound.since else ""
    return f"{bound.kind} {bound.amount}{since}".replace("  ", " ")


def _clock(value: datetime, ref: datetime) -> str:
    """``03:12`` on the same local day as ``ref`` (today), else ``12-06 03:12``."""
    return f"{value:%H:%M}" if value.date() == ref.date() else f"{value:%m-%d %H:%M}"
