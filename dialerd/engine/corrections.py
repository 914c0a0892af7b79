"""Give a settled attempt a different outcome, and its treatment once.

Two callers: an operator's correction (:mod:`dialerd.actions.corrections`) and a
late result, the PBX's real word on a dial already settled ``interrupted`` (its
daemon looked gone). Both go through :func:`redecide`: the contact's view is put
back as it was before the outcome being replaced (the contact reopened if that
result ended it, its number dialable again if that result dropped it, the round's
end, a refusal or an appointment it made taken back, the DNC entry a
``dnc_requested`` call added removed), then ``policy.decide`` runs on it and
``rowwrites`` writes the result, as the result writer would have.

A late result never causes a second dial: when the contact was dialled again
since (a later attempt exists), the truth is recorded on the old attempt only,
for the reports, and the contact is not rewound (a ``dnc_requested`` still adds
its DNC entry: the callee's request holds whatever the schedule). Either way the
audit log gets a ``late_result`` event.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from dialerd.db import tables
from dialerd.domain.outcomes import Outcome
from dialerd.domain.policy import Decision, decide
from dialerd.domain.ports import PbxSignals
from dialerd.domain.views import ONLY_DNC_LEFT, ContactState, NumberState
from dialerd.engine.pending import Pending, Recorded
from dialerd.engine.rowwrites import Writes
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.views import load_contact
from dialerd.logconfig import get_logger

log = get_logger("dialerd.corrections")
_at = tables.attempts
_pn = tables.phone_numbers
_ct = tables.contacts
_dnc = tables.dnc_entries
_ev = tables.campaign_events
_rd = tables.rounds

LATE_RESULT = "late_result"
_CALLBACKS = (Outcome.callback_requested, Outcome.inconvenient)
_TIMES = ("answered_at", "ended_at", "callback_at")


@dataclass(frozen=True)
class Redecided:
    """What :func:`redecide` wrote."""

    decision: Decision
    dnc_removed: int


def later_attempt(conn: Connection, attempt: Any) -> int | None:
    """The id of a dial of the same contact made after ``attempt``, if any."""
    later = conn.execute(
        select(_at.c.id)
        .where(_at.c.contact_id == attempt.contact_id, _at.c.id > attempt.id)
        .order_by(_at.c.id)
        .limit(1)
    ).first()
    return None if later is None else int(later.id)


def dial_in_flight(conn: Connection, contact_id: int) -> bool:
    busy = conn.execute(
        select(_pn.c.id).where(
            _pn.c.contact_id == contact_id, _pn.c.in_flight_attempt_id.is_not(None)
        )
    ).first()
    return busy is not None


def redecide(
    conn: Connection,
    attempt: Any,
    outcome: Outcome,
    *,
    signals: PbxSignals,
    runtime: CampaignRuntime,
    rule: str,
    now: datetime,
    known: bool = True,
) -> Redecided:
    """Replace ``attempt``'s recorded outcome by ``outcome`` and apply its treatment once.

    The caller has checked that ``attempt`` is the contact's latest dial.
    """
    before = Outcome(attempt.outcome)
    contact = conn.execute(select(_ct).where(_ct.c.id == attempt.contact_id)).one()
    dnc_removed = 0
    if before is Outcome.dnc_requested:
        dnc_removed = remove_call_dnc(conn, attempt.number, runtime.name)
    reopen_round(conn, contact.id, attempt.round)
    loaded = load_contact(conn, contact.id, now=now, policy=runtime.policy)
    assert loaded is not None
    view = view_before(loaded.view, attempt, contact, before)
    loaded = dataclasses.replace(loaded, view=view)
    decision = _decide(view, attempt, outcome, signals, runtime, loaded.timezone, now)
    writes = Writes()
    writes.add(Pending(attempt, outcome, signals, known, rule), loaded, decision, runtime.name, now)
    writes.flush(conn)
    return Redecided(decision, dnc_removed)


def _decide(
    view: Any,
    attempt: Any,
    outcome: Outcome,
    signals: PbxSignals,
    runtime: CampaignRuntime,
    tz: str | None,
    now: datetime,
) -> Decision:
    return decide(
        view,
        attempt.position,
        outcome,
        now=now,
        policy=runtime.policy,
        calendar=runtime.calendar,
        tz=tz,
        callback_at=signals.callback_at,
        dialed_at=attempt.started_at or attempt.claimed_at,
    )


def record_late(
    conn: Connection,
    attempt: Any,
    outcome: Outcome,
    *,
    signals: PbxSignals,
    runtime: CampaignRuntime,
    rule: str,
    known: bool,
    now: datetime,
) -> Recorded:
    """The PBX's result for an attempt settled ``interrupted``: the truth wins, once."""
    later = later_attempt(conn, attempt)
    rewound = later is None and not dial_in_flight(conn, attempt.contact_id)
    late_rule = f"late result: {rule}" if rule else "late result"
    if rewound:
        decision = redecide(
            conn,
            attempt,
            outcome,
            signals=signals,
            runtime=runtime,
            rule=late_rule,
            now=now,
            known=known,
        )
        applied = decision.decision
    else:
        loaded = load_contact(conn, attempt.contact_id, now=now, policy=runtime.policy)
        assert loaded is not None
        applied = _decide(loaded.view, attempt, outcome, signals, runtime, loaded.timezone, now)
        writes = Writes()
        writes.add_attempt(
            Pending(attempt, outcome, signals, known, late_rule), applied, now, applied=False
        )
        if applied.add_dnc:
            writes.add_dnc(attempt.number, runtime.name, now)
        writes.flush(conn)
    conn.execute(
        insert(_ev).values(
            campaign_id=attempt.campaign_id,
            at=now,
            kind=LATE_RESULT,
            actor=attempt.instance_id or "pbx",
            details={
                "attempt_id": attempt.id,
                "key": attempt.key,
                "contact_id": attempt.contact_id,
                "from": attempt.outcome,
                "to": outcome.value,
                "rule": rule,
                "rewound": rewound,
                "later_attempt_id": later,
                "to_treatment": applied.treatment.kind.value if rewound else None,
                "next_dial_at": applied.next_at.isoformat()
                if rewound and applied.next_at
                else None,
            },
        )
    )
    log.warning(
        "call_result_late",
        campaign=runtime.name,
        attempt_id=attempt.id,
        contact_id=attempt.contact_id,
        outcome=outcome.value,
        rewound=rewound,
        later_attempt_id=later,
    )
    return Recorded(
        attempt.id, attempt.contact_id, runtime.name, outcome, known, late_rule, applied
    )


def reopen_round(conn: Connection, contact_id: int, round_no: int) -> None:
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


def view_before(view: Any, attempt: Any, contact: Any, before: Outcome) -> Any:
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


def remove_call_dnc(conn: Connection, number: str, campaign: str) -> int:
    """Remove the DNC entry the callee's request added (not an operator's own entry)."""
    result = conn.execute(
        delete(_dnc).where(
            _dnc.c.kind == "number",
            _dnc.c.value == number,
            _dnc.c.source == f"call:{campaign}",
        )
    )
    return int(result.rowcount or 0)


def signals_of(attempt: Any) -> PbxSignals:
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
