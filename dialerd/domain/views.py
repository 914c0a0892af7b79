"""What the policy reads and answers: views of a contact's stored state, steps, decisions.

The engine builds the views from its rows and writes the answers back; see
:mod:`dialerd.domain.policy` for the rules that connect them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from dialerd.domain.outcomes import Bucket, Outcome
from dialerd.domain.states import ClosedReason, ContactState, NumberState
from dialerd.domain.treatments import Treatment

__all__ = [
    "MAX_REFUSALS",
    "MAX_ROUNDS",
    "NO_NUMBERS",
    "ONLY_DNC_LEFT",
    "ContactState",
    "ContactView",
    "Decision",
    "NumberState",
    "NumberView",
    "Step",
]

# closed_reason values besides a closing outcome's own code (e.g. "dnc_requested").
MAX_ROUNDS = ClosedReason.max_rounds
NO_NUMBERS = ClosedReason.no_numbers
ONLY_DNC_LEFT = ClosedReason.only_dnc_left
MAX_REFUSALS = ClosedReason.max_refusals


@dataclass(frozen=True, slots=True)
class NumberView:
    """One of a contact's numbers, as stored."""

    position: int
    state: NumberState
    last_dialed_at: datetime | None
    recent_dials: tuple[datetime, ...] = ()  # start times, at least those within number_cap
    last_outcome: Outcome | None = None  # its last result: a `retry after` delay counts from it


@dataclass(frozen=True, slots=True)
class ContactView:
    """A contact, as stored, before the result being decided is applied.

    ``rounds_started`` counts the rounds started that count toward ``max_rounds``
    (appointment rounds do not), the current one included; ``round_started_at`` is
    when the current round (of either kind) started, or was planned to;
    ``round_results`` maps position → outcome of this round's dials so far (results
    of our own failures may be left out: they are ignored). ``appointment_at`` and
    ``appointment_position`` describe a pending appointment.
    """

    state: ContactState
    rounds_started: int
    round_started_at: datetime | None
    refusals: int
    numbers: tuple[NumberView, ...]
    round_results: Mapping[int, Outcome]
    not_before: datetime | None = None
    appointment_at: datetime | None = None
    recent_dials: tuple[datetime, ...] = ()  # start times of the contact's dials (contact_cap)
    appointment_position: int | None = None  # the number to dial at appointment_at

    def number(self, position: int) -> NumberView:
        for number in self.numbers:
            if number.position == position:
                return number
        raise ValueError(f"the contact has no number at position {position}")


@dataclass(frozen=True, slots=True)
class Step:
    """What a contact does next, and the contact's round bookkeeping afterwards.

    ``position``/``at``: the number to dial and when (both None: nothing is due).
    ``new_round``: that dial opens a new round: the engine records it now (round
    row; ``rounds_started`` and ``round_started_at`` below are the new values,
    ``round_results`` starts empty). ``is_appointment``: the dial is an appointment
    (exempt from spacing; its round does not count). ``contact_state`` and
    ``closed_reason``: the contact's state after this step.
    """

    position: int | None
    at: datetime | None
    new_round: bool
    is_appointment: bool
    contact_state: ContactState
    closed_reason: str | None  # a ClosedReason or a closing outcome's code
    rounds_started: int
    round_started_at: datetime | None
    appointment_at: datetime | None


@dataclass(frozen=True, slots=True)
class Decision:
    """Everything that follows from one result; the engine writes these fields back.

    ``number_state`` is the dialled number's new state; ``contact_state``,
    ``closed_reason``, ``refusals``, ``rounds_started``, ``round_started_at`` and
    ``appointment_at`` are the contact's new values. ``round_result`` is set when
    this result ends the round (the round's result by precedence). ``next_*`` and
    ``new_round`` are as in :class:`Step`; ``next_position`` None: nothing is due.
    """

    outcome: Outcome
    treatment: Treatment
    bucket: Bucket
    counted: bool
    number_state: NumberState
    contact_state: ContactState
    closed_reason: str | None  # a ClosedReason or a closing outcome's code
    refusals: int
    round_result: Outcome | None
    next_position: int | None
    next_at: datetime | None
    next_is_appointment: bool
    new_round: bool
    add_dnc: bool
    rounds_started: int
    round_started_at: datetime | None
    appointment_at: datetime | None
