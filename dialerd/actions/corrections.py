"""An operator's correction of a recorded outcome (``dialerd attempts correct``).

The corrected outcome gets its treatment once, through the result writer's own
path (:func:`dialerd.engine.corrections.redecide`: the view put back as it was
before the original result, then ``policy.decide``, written by ``rowwrites``).
Only the contact's latest dial, with nothing in flight, can be corrected: a later
result was decided on top of this one. The original outcome, its treatment and
who changed it go to ``campaign_events`` (``outcome_corrected``); reports read the
attempt's new outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.orm import Session

from dialerd.actions.requeue import runtime_for
from dialerd.db import tables
from dialerd.db.models import Campaign
from dialerd.domain.outcomes import Outcome, lookup
from dialerd.engine.corrections import dial_in_flight, later_attempt, redecide, signals_of
from dialerd.errors import DialerdError

_at = tables.attempts
_ct = tables.contacts
_cp = tables.campaigns
_ev = tables.campaign_events

EVENT_KIND = "outcome_corrected"


class CorrectionRefused(DialerdError):
    """The outcome cannot be corrected."""


@dataclass(frozen=True)
class Correction:
    """What a correction did."""

    attempt_id: int
    campaign: str
    contact: str
    before: str | None
    after: Outcome
    treatment: str
    next_dial_at: datetime | None
    changed: bool  # False: the attempt already had this outcome


def parse_outcome(text: str) -> Outcome:
    """An outcome code or its Chinese label; anything else is refused."""
    outcome = lookup(text)
    if outcome is None:
        raise CorrectionRefused(f"{text!r}: not an outcome code or label (docs/outcomes.md)")
    return outcome


def correct_outcome(
    engine: Engine, attempt_id: int, code: str, *, by: str, note: str | None, now: datetime
) -> Correction:
    """Record ``code`` as attempt ``attempt_id``'s outcome and apply its treatment once."""
    outcome = parse_outcome(code)
    if not by.strip():
        raise CorrectionRefused("--by: say who makes the correction")
    with engine.begin() as conn:
        return _correct(conn, attempt_id, outcome, by=by.strip()[:100], note=note, now=now)


def _correct(
    conn: Connection, attempt_id: int, outcome: Outcome, *, by: str, note: str | None, now: datetime
) -> Correction:
    q = select(_at).where(_at.c.id == attempt_id)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    attempt = conn.execute(q).one_or_none()
    if attempt is None:
        raise CorrectionRefused(f"attempt {attempt_id}: no such attempt")
    campaign = conn.execute(select(_cp).where(_cp.c.id == attempt.campaign_id)).one()
    contact = conn.execute(select(_ct).where(_ct.c.id == attempt.contact_id)).one()
    if attempt.status != "done" or attempt.outcome is None:
        raise CorrectionRefused(f"attempt {attempt_id}: still in flight; correct it once it ends")
    if attempt.outcome == outcome.value:
        return Correction(
            attempt_id,
            campaign.name,
            contact.external_id,
            attempt.outcome,
            outcome,
            attempt.treatment or "",
            attempt.next_dial_at,
            changed=False,
        )
    _check_latest(conn, attempt)
    with Session(conn) as session:
        stored = session.get(Campaign, campaign.id)
        runtime = runtime_for(stored) if stored is not None else None
    if runtime is None:
        raise CorrectionRefused(f"campaign {campaign.name}: its stored file no longer validates")
    before = Outcome(attempt.outcome)
    done = redecide(
        conn,
        attempt,
        outcome,
        signals=signals_of(attempt),
        runtime=runtime,
        rule=f"corrected by {by}",
        now=now,
    )
    decision, dnc_removed = done.decision, done.dnc_removed
    conn.execute(
        insert(_ev).values(
            campaign_id=campaign.id,
            at=now,
            kind=EVENT_KIND,
            actor=by,
            details={
                "attempt_id": attempt.id,
                "key": attempt.key,
                "contact": contact.external_id,
                "from": before.value,
                "from_bucket": attempt.bucket,
                "from_treatment": attempt.treatment,
                "from_rule": (attempt.signals or {}).get("rule"),
                "to": outcome.value,
                "to_treatment": decision.treatment.kind.value,
                "next_dial_at": decision.next_at.isoformat() if decision.next_at else None,
                "dnc_removed": dnc_removed,
                "note": note or "",
            },
        )
    )
    return Correction(
        attempt.id,
        campaign.name,
        contact.external_id,
        before.value,
        outcome,
        decision.treatment.kind.value,
        decision.next_at,
        changed=True,
    )


def _check_latest(conn: Connection, attempt: Any) -> None:
    later = later_attempt(conn, attempt)
    if later is not None:
        raise CorrectionRefused(
            f"attempt {attempt.id}: the contact was dialled again since (attempt {later}); "
            "only its latest dial can be corrected"
        )
    if dial_in_flight(conn, attempt.contact_id):
        raise CorrectionRefused(f"attempt {attempt.id}: the contact has a dial in flight")
