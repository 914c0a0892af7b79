"""What a result write takes in (``Pending``) and gives back (``Recorded``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialerd.domain.outcomes import Outcome
from dialerd.domain.policy import Decision
from dialerd.domain.ports import PbxSignals


@dataclass(frozen=True)
class Recorded:
    attempt_id: int
    contact_id: int
    campaign: str
    outcome: Outcome
    known: bool
    rule: str
    decision: Decision
    signals: PbxSignals | None = None  # what the PBX told (the pacer's ring and talk times)
    dialed_at: datetime | None = None  # when the dial started


@dataclass(frozen=True)
class Pending:
    """One attempt to close: its row, the outcome and the signals behind it."""

    attempt: Any  # a row of attempts: a Row, or results.OpenAttempt (the columns closing reads)
    outcome: Outcome
    signals: PbxSignals
    known: bool = True
    rule: str = ""
    retry_soon: bool = False  # our failure that reached no callee: due again after RETRY_SOON
