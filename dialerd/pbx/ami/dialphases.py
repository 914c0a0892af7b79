"""How far each dial got at the PBX, for the pacer: ringing, answered, in a queue, over (pure).

The queue tracker advances a dial (by its ``DIALERD_ATTEMPT``) as its channels'
events come: a channel up is an answer, a queue join is the queue's from then on,
a hangup ends it. The pacer's dials in flight (the database's, every daemon's)
are placed by it (:meth:`DialPhases.place`): a dial the PBX has said nothing of
yet is ringing, whatever the reason (not yet sent, not yet tagged, ringing).
Not thread-safe: the tracker's caller serialises access.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum


class Phase(IntEnum):
    """How far a dial got, in the order it gets there (never back)."""

    ANSWERED = 1  # a channel of the dial is up: the callee answered
    QUEUED = 2  # it joined a queue (waiting, then with an agent or gone)
    OVER = 3  # a channel of the dial hung up


class DialPhases:
    """The latest phase of the last ``max_dials`` dials, by attempt id."""

    def __init__(self, max_dials: int) -> None:
        self._max = max_dials
        self._phases: dict[str, Phase] = {}  # oldest first

    def advance(self, attempt: str | None, phase: Phase) -> None:
        """``attempt`` reached ``phase`` (ignored if it was already there or further)."""
        if not attempt or self._phases.get(attempt, 0) >= phase:
            return
        if attempt not in self._phases and len(self._phases) >= self._max:
            del self._phases[next(iter(self._phases))]
        self._phases[attempt] = phase

    def phase(self, attempt: str) -> Phase | None:
        return self._phases.get(attempt)

    def place(self, dials: Mapping[int, float]) -> tuple[list[float], int]:
        """Dials in flight (attempt id -> seconds since claimed) by what the PBX said of them.

        Returns the ring times of those not seen answered (nor over) and how many
        are answered but not yet in a queue (AMD, a prompt before ``Queue()``).
        Those that joined a queue (waiting there, with an agent, or gone with the
        apology) or hung up are neither: the queue's callers and agents tell of
        them, or they are done.
        """
        ringing: list[float] = []
        answered = 0
        for attempt, elapsed in dials.items():
            phase = self._phases.get(str(attempt))
            if phase is None:
                ringing.append(elapsed)
            elif phase is Phase.ANSWERED:
                answered += 1
        return ringing, answered
