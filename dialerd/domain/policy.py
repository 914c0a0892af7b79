"""The dialing policy and the decision after each result: what is dialled next, and when.

Rules (domain.md §1–§4; docs/outcomes.md has them for people):

* A *round* dials each dialable number of the contact once, in position order,
  one at a time: the next number is due right after the previous result, subject
  to its own spacing, the caps and the calling window. At most ``max_rounds``
  rounds; then the contact is closed (``max_rounds``).
* ``min_spacing`` is a floor between two round starts and between two dials of one
  number (in ``spacing="open_hours"`` mode it counts only open calling time).
  A ``retry`` with ``after`` also waits that long after the number's last dial.
  Appointments are the only exception to the spacing.
* Rolling caps (``number_cap``, ``contact_cap``) push a dial until it keeps at most
  ``count`` dials in any ``window``; they apply to appointments too.
* An appointment (``callback`` treatment with a time) dials the same number at that
  time, pushed to the next open window when outside one. It ends the current round
  and opens a new one that does not count toward ``max_rounds``; after the
  appointment's dial, that round goes on with the contact's other numbers.
* ``drop_number`` makes the number ``dead`` (vacant) or ``exhausted`` (any other
  outcome); the contact's other numbers go on. With no dialable number left the
  contact is closed (``no_numbers``), or paused when one of its numbers is only
  barred by DNC (domain.md §3).
* Our own failures (``internal_failure``, ``interrupted``) are not counted: the same
  number is due again, in the same round, once its spacing allows.
* ``refused`` counts refusals; the ``max_refusals``-th closes the contact.
  ``dnc_requested`` marks the number ``dnc`` and asks for a DNC entry.
* Nothing is ever due for a contact that is not active.

The engine builds the views from its rows, calls :func:`decide` after each result
(or :func:`plan_next` / :func:`first_due` for a contact with nothing scheduled) and
writes back the fields of the answer. No I/O here; ``now`` is always an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.outcomes import Bucket, Group, Outcome, info
from dialerd.domain.planner import Planner
from dialerd.domain.rounds import round_result
from dialerd.domain.treatments import CLOSE, Treatment, TreatmentKind, bucket_of
from dialerd.domain.views import (
    MAX_REFUSALS,
    MAX_ROUNDS,
    NO_NUMBERS,
    ContactState,
    ContactView,
    Decision,
    NumberState,
    NumberView,
    Step,
)

__all__ = [
    "MAX_REFUSALS",
    "MAX_ROUNDS",
    "NO_NUMBERS",
    "ContactState",
    "ContactView",
    "Decision",
    "DialPolicy",
    "NumberState",
    "NumberView",
    "RollingCap",
    "Step",
    "decide",
    "first_due",
    "fit_window",
    "plan_next",
]


@dataclass(frozen=True, slots=True)
class RollingCap:
    """At most ``count`` dials in any span of ``window`` (wall-clock time)."""

    count: int
    window: timedelta

    def __post_init__(self) -> None:
        if self.count < 1 or self.window <= timedelta(0):
            raise ValueError("a rolling cap needs count >= 1 and a positive window")

    def not_before(self, dials: Iterable[datetime]) -> datetime | None:
        """The earliest time a new dial keeps the cap, given the earlier dials (None: any time)."""
        ordered = sorted(dials)
        if len(ordered) < self.count:
            return None
        # The new dial at t sees the dials in (t - window, t]: fewer than `count` of them.
        return ordered[len(ordered) - self.count] + self.window


@dataclass(frozen=True)
class DialPolicy:
    """A campaign's dialing rules; defaults are dialerd's (domain.md §1–§3)."""

    max_rounds: int = 4
    min_spacing: timedelta = timedelta(hours=6)
    ring_timeout: timedelta = timedelta(seconds=30)
    overrides: Mapping[Outcome, Treatment] = field(default_factory=dict)
    max_refusals: int = 3
    number_cap: RollingCap | None = None
    contact_cap: RollingCap | None = None
    spacing: Literal["wall", "open_hours"] = "wall"
    early_hangup_s: float = 5.0

    def __post_init__(self) -> None:
        if self.max_rounds < 1 or self.max_refusals < 1:
            raise ValueError("max_rounds and max_refusals must be at least 1")
        if self.min_spacing < timedelta(0) or self.ring_timeout <= timedelta(0):
            raise ValueError("min_spacing must be >= 0 and ring_timeout > 0")
        if self.spacing not in ("wall", "open_hours"):
            raise ValueError(f"spacing must be 'wall' or 'open_hours', not {self.spacing!r}")
        object.__setattr__(
            self, "overrides", MappingProxyType({Outcome(k): v for k, v in self.overrides.items()})
        )

    def treatment_for(self, outcome: Outcome) -> Treatment:
        """The campaign's override for this outcome, else the outcome's default."""
        return self.overrides.get(outcome) or info(outcome).default_treatment


def fit_window(
    at: datetime, *, calendar: CallingCalendar, tz: str | None, policy: DialPolicy
) -> datetime | None:
    """``at``, or the next instant after it where a dial of ``ring_timeout`` fits a window."""
    return calendar.next_open(at, tz=tz, duration=policy.ring_timeout)


def first_due(
    contact: ContactView,
    *,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None = None,
) -> tuple[int, datetime] | None:
    """(position, when) of the next dial of a contact that has nothing scheduled, or None.

    For a fresh import, a resumed contact or a re-enabled number. :func:`plan_next`
    says the same with the round bookkeeping (a new round to record? the contact
    to close?), which the engine needs when this returns None.
    """
    step = plan_next(contact, now=now, policy=policy, calendar=calendar, tz=tz)
    if step.position is None or step.at is None:
        return None
    return step.position, step.at


def plan_next(
    contact: ContactView,
    *,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None = None,
) -> Step:
    """The next step of a contact, from its stored state alone."""
    _aware(now, "now")
    plan = Planner(contact, now, policy, calendar, tz)
    return plan.next_step()


def decide(
    contact: ContactView,
    position: int,
    outcome: Outcome,
    *,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar,
    tz: str | None = None,
    callback_at: datetime | None = None,
    dialed_at: datetime | None = None,
) -> Decision:
    """The decision after the result ``outcome`` of the dial of ``position``.

    ``now`` is when the result came; ``dialed_at`` when that dial started (default
    ``now``): spacing counts from it. The views may or may not already list that
    dial (``last_dialed_at``, ``recent_dials``); pass ``dialed_at`` so it counts once.
    """
    _aware(now, "now")
    if callback_at is not None:
        _aware(callback_at, "callback_at")
    outcome = Outcome(outcome)
    number = contact.number(position)
    group = info(outcome).group
    our_fault = group is Group.our_fault
    treatment = policy.treatment_for(outcome)
    refusals = contact.refusals + (outcome is Outcome.refused)
    closed_reason: str | None = None
    if outcome is Outcome.refused and refusals >= policy.max_refusals:
        treatment, closed_reason = CLOSE, MAX_REFUSALS
    bucket = bucket_of(outcome, treatment)
    add_dnc = outcome is Outcome.dnc_requested

    number_state = number.state
    if add_dnc:
        number_state = NumberState.dnc
    elif treatment.kind is TreatmentKind.drop_number:
        number_state = NumberState.dead if group is Group.dead_number else NumberState.exhausted

    when = dialed_at or now
    _aware(when, "dialed_at")
    dialled = replace(
        number,
        state=number_state,
        last_dialed_at=max(number.last_dialed_at or when, when),
        recent_dials=_with(number.recent_dials, when),
        last_outcome=outcome,
    )
    results = dict(contact.round_results)
    if not our_fault:
        results[position] = outcome
    is_appointment = contact.appointment_at is not None and (
        contact.appointment_position in (None, position)
    )
    after = replace(
        contact,
        numbers=tuple(dialled if n.position == position else n for n in contact.numbers),
        refusals=refusals,
        round_results=MappingProxyType(results),
        recent_dials=_with(contact.recent_dials, when),
        appointment_at=None if is_appointment else contact.appointment_at,
        appointment_position=None if is_appointment else contact.appointment_position,
    )

    def decision(step: Step, *, ends_round: bool) -> Decision:
        return Decision(
            outcome=outcome,
            treatment=treatment,
            bucket=bucket,
            counted=bucket is not Bucket.not_counted,
            number_state=number_state,
            contact_state=step.contact_state,
            closed_reason=step.closed_reason,
            refusals=refusals,
            round_result=round_result(results.values()) if ends_round else None,
            next_position=step.position,
            next_at=step.at,
            next_is_appointment=step.is_appointment,
            new_round=step.new_round,
            add_dnc=add_dnc,
            rounds_started=step.rounds_started,
            round_started_at=step.round_started_at,
            appointment_at=step.appointment_at,
        )

    plan = Planner(after, now, policy, calendar, tz)
    kind = treatment.kind
    if contact.state in (ContactState.completed, ContactState.closed):
        return decision(plan.idle(contact.state), ends_round=False)  # a late result: record only
    if kind is TreatmentKind.complete:
        return decision(plan.idle(ContactState.completed), ends_round=True)
    if kind is TreatmentKind.close:
        reason = closed_reason or outcome.value
        return decision(plan.idle(ContactState.closed, reason), ends_round=True)
    if kind is TreatmentKind.pause:
        return decision(plan.idle(ContactState.paused), ends_round=False)
    if contact.state != ContactState.active:
        return decision(plan.idle(contact.state), ends_round=False)

    retrying = kind in (TreatmentKind.retry, TreatmentKind.callback)
    if retrying and number_state == NumberState.dialable:
        if our_fault:  # not counted: the same number again, same round, once spacing allows
            return decision(plan.redial(dialled, keep_appointment=is_appointment), ends_round=False)
        if kind is TreatmentKind.callback and callback_at is not None:
            step = plan.appointment(dialled, callback_at)
            if step.at is not None:
                return decision(step, ends_round=True)

    step = plan.next_step()
    ends = step.new_round or step.contact_state in (ContactState.closed, ContactState.completed)
    return decision(step, ends_round=ends)


def _with(dials: tuple[datetime, ...], when: datetime) -> tuple[datetime, ...]:
    return dials if when in dials else (*dials, when)


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")
