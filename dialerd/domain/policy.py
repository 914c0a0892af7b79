"""The dialing policy and the decision after each result: what is dialled next, and when.

Rules (docs/rulebook.md §1–§4; docs/outcomes.md has them for people):

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
  barred by DNC (docs/rulebook.md §3).
* Our own failures (``internal_failure``, ``interrupted``) are not counted: the same
  number is due again, in the same round, once its spacing allows; a dial that
  reached no callee (the PBX refused or dropped it while shutting down or
  overloaded: ``retry_after``) is due again after that short delay instead.
* ``refused`` counts refusals; the ``max_refusals``-th closes the contact.
  ``dnc_requested`` marks the number ``dnc`` and asks for a DNC entry.
* Nothing is ever due for a contact that is not active.
* No dial starts at or after a contact's deadline (:func:`~dialerd.domain.due.may_start`);
  a contact whose deadline passed unreached is closed, or paused, by ``on_deadline``
  (:func:`~dialerd.domain.due.at_deadline`), with the reason ``deadline_missed``.

The engine builds the views from its rows, calls :func:`decide` after each result
(or :func:`~dialerd.domain.due.plan_next` for a contact with nothing scheduled) and
writes back the fields of the answer; :mod:`dialerd.domain.due` owns the timing.
No I/O here; ``now`` is always an argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Literal

from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.due import Due, Planner, aware, first_due, fit_window, plan_next
from dialerd.domain.outcomes import Bucket, Group, Outcome, info
from dialerd.domain.rounds import round_result
from dialerd.domain.states import OnDeadline
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
    "Due",
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
    """A campaign's dialing rules; defaults are dialerd's (docs/rulebook.md §1–§3)."""

    max_rounds: int = 4
    min_spacing: timedelta = timedelta(hours=6)
    ring_timeout: timedelta = timedelta(seconds=30)
    overrides: Mapping[Outcome, Treatment] = field(default_factory=dict)
    max_refusals: int = 3
    number_cap: RollingCap | None = None
    contact_cap: RollingCap | None = None
    spacing: Literal["wall", "open_hours"] = "wall"
    early_hangup_s: float = 5.0
    on_deadline: OnDeadline = OnDeadline.close  # a contact whose deadline passed unreached

    def __post_init__(self) -> None:
        if self.max_rounds < 1 or self.max_refusals < 1:
            raise ValueError("max_rounds and max_refusals must be at least 1")
        if self.min_spacing < timedelta(0) or self.ring_timeout <= timedelta(0):
            raise ValueError("min_spacing must be >= 0 and ring_timeout > 0")
        object.__setattr__(self, "on_deadline", OnDeadline(self.on_deadline))
        if self.spacing not in ("wall", "open_hours"):
            raise ValueError(f"spacing must be 'wall' or 'open_hours', not {self.spacing!r}")
        object.__setattr__(
            self, "overrides", MappingProxyType({Outcome(k): v for k, v in self.overrides.items()})
        )

    def treatment_for(self, outcome: Outcome) -> Treatment:
        """The campaign's override for this outcome, else the outcome's default."""
        return self.overrides.get(outcome) or info(outcome).default_treatment


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
    retry_after: timedelta | None = None,
) -> Decision:
    """The decision after the result ``outcome`` of the dial of ``position``.

    ``retry_after``: for our own failure that reached no callee, the delay before
    the same number is due again (instead of ``min_spacing``; caps still hold).

    ``now`` is when the result came; ``dialed_at`` when that dial started (default
    ``now``): spacing counts from it. The views may or may not already list that
    dial (``last_dialed_at``, ``recent_dials``); pass ``dialed_at`` so it counts once.
    """
    aware(now, "now")
    if callback_at is not None:
        aware(callback_at, "callback_at")
    when = dialed_at or now
    aware(when, "dialed_at")
    number = contact.number(position)
    verdict = _verdict(contact, number, Outcome(outcome), policy)
    dialled = _dialled(number, verdict, when)
    results = dict(contact.round_results)
    if not verdict.our_fault:
        results[position] = verdict.outcome
    is_appointment = contact.appointment_at is not None and (
        contact.appointment_position in (None, position)
    )
    after = ContactView(  # built directly: dataclasses.replace costs several times more
        state=contact.state,
        rounds_started=contact.rounds_started,
        round_started_at=contact.round_started_at,
        refusals=verdict.refusals,
        numbers=tuple(dialled if n.position == position else n for n in contact.numbers),
        round_results=MappingProxyType(results),
        not_before=contact.not_before,
        appointment_at=None if is_appointment else contact.appointment_at,
        recent_dials=_with(contact.recent_dials, when),
        appointment_position=None if is_appointment else contact.appointment_position,
    )
    plan = Planner(after, now, policy, calendar, tz)
    soon = retry_after if verdict.our_fault else None
    step, ends_round = _next(
        contact.state, plan, verdict, dialled, is_appointment, callback_at, soon
    )
    return _decision(verdict, step, round_result(results.values()) if ends_round else None)


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What one result means before any scheduling: its treatment, counts and number state."""

    outcome: Outcome
    treatment: Treatment
    closed_reason: str | None
    refusals: int
    number_state: NumberState
    add_dnc: bool
    our_fault: bool


def _verdict(
    contact: ContactView, number: NumberView, outcome: Outcome, policy: DialPolicy
) -> _Verdict:
    group = info(outcome).group
    treatment = policy.treatment_for(outcome)
    refusals = contact.refusals + (outcome is Outcome.refused)
    closed_reason: str | None = None
    if outcome is Outcome.refused and refusals >= policy.max_refusals:
        treatment, closed_reason = CLOSE, MAX_REFUSALS
    add_dnc = outcome is Outcome.dnc_requested
    number_state = number.state
    if add_dnc:
        number_state = NumberState.dnc
    elif treatment.kind is TreatmentKind.drop_number:
        number_state = NumberState.dead if group is Group.dead_number else NumberState.exhausted
    return _Verdict(
        outcome, treatment, closed_reason, refusals, number_state, add_dnc, group is Group.our_fault
    )


def _dialled(number: NumberView, verdict: _Verdict, when: datetime) -> NumberView:
    """The dialled number once its result is applied."""
    return NumberView(
        position=number.position,
        state=verdict.number_state,
        last_dialed_at=max(number.last_dialed_at or when, when),
        recent_dials=_with(number.recent_dials, when),
        last_outcome=verdict.outcome,
    )


# Treatments that end the contact's dialling: its state after, and whether the round ends.
_STOPS: Mapping[TreatmentKind, tuple[ContactState, bool]] = MappingProxyType(
    {
        TreatmentKind.complete: (ContactState.completed, True),
        TreatmentKind.close: (ContactState.closed, True),
        TreatmentKind.pause: (ContactState.paused, False),
    }
)
_FINAL = (ContactState.completed, ContactState.closed)


def _next(
    state: ContactState,
    plan: Planner,
    verdict: _Verdict,
    dialled: NumberView,
    is_appointment: bool,
    callback_at: datetime | None,
    soon: timedelta | None = None,
) -> tuple[Step, bool]:
    """The contact's next step after the result (``state``: its state before), and whether
    the result ends the round."""
    if state in _FINAL:
        return plan.idle(state), False  # a late result: record only
    stop = _STOPS.get(verdict.treatment.kind)
    if stop is not None:
        after, ends_round = stop
        reason = (
            (verdict.closed_reason or verdict.outcome.value)
            if after is ContactState.closed
            else None
        )
        return plan.idle(after, reason), ends_round
    if state != ContactState.active:
        return plan.idle(state), False
    again = _again(plan, verdict, dialled, is_appointment, callback_at, soon)
    if again is not None:
        return again
    step = plan.next_step()
    return step, step.new_round or step.contact_state in _FINAL


def _again(
    plan: Planner,
    verdict: _Verdict,
    dialled: NumberView,
    is_appointment: bool,
    callback_at: datetime | None,
    soon: timedelta | None = None,
) -> tuple[Step, bool] | None:
    """The same number again: after our own failure, or at the callee's appointment."""
    kind = verdict.treatment.kind
    if kind not in (TreatmentKind.retry, TreatmentKind.callback):
        return None
    if verdict.number_state != NumberState.dialable:
        return None
    if verdict.our_fault and soon is not None:  # no callee reached: again shortly
        return plan.redial_after(dialled, soon, keep_appointment=is_appointment), False
    if verdict.our_fault:  # not counted: the same number again, same round, once spacing allows
        return plan.redial(dialled, keep_appointment=is_appointment), False
    if kind is TreatmentKind.callback and callback_at is not None:
        step = plan.appointment(dialled, callback_at)
        if step.at is not None:
            return step, True
    return None


def _decision(verdict: _Verdict, step: Step, result: Outcome | None) -> Decision:
    bucket = bucket_of(verdict.outcome, verdict.treatment)
    return Decision(
        outcome=verdict.outcome,
        treatment=verdict.treatment,
        bucket=bucket,
        counted=bucket is not Bucket.not_counted,
        number_state=verdict.number_state,
        contact_state=step.contact_state,
        closed_reason=step.closed_reason,
        refusals=verdict.refusals,
        round_result=result,
        next_position=step.position,
        next_at=step.at,
        next_is_appointment=step.is_appointment,
        new_round=step.new_round,
        add_dnc=verdict.add_dnc,
        rounds_started=step.rounds_started,
        round_started_at=step.round_started_at,
        appointment_at=step.appointment_at,
    )


def _with(dials: tuple[datetime, ...], when: datetime) -> tuple[datetime, ...]:
    return dials if when in dials else (*dials, when)
