"""Record a dial's result and what follows from it, in the caller's transaction.

The domain decides (classify, then policy.decide); this module only reads the rows
the decision needs and writes its consequences: the attempt, the number, the
contact, the round, the next queued dial, and a DNC entry when the callee asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from dialerd.db.models import Attempt, Contact, DncEntry, PhoneNumber, Round
from dialerd.domain.classify import classify
from dialerd.domain.outcomes import Group, Outcome, info
from dialerd.domain.policy import Decision, decide
from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.views import LoadedContact, load_contact

_pn = PhoneNumber.__table__
_ct = Contact.__table__
_at = Attempt.__table__
_rd = Round.__table__


# A PbxSignals.error starting with this means the PBX's word was lost, not a failure.
INTERRUPTED_PREFIX = "interrupted"


@dataclass(frozen=True)
class Recorded:
    attempt_id: int
    contact_id: int
    campaign: str
    outcome: Outcome
    known: bool
    rule: str
    decision: Decision


def _signals_json(signals: PbxSignals) -> dict[str, Any]:
    data = {k: v for k, v in asdict(signals).items() if k != "raw" and v is not None}
    for k, v in data.items():
        if isinstance(v, datetime):
            data[k] = v.isoformat()
    data["raw"] = {
        str(k): v if isinstance(v, str | int | float | bool | None) else str(v)
        for k, v in signals.raw.items()
    }
    return data


def record_result(
    conn: Connection,
    result: DialResult,
    *,
    runtime_for: Callable[[int], CampaignRuntime | None],
    now: datetime,
) -> Recorded | None:
    """Write one result; None when the attempt is unknown or already has its result."""
    q = select(_at).where(_at.c.key == result.key)
    if conn.dialect.name == "postgresql":
        q = q.with_for_update()
    attempt = conn.execute(q).first()
    if attempt is None or attempt.status == "done":
        return None
    runtime = runtime_for(attempt.campaign_id)
    if runtime is None:
        return None
    signals = result.signals
    if signals.error is not None and signals.error.startswith(INTERRUPTED_PREFIX):
        return record_outcome(
            conn,
            attempt,
            Outcome.interrupted,
            signals=signals,
            runtime=runtime,
            now=now,
            rule="link lost, no final event",
        )
    classification = classify(signals, early_hangup_s=runtime.policy.early_hangup_s)
    return record_outcome(
        conn,
        attempt,
        classification.outcome,
        signals=signals,
        runtime=runtime,
        now=now,
        known=classification.known,
        rule=classification.rule,
    )


def record_outcome(
    conn: Connection,
    attempt: Any,
    outcome: Outcome,
    *,
    signals: PbxSignals,
    runtime: CampaignRuntime,
    now: datetime,
    known: bool = True,
    rule: str = "",
) -> Recorded | None:
    """Close ``attempt`` (a row of attempts) with ``outcome`` and apply the policy."""
    loaded = load_contact(conn, attempt.contact_id, now=now, policy=runtime.policy)
    if loaded is None:
        return None
    decision = decide(
        loaded.view,
        attempt.position,
        outcome,
        now=now,
        policy=runtime.policy,
        calendar=runtime.calendar,
        tz=loaded.timezone,
        callback_at=signals.callback_at,
        dialed_at=attempt.started_at or attempt.claimed_at,
    )
    conn.execute(
        update(_at)
        .where(_at.c.id == attempt.id)
        .values(
            status="done",
            outcome=outcome.value,
            bucket=decision.bucket.value,
            treatment=decision.treatment.kind.value,
            next_dial_at=decision.next_at,
            answered_at=signals.answered_at,
            ended_at=signals.ended_at or now,
            reason=signals.reason,
            hangup_cause=signals.hangup_cause,
            callee_cause=signals.callee_cause,
            dial_status=signals.dial_status,
            amd_status=signals.amd_status,
            amd_cause=signals.amd_cause,
            disposition=signals.disposition,
            signals={**_signals_json(signals), "rule": rule, "known": known},
            error=signals.error,
        )
    )
    conn.execute(
        update(_pn)
        .where(_pn.c.id == attempt.phone_number_id)
        .values(
            state=decision.number_state,
            last_outcome=outcome.value,
            in_flight_attempt_id=None,
            claimed_by=None,
        )
    )
    apply_decision(
        conn,
        loaded,
        decision,
        runtime=runtime,
        now=now,
        current_try=attempt.try_no,
        current_position=attempt.position,
        number=attempt.number,
    )
    return Recorded(attempt.id, attempt.contact_id, runtime.name, outcome, known, rule, decision)


def apply_decision(
    conn: Connection,
    loaded: LoadedContact,
    decision: Decision,
    *,
    runtime: CampaignRuntime,
    now: datetime,
    current_try: int = 1,
    current_position: int | None = None,
    number: str | None = None,
) -> None:
    """Write the contact's new state, the round's end and the next queued dial.

    The round a queued dial opens is recorded when that dial is claimed (its real
    start); here only its sequence number is chosen (``queue_next``).
    """
    conn.execute(
        update(_ct)
        .where(_ct.c.id == loaded.id)
        .values(
            state=decision.contact_state,
            closed_reason=decision.closed_reason,
            refusals=decision.refusals,
            appointment_at=decision.appointment_at,
            updated_at=now,
            **({"result": decision.round_result.value} if decision.round_result else {}),
        )
    )
    if decision.round_result is not None:
        conn.execute(
            update(_rd)
            .where(_rd.c.contact_id == loaded.id, _rd.c.round == loaded.current_round)
            .values(ended_at=now, result=decision.round_result.value)
        )
    queue_next(
        conn,
        loaded,
        position=decision.next_position,
        at=decision.next_at,
        new_round=decision.new_round,
        is_appointment=decision.next_is_appointment,
        try_no=_next_try(decision, current_try, current_position),
    )
    if decision.add_dnc and number is not None:
        conn.execute(
            insert(DncEntry.__table__).values(
                campaign_id=None,
                kind="number",
                value=number,
                reason="requested by the callee",
                source=f"call:{runtime.name}",
                created_at=now,
            )
        )


def _next_try(decision: Decision, current_try: int, current_position: int | None) -> int:
    """A redial of the same number in the same round after our own failure is the next try."""
    our_fault = info(decision.outcome).group is Group.our_fault
    same_dial = our_fault and decision.next_position == current_position
    return current_try + 1 if same_dial and not decision.new_round else 1


def queue_next(
    conn: Connection,
    loaded: LoadedContact,
    *,
    position: int | None,
    at: datetime | None,
    new_round: bool,
    is_appointment: bool,
    try_no: int = 1,
) -> None:
    """Make ``position`` the contact's one queued dial (or queue nothing)."""
    conn.execute(
        update(_pn)
        .where(_pn.c.contact_id == loaded.id)
        .where((_pn.c.next_dial_at.is_not(None)) | _pn.c.next_is_appointment)
        .values(next_dial_at=None, next_is_appointment=False)
    )
    if position is None or at is None:
        return
    conn.execute(
        update(_pn)
        .where(_pn.c.id == loaded.number_ids[position])
        .values(
            next_dial_at=at,
            next_round=loaded.current_round + 1 if new_round else max(loaded.current_round, 1),
            next_try=try_no,
            next_is_appointment=is_appointment,
        )
    )
