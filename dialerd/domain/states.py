"""The states of campaigns, contacts, numbers and attempts, as stored (docs/database.md).

Each is a ``StrEnum`` whose values are the database's short strings, so a member
compares equal to the stored text and prints as it.
"""

from __future__ import annotations

from enum import StrEnum


class CampaignState(StrEnum):
    """What ops staff control; ``finished`` when the calendar has ended."""

    active = "active"
    paused = "paused"
    stopped = "stopped"
    finished = "finished"


class ContactState(StrEnum):
    active = "active"
    completed = "completed"
    closed = "closed"
    paused = "paused"


class ClosedReason(StrEnum):
    """``closed_reason`` values besides a closing outcome's own code (e.g. ``dnc_requested``)."""

    max_rounds = "max_rounds"
    no_numbers = "no_numbers"
    max_refusals = "max_refusals"
    only_dnc_left = (
        "dnc"  # paused, not closed: its numbers may be dialled again (docs/rulebook.md §3)
    )
    deadline_missed = "deadline_missed"  # no dial may start any more (closed, or paused)


class OnDeadline(StrEnum):
    """What a campaign does with a contact whose deadline passed unreached (on_deadline)."""

    close = "close"
    pause = "pause"


class NumberState(StrEnum):
    dialable = "dialable"
    dead = "dead"
    dnc = "dnc"
    exhausted = "exhausted"


class AttemptStatus(StrEnum):
    """``dialing`` from the claim (before the Originate) until the result; then ``done``."""

    dialing = "dialing"
    done = "done"


# A number that may still be dialled, now or after an operator change (ix_phone_numbers_usable).
USABLE_NUMBER_STATES = (NumberState.dialable, NumberState.exhausted)
