"""What follows an outcome: retry, drop the number, complete, close, call back, pause.

A campaign file chooses a treatment per outcome (``[outcomes.<code>] treatment = ...``);
the defaults live with the outcomes in :mod:`dialerd.domain.outcomes`. The
:class:`~dialerd.domain.outcomes.Bucket` of a result (what reporting counts it as)
follows from its outcome and the treatment it got: :func:`bucket_of`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dialerd.domain.outcomes import Bucket, Outcome


class TreatmentKind(StrEnum):
    """The next step for a contact after one result."""

    retry = "retry"  # next round, after min_spacing (and `after`, if set)
    drop_number = "drop_number"  # this number is never dialled again; the others go on
    complete = "complete"  # the contact is done: its purpose was reached
    close = "close"  # the contact is done: no purpose reached (DNC, refusals...)
    callback = "callback"  # an appointment at the time the callee gave; else like retry
    pause = "pause"  # the contact waits for an operator to resume it


@dataclass(frozen=True, slots=True)
class Treatment:
    """A treatment; ``after`` delays a retry (never below the policy's ``min_spacing``)."""

    kind: TreatmentKind
    after: timedelta | None = None

    def __post_init__(self) -> None:
        if self.after is not None and self.after < timedelta(0):
            raise ValueError("a treatment's `after` cannot be negative")
        delayed = (TreatmentKind.retry, TreatmentKind.callback)
        if self.after is not None and self.kind not in delayed:
            raise ValueError(f"`after` only applies to retry and callback, not {self.kind}")

    def __str__(self) -> str:
        if self.after is None:
            return str(self.kind)
        return f"{self.kind} after {self.after}"


RETRY = Treatment(TreatmentKind.retry)
DROP_NUMBER = Treatment(TreatmentKind.drop_number)
COMPLETE = Treatment(TreatmentKind.complete)
CLOSE = Treatment(TreatmentKind.close)
CALLBACK = Treatment(TreatmentKind.callback)
PAUSE = Treatment(TreatmentKind.pause)


_BUCKETS: dict[tuple[str, TreatmentKind], Bucket] = {}  # (outcome, kind) → bucket, as asked


def bucket_of(outcome: Outcome, treatment: Treatment) -> Bucket:
    """How a result counts: by its treatment, except that our own failures never count.

    retry and callback → ``retryable``; drop_number → ``terminal_number``;
    complete, close and pause → ``terminal_contact`` (pause ends dialling until an
    operator resumes the contact); ``our_fault`` outcomes → ``not_counted``,
    whatever the treatment. (Answers are kept: each result of a batch asks.)
    """
    key = (outcome, treatment.kind)
    found = _BUCKETS.get(key)
    if found is None:
        found = _BUCKETS[key] = _bucket(outcome, treatment.kind)
    return found


def _bucket(outcome: Outcome, kind: TreatmentKind) -> Bucket:
    # outcomes.py builds its table from this module's Treatment, hence the late import.
    from dialerd.domain.outcomes import Bucket, Group, info

    if info(outcome).group is Group.our_fault:
        return Bucket.not_counted
    return {
        TreatmentKind.retry: Bucket.retryable,
        TreatmentKind.callback: Bucket.retryable,
        TreatmentKind.drop_number: Bucket.terminal_number,
        TreatmentKind.complete: Bucket.terminal_contact,
        TreatmentKind.close: Bucket.terminal_contact,
        TreatmentKind.pause: Bucket.terminal_contact,
    }[kind]
