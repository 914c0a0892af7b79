"""When a contact is next due: the one place that decides which number, and when.

Every due time is the latest of its lower bounds (now, spacing, caps, the
contact's ``not_before``, a round's planned start, an appointment's time),
then pushed by :func:`fit_window` to where a dial of ``ring_timeout`` fits in a
calling window. All bounds only ever loosen as time passes, so one push suffices.

:func:`plan_next` answers for a contact with nothing scheduled (a fresh import,
a DNC change, a resumed contact); :func:`dialerd.domain.policy.decide` asks the
same :class:`Planner` after each result; the dispatcher asks :func:`fit_window`
when a queued dial finds the window closed. Pure: ``now`` is always an argument.

A contact's ``deadline`` bounds all of this: :func:`may_start` says whether a dial
may start at an instant, and :func:`at_deadline` what becomes of a contact whose
deadline has passed unreached (the campaign's ``on_deadline``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.outcomes import Group, info
from dialerd.domain.states import ClosedReason, OnDeadline
from dialerd.domain.views import (
    MAX_ROUNDS,
    NO_NUMBERS,
    ONLY_DNC_LEFT,
    ContactState,
    ContactView,
    NumberState,
    NumberView,
    Step,
)

if TYPE_CHECKING:
    from dialerd.domain.policy import DialPolicy


class Due(NamedTuple):
    """A contact's next dial: the number's position and when."""

    position: int
    at: datetime


class Missed(NamedTuple):
    """A contact whose deadline passed: its state from now on, and why."""

    state: ContactState
    reason: ClosedReason


# What each campaign choice makes of a missed contact (docs/scheduling.md "Deadlines").
_AT_DEADLINE = {
    OnDeadline.close: Missed(ContactState.closed, ClosedReason.deadline_missed),
    OnDeadline.pause: Missed(ContactState.paused, ClosedReason.deadline_missed),
}


def may_start(deadline: datetime | None, now: datetime) -> bool:
    """Whether a dial may start at ``now``: only strictly before the deadline, if any.

    A dial started before the deadline may ring past it; none starts at or after it.
    """
    aware(now, "now")
    if deadline is None:
        return True
    aware(deadline, "deadline")
    return now < deadline


def at_deadline(deadline: datetime | None, now: datetime, on_deadline: OnDeadline) -> Missed | None:
    """None while a dial may still start; once the deadline has passed, what the contact
    becomes (closed or paused, ``deadline_missed``), by the campaign's ``on_deadline``."""
    if may_start(deadline, now):
        return None
    return _AT_DEADLINE[OnDeadline(on_deadline)]


def fit_window(
    at: datetime, *, calendar: CallingCalendar | None, tz: str | None, policy: DialPolicy
) -> datetime | None:
    """``at``, or the next instant after it where a dial of ``ring_timeout`` fits a window.

    None when the calendar has no such instant left. Without a calendar, ``at``: the
    window is left to the dispatcher, which fits each dial to it just before it.
    """
    if calendar is None:
        return at
    return calendar.next_open(at, tz=tz, duration=policy.ring_timeout)


def plan_next(
    contact: ContactView,
    *,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar | None,
    tz: str | None = None,
) -> Step:
    """The next step of a contact, from its stored state alone.

    Which number and when (or nothing), whether that dial opens a round or keeps
    an appointment, and the contact's state afterwards (closed or paused when
    nothing is left to dial). ``calendar`` None: see :func:`fit_window`.
    """
    aware(now, "now")
    return Planner(contact, now, policy, calendar, tz).next_step()


def first_due(
    contact: ContactView,
    *,
    now: datetime,
    policy: DialPolicy,
    calendar: CallingCalendar | None,
    tz: str | None = None,
) -> Due | None:
    """(position, when) of :func:`plan_next`'s dial, or None when nothing is due."""
    step = plan_next(contact, now=now, policy=policy, calendar=calendar, tz=tz)
    if step.position is None or step.at is None:
        return None
    return Due(step.position, step.at)


def aware(value: datetime, name: str) -> None:
    """Refuse a naive datetime: every time in the domain is timezone-aware."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value.isoformat()}")


class Planner:
    """The scheduling arithmetic over one contact view (after the result, if any)."""

    def __init__(
        self,
        contact: ContactView,
        now: datetime,
        policy: DialPolicy,
        calendar: CallingCalendar | None,
        tz: str | None,
    ) -> None:
        self.contact = contact
        self.now = now
        self.policy = policy
        self.calendar = calendar
        self.tz = tz

    # -- steps ---------------------------------------------------------------------------

    def idle(self, state: ContactState, reason: str | None = None) -> Step:
        c = self.contact
        return Step(
            None, None, False, False, state, reason, c.rounds_started, c.round_started_at, None
        )

    def _due(
        self,
        number: NumberView,
        at: datetime | None,
        *,
        new_round: bool = False,
        is_appointment: bool = False,
    ) -> Step:
        """A dial of ``number`` at ``at`` (nothing due when ``at`` is None)."""
        c = self.contact
        if at is None:
            return self.idle(ContactState.active)
        return Step(
            position=number.position,
            at=at,
            new_round=new_round,
            is_appointment=is_appointment,
            contact_state=ContactState.active,
            closed_reason=None,
            rounds_started=c.rounds_started + (new_round and not is_appointment),
            round_started_at=at if new_round else c.round_started_at,
            appointment_at=at if is_appointment else None,
        )

    def next_step(self) -> Step:
        c = self.contact
        if c.state != ContactState.active:
            return self.idle(c.state)
        dialable = sorted(
            (n for n in c.numbers if n.state == NumberState.dialable), key=lambda n: n.position
        )
        if c.appointment_at is not None:
            booked = next(
                (n for n in dialable if c.appointment_position in (None, n.position)), None
            )
            if booked is not None:
                return self.appointment(booked, c.appointment_at, new=False)
        if not dialable:
            if any(n.state == NumberState.dnc for n in c.numbers):
                return self.idle(ContactState.paused, ONLY_DNC_LEFT)
            return self.idle(ContactState.closed, NO_NUMBERS)
        if c.round_started_at is not None or c.round_results or c.rounds_started:
            # a round is open: go on with it
            done = {p for p, o in c.round_results.items() if info(o).group is not Group.our_fault}
            remaining = [n for n in dialable if n.position not in done]
            if remaining:
                # A round opened but not dialled yet keeps its planned start.
                floor = [c.round_started_at] if c.round_started_at and not done else []
                return self._due(remaining[0], self._fit(self._number_bounds(remaining[0]), floor))
        if c.rounds_started >= self.policy.max_rounds:
            return self.idle(ContactState.closed, MAX_ROUNDS)
        first = dialable[0]
        floor = [self._spaced(c.round_started_at)] if c.round_started_at is not None else []
        return self._due(first, self._fit(self._number_bounds(first), floor), new_round=True)

    def redial(self, number: NumberView, *, keep_appointment: bool) -> Step:
        at = self._fit(self._number_bounds(number), [])
        return self._due(number, at, is_appointment=keep_appointment)

    def redial_after(self, number: NumberView, delay: timedelta, *, keep_appointment: bool) -> Step:
        """Our dial that reached no callee: again after ``delay``, not the spacing (caps hold)."""
        at = self._fit([self.now + delay, *self._cap_bounds(number)], [])
        return self._due(number, at, is_appointment=keep_appointment)

    def appointment(self, number: NumberView, when: datetime, *, new: bool = True) -> Step:
        at = self._fit([when, *self._cap_bounds(number)], [])
        return self._due(number, at, new_round=new, is_appointment=True)

    # -- arithmetic ----------------------------------------------------------------------

    def _fit(self, bounds: Iterable[datetime], extra: Iterable[datetime]) -> datetime | None:
        c = self.contact
        candidates = [self.now, *bounds, *extra]
        if c.not_before is not None:
            candidates.append(c.not_before)
        if self.policy.contact_cap is not None:
            capped = self.policy.contact_cap.not_before(c.recent_dials)
            if capped is not None:
                candidates.append(capped)
        return fit_window(max(candidates), calendar=self.calendar, tz=self.tz, policy=self.policy)

    def _spaced(self, since: datetime) -> datetime:
        if self.policy.spacing == "open_hours" and self.calendar is not None:
            return self.calendar.add_open_time(since, self.policy.min_spacing, tz=self.tz)
        return since + self.policy.min_spacing

    def _cap_bounds(self, number: NumberView) -> list[datetime]:
        cap = self.policy.number_cap
        capped = cap.not_before(number.recent_dials) if cap is not None else None
        return [capped] if capped is not None else []

    def _number_bounds(self, number: NumberView) -> list[datetime]:
        bounds = self._cap_bounds(number)
        if number.last_dialed_at is not None:
            bounds.append(self._spaced(number.last_dialed_at))
            if number.last_outcome is not None:
                delay = self.policy.treatment_for(number.last_outcome).after
                if delay is not None:
                    bounds.append(number.last_dialed_at + delay)
        return bounds
