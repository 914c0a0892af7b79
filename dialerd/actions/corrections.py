"""An operator's correction of a recorded outcome (``dialerd attempts correct``).

The corrected outcome gets its treatment once, through the result writer's own
path (``policy.decide`` on the contact's view, written by ``rowwrites``): first
the view is put back as it was before the original result (the contact reopened
if that result ended it, its number dialable again if that result dropped it, the
round's end, a refusal or an appointment it made taken back, the DNC entry a
``dnc_requested`` call added removed). Only the contact's latest dial, with nothing in flight,
can be corrected: a later result was decided on top of this one. The original
outcome, its treatment and who changed it go to ``campaign_events``
(``outcome_corrected``); reports read the attempt's new outcome.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from dialerd.actions.requeue import runtime_for
from dialerd.db import tables
from dialerd.db.models import Campaign
from dialerd.domain.outcomes import Outcome, lookup
from dialerd.domain.policy import decide
from dialerd.domain.ports import PbxSignals
from dialerd.domain.views import ONLY_DNC_LEFT, ContactState, NumberState
from dialerd.engine.results import Pending
from dialerd.engine.rowwrites import Writes
from dialerd.engine.views import load_contact
from dialerd.errors import DialerdError

_at = tables.attempts
_pn = tables.phone_numbers
_ct = tables.contacts
_cp = tables.campaigns
_dnc = tables.dnc_entries
_ev = tables.campaign_events
_rd = tables.rounds

EVENT_KIND = "outcome_corrected"
_CALLBACKS = (Outcome.callback_requested, Outcome.inconvenient)
_TIMES = ("answered_at", "ended_at", "callback_at")


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
    dnc_removed = 0
    if before is Outcome.dnc_requested:
        dnc_removed = _remove_call_dnc(conn, attempt.number, campaign.name)
    _reopen_round(conn, contact.id, attempt.round)
    loaded = load_contact(conn, contact.id, now=now, policy=runtime.policy)
    assert loaded is not None
    view = _view_before(loaded.view, attempt, contact, before)
    loaded = dataclasses.replace(loaded, view=view)
    signals = _signals_of(attempt)
    decision = decide(
        view,
        attempt.position,
        outcome,
        now=now,
        policy=runtime.policy,
        calendar=runtime.calendar,
        tz=loaded.timezone,
        callback_at=signals.callback_at,
        dialed_at=attempt.started_at or attempt.claimed_at,
    )
    writes = Writes()
    pending = Pending(attempt, outcome, signals, True, f"corrected by {by}")
    writes.add(pending, loaded, decision, campaign.name, now)
    writes.flush(conn)
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
    later = conn.execute(
        select(_at.c.id)
        .where(_at.c.contact_id == attempt.contact_id, _at.c.id > attempt.id)
        .limit(1)
    ).first()
    if later is not None:
        raise CorrectionRefused(
            f"attempt {attempt.id}: the contact was dialled again since (attempt {later.id}); "
            "only its latest dial can be corrected"
        )
    busy = conn.execute(
        select(_pn.c.id).where(
            _pn.c.contact_id == attempt.contact_id, _pn.c.in_flight_attempt_id.is_not(None)
        )
    ).first()
    if busy is not None:
        raise CorrectionRefused(f"attempt {attempt.id}: the contact has a dial in flight")


def _reopen_round(conn: Connection, contact_id: int, round_no: int) -> None:
    """Undo the round's end the original result made (the corrected one decides again)."""
    this_round = (_rd.c.contact_id == contact_id) & (_rd.c.round == round_no)
    ended = conn.execute(select(_rd.c.ended_at).where(this_round)).first()
    if ended is None or ended.ended_at is None:
        return
    conn.execute(update(_rd).where(this_round).values(ended_at=None, result=None))
    earlier = conn.execute(
        select(_rd.c.result)
        .where(_rd.c.contact_id == contact_id, _rd.c.round < round_no, _rd.c.result.is_not(None))
        .order_by(_rd.c.round.desc())
        .limit(1)
    ).scalar()
    conn.execute(update(_ct).where(_ct.c.id == contact_id).values(result=earlier))


def _view_before(view: Any, attempt: Any, contact: Any, before: Outcome) -> Any:
    """The contact's view with what ``before``'s decision did taken back."""
    state = view.state
    if state in (ContactState.completed, ContactState.closed):
        state = ContactState.active  # the latest dial's decision ended it
    elif state == ContactState.paused and (
        attempt.treatment == "pause" or contact.closed_reason == ONLY_DNC_LEFT
    ):
        state = ContactState.active
    numbers = tuple(
        dataclasses.replace(n, state=NumberState.dialable)
        if n.position == attempt.position
        and n.state != NumberState.dialable
        and n.last_outcome is before
        and (n.state != NumberState.dnc or before is Outcome.dnc_requested)
        else n
        for n in view.numbers
    )
    results = {p: o for p, o in view.round_results.items() if p != attempt.position}
    changes: dict[str, Any] = {
        "state": str(state),
        "numbers": numbers,
        "round_results": results,
        "refusals": max(0, view.refusals - (before is Outcome.refused)),
    }
    if before in _CALLBACKS:
        changes |= {"appointment_at": None, "appointment_position": None}
    return dataclasses.replace(view, **changes)


def _remove_call_dnc(conn: Connection, number: str, campaign: str) -> int:
    """Remove the DNC entry the callee's request added (not an operator's own entry)."""
    result = conn.execute(
        delete(_dnc).where(
            _dnc.c.kind == "number",
            _dnc.c.value == number,
            _dnc.c.source == f"call:{campaign}",
        )
    )
    return int(result.rowcount or 0)


def _signals_of(attempt: Any) -> PbxSignals:
    """The attempt's stored signals, as the result writer had them."""
    stored = dict(attempt.signals or {})
    names = {f.name for f in dataclasses.fields(PbxSignals)}
    values = {k: v for k, v in stored.items() if k in names}
    for name in _TIMES:
        if isinstance(values.get(name), str):
            values[name] = datetime.fromisoformat(values[name])
    values.setdefault("answered_at", attempt.answered_at)
    values.setdefault("ended_at", attempt.ended_at)
    return PbxSignals(**values)
