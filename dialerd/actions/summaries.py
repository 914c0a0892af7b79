"""An agent's call summary (电话小结) of an answered dial, applied exactly once.

Agents summarise after the call: the attempt must be ``done``, answered by a
person (a ``reached`` outcome, or a ``dial_again`` one with an answer time: not
present, inconvenient...). The summary's outcome is applied through the operator
correction's path (:mod:`dialerd.actions.corrections`: the contact's view put
back as before the recorded result, then ``policy.decide`` and the writer's row
writes), the summary is kept in ``attempt_summaries`` (one per attempt: a second
one is refused) and the audit log gets an ``agent_summary`` event. A dial still
in flight is refused (``SummaryRefused.in_flight``): the desktop retries once the
call has ended and its result is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import Connection, Table, insert, select, update

from dialerd.actions.corrections import Correction, CorrectionRefused, _correct, parse_outcome
from dialerd.db import tables
from dialerd.db.models import AttemptSummary
from dialerd.domain.outcomes import Group, info
from dialerd.errors import DialerdError

EVENT_KIND = "agent_summary"
Reason = Literal["not_found", "in_flight", "not_answered", "already_summarised", "conflict"]
_at = tables.attempts
_summaries = cast(Table, AttemptSummary.__table__)
# outcomes of a dial a person picked up (a machine or our own failure is not one)
_ANSWERED = frozenset({Group.reached, Group.dial_again})


class SummaryRefused(DialerdError):
    """The summary cannot be applied."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Summary:
    attempt_id: int
    correction: Correction


def summarise(
    conn: Connection,
    attempt_id: int,
    code: str,
    *,
    agent: str,
    note: str | None,
    callback_at: datetime | None,
    token_name: str,
    now: datetime,
) -> Summary:
    """Apply ``code`` as the agent's summary of ``attempt_id`` inside ``conn``'s transaction."""
    outcome = parse_outcome(code)
    q = select(_at.c.id, _at.c.status, _at.c.outcome, _at.c.answered_at, _at.c.campaign_id)
    q = q.where(_at.c.id == attempt_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    attempt = conn.execute(q).one_or_none()
    if attempt is None:
        raise SummaryRefused("not_found", f"attempt {attempt_id}: no such attempt")
    if attempt.status != "done" or attempt.outcome is None:
        raise SummaryRefused(
            "in_flight", f"attempt {attempt_id}: still in flight; retry after the call"
        )
    if attempt.answered_at is None or info(attempt.outcome).group not in _ANSWERED:
        raise SummaryRefused(
            "not_answered", f"attempt {attempt_id}: not answered ({attempt.outcome})"
        )
    done = conn.execute(
        select(_summaries.c.agent).where(_summaries.c.attempt_id == attempt_id)
    ).first()
    if done is not None:
        raise SummaryRefused(
            "already_summarised", f"attempt {attempt_id}: already summarised by {done.agent}"
        )
    conn.execute(
        insert(_summaries).values(
            attempt_id=attempt_id,
            outcome=outcome.value,
            agent=agent,
            note=note or "",
            callback_at=callback_at,
            token_name=token_name,
            created_at=now,
        )
    )
    if callback_at is not None:
        signals = conn.execute(select(_at.c.signals).where(_at.c.id == attempt_id)).scalar()
        stored = {**(signals or {}), "callback_at": callback_at.isoformat()}
        conn.execute(update(_at).where(_at.c.id == attempt_id).values(signals=stored))
    try:
        correction = _correct(conn, attempt_id, outcome, by=f"agent {agent}", note=note, now=now)
    except CorrectionRefused as exc:
        raise SummaryRefused("conflict", str(exc)) from exc
    conn.execute(
        insert(tables.campaign_events).values(
            campaign_id=attempt.campaign_id,
            at=now,
            kind=EVENT_KIND,
            actor=agent,
            details={
                "attempt_id": attempt_id,
                "from": attempt.outcome,
                "to": outcome.value,
                "treatment": correction.treatment,
                "next_dial_at": (
                    correction.next_dial_at.isoformat() if correction.next_dial_at else None
                ),
                "callback_at": callback_at.isoformat() if callback_at else None,
                "note": note or "",
                "token": token_name,
            },
        )
    )
    return Summary(attempt_id, correction)
