"""The rows a batch of decisions changes, written with one executemany per table.

The attempt, the number, the contact, the round's end, the next queued dial (one per
contact: every other number's queue fields are cleared) and DNC entries; and the
contacts whose deadline passed (:func:`write_missed`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, bindparam, func, insert, update

from dialerd.db import tables
from dialerd.db.bulk import Many
from dialerd.domain.outcomes import Group, info
from dialerd.domain.policy import Decision
from dialerd.domain.ports import RECORDING_KEY, PbxSignals
from dialerd.domain.states import AttemptStatus, ClosedReason, ContactState
from dialerd.engine.views import LoadedContact

if TYPE_CHECKING:
    from dialerd.engine.pending import Pending

_pn = tables.phone_numbers
_ct = tables.contacts
_at = tables.attempts
_rd = tables.rounds
_dnc = tables.dnc_entries

# One statement per table, run for a batch of rows as tuples (dialerd.db.bulk): the
# names give the order of each row's values.
_CLOSE_ATTEMPT = Many(
    update(_at)
    .where(_at.c.id == bindparam("b_id"))
    .values(
        status=AttemptStatus.done,
        outcome=bindparam("b_outcome"),
        bucket=bindparam("b_bucket"),
        treatment=bindparam("b_treatment"),
        next_dial_at=bindparam("b_next"),
        answered_at=bindparam("b_answered"),
        ended_at=bindparam("b_ended"),
        reason=bindparam("b_reason"),
        hangup_cause=bindparam("b_cause"),
        callee_cause=bindparam("b_callee"),
        dial_status=bindparam("b_dial"),
        amd_status=bindparam("b_amd"),
        amd_cause=bindparam("b_amd_cause"),
        disposition=bindparam("b_disposition"),
        signals=bindparam("b_signals"),
        error=bindparam("b_error"),
        recording_file=bindparam("b_recording"),
    ),
    (
        "b_id b_outcome b_bucket b_treatment b_next b_answered b_ended b_reason b_cause"
        " b_callee b_dial b_amd b_amd_cause b_disposition b_signals b_error b_recording"
    ).split(),
)
# the number's own result: its state, last outcome, and out of flight
_SETTLE_VALUES: dict[str, object] = {
    "state": bindparam("b_state"),
    "last_outcome": bindparam("b_outcome"),
    "in_flight_attempt_id": None,
    "claimed_by": None,
}
_SETTLE_NUMBER = Many(
    update(_pn).where(_pn.c.id == bindparam("b_id")).values(_SETTLE_VALUES),
    ("b_id", "b_state", "b_outcome"),
)
_CONTACT_STATE = Many(
    update(_ct)
    .where(_ct.c.id == bindparam("b_id"))
    .values(
        state=bindparam("b_state"),
        closed_reason=bindparam("b_reason"),
        refusals=bindparam("b_refusals"),
        appointment_at=bindparam("b_appointment"),
        result=func.coalesce(bindparam("b_result"), _ct.c.result),
        updated_at=bindparam("b_now"),
    ),
    ("b_id", "b_state", "b_reason", "b_refusals", "b_appointment", "b_result", "b_now"),
)
_END_ROUND = Many(
    update(_rd)
    .where(_rd.c.contact_id == bindparam("b_contact"), _rd.c.round == bindparam("b_round"))
    .values(ended_at=bindparam("b_now"), result=bindparam("b_result")),
    ("b_contact", "b_round", "b_now", "b_result"),
)
# every number of the contact leaves the queue (the one queued next is set by _QUEUE)
_UNQUEUE = Many(
    update(_pn)
    .where(_pn.c.contact_id == bindparam("b_contact"))
    .where(_pn.c.next_dial_at.is_not(None) | _pn.c.next_is_appointment)
    .values(next_dial_at=None, next_is_appointment=False),
    ("b_contact",),
)
# the settled number is also the next one queued (a redial): one row write, not two
_SETTLE_AND_QUEUE = Many(
    update(_pn)
    .where(_pn.c.id == bindparam("b_id"))
    .values(
        {
            **_SETTLE_VALUES,
            "next_dial_at": bindparam("b_at"),
            "next_round": bindparam("b_round"),
            "next_try": bindparam("b_try"),
            "next_is_appointment": bindparam("b_appointment"),
        }
    ),
    ("b_id", "b_state", "b_outcome", "b_at", "b_round", "b_try", "b_appointment"),
)
_QUEUE = Many(
    update(_pn)
    .where(_pn.c.id == bindparam("b_id"))
    .values(
        next_dial_at=bindparam("b_at"),
        next_round=bindparam("b_round"),
        next_try=bindparam("b_try"),
        next_is_appointment=bindparam("b_appointment"),
    ),
    ("b_id", "b_at", "b_round", "b_try", "b_appointment"),
)


_SIGNAL_NAMES = tuple(f.name for f in fields(PbxSignals) if f.name != "raw")


def _signals_json(signals: PbxSignals, rule: str, known: bool) -> dict[str, Any]:
    # by name, not asdict(): asdict deep-copies ``raw`` only to drop it (a third of a result's cost)
    data: dict[str, Any] = {}
    for name in _SIGNAL_NAMES:
        v = getattr(signals, name)
        if v is not None:
            data[name] = v.isoformat() if isinstance(v, datetime) else v
    if not signals.lost:
        del data["lost"]  # said only when true
    data["raw"] = {
        str(k): v if isinstance(v, str | int | float | bool | None) else str(v)
        for k, v in signals.raw.items()
    }
    data["rule"] = rule
    data["known"] = known
    return data


class Writes:
    """The rows a pass changes, gathered so each table gets one executemany."""

    def __init__(self) -> None:
        self.attempts: list[tuple[Any, ...]] = []
        self.numbers: list[tuple[Any, ...]] = []
        self.contacts: list[tuple[Any, ...]] = []
        self.rounds: list[tuple[Any, ...]] = []
        self.unqueue: list[tuple[int]] = []
        self.queue: list[tuple[Any, ...]] = []
        self.settle_queue: list[tuple[Any, ...]] = []
        self.dnc: list[dict[str, Any]] = []

    def add(
        self,
        p: Pending,
        loaded: LoadedContact,
        d: Decision,
        campaign: str,
        now: datetime,
    ) -> None:
        a = p.attempt
        self.add_attempt(p, d, now)
        self.add_contact(loaded, d, now)
        if d.add_dnc:
            self.add_dnc(a.number, campaign, now)
        queued = self.add_queue(
            loaded,
            position=d.next_position,
            at=d.next_at,
            new_round=d.new_round,
            is_appointment=d.next_is_appointment,
            try_no=_next_try(d, a.try_no, a.position),
        )
        settle = (a.phone_number_id, d.number_state, p.outcome.value)
        if queued and self.queue[-1][0] == a.phone_number_id:  # a redial: one row write
            self.settle_queue.append(settle + self.queue.pop()[1:])
        else:
            self.numbers.append(settle)

    def add_attempt(self, p: Pending, d: Decision, now: datetime, *, applied: bool = True) -> None:
        """Close the attempt row (``applied`` False: the decision was not written, no next dial)."""
        a, s = p.attempt, p.signals
        self.attempts.append(
            (
                a.id,
                p.outcome.value,
                d.bucket.value,
                d.treatment.kind.value,
                d.next_at if applied else None,
                s.answered_at,
                s.ended_at or now,
                s.reason,
                s.hangup_cause,
                s.callee_cause,
                s.dial_status,
                s.amd_status,
                s.amd_cause,
                s.disposition,
                _signals_json(s, p.rule, p.known),
                s.error,
                s.raw.get(RECORDING_KEY),
            )
        )

    def add_dnc(self, number: str, campaign: str, now: datetime) -> None:
        """The callee asked never to be called again."""
        self.dnc.append(
            {
                "campaign_id": None,
                "kind": "number",
                "value": number,
                "reason": "requested by the callee",
                "source": f"call:{campaign}",
                "created_at": now,
            }
        )

    def add_contact(self, loaded: LoadedContact, d: Decision, now: datetime) -> None:
        result = d.round_result.value if d.round_result else None
        self.contacts.append(
            (loaded.id, d.contact_state, d.closed_reason, d.refusals, d.appointment_at, result, now)
        )
        if result is not None:
            self.rounds.append((loaded.id, loaded.current_round, now, result))

    def add_queue(
        self,
        loaded: LoadedContact,
        *,
        position: int | None,
        at: datetime | None,
        new_round: bool,
        is_appointment: bool,
        try_no: int = 1,
    ) -> bool:
        """Make ``position`` the contact's one queued dial (or queue nothing); True if queued."""
        self.unqueue.append((loaded.id,))
        if position is None or at is None:
            return False
        current = loaded.current_round
        self.queue.append(
            (
                loaded.number_ids[position],
                at,
                current + 1 if new_round else max(current, 1),
                try_no,
                is_appointment,
            )
        )
        return True

    def flush(self, conn: Connection) -> None:
        _CLOSE_ATTEMPT.execute(conn, self.attempts)
        _CONTACT_STATE.execute(conn, self.contacts)
        _END_ROUND.execute(conn, self.rounds)
        # the unqueue first: settling touches none of its columns, queueing must follow it
        _UNQUEUE.execute(conn, self.unqueue)
        _SETTLE_NUMBER.execute(conn, self.numbers)
        _SETTLE_AND_QUEUE.execute(conn, self.settle_queue)
        _QUEUE.execute(conn, self.queue)
        if self.dnc:
            conn.execute(insert(_dnc), self.dnc)


def _next_try(decision: Decision, current_try: int, current_position: int | None) -> int:
    """A redial of the same number in the same round after our own failure is the next try."""
    our_fault = info(decision.outcome).group is Group.our_fault
    same_dial = our_fault and decision.next_position == current_position
    return current_try + 1 if same_dial and not decision.new_round else 1


def write_step(
    conn: Connection,
    loaded: LoadedContact,
    *,
    state: str,
    closed_reason: str | None,
    appointment_at: datetime | None,
    position: int | None,
    at: datetime | None,
    new_round: bool,
    is_appointment: bool,
    now: datetime,
) -> None:
    """Write a plan made without a dial result (see engine.schedule)."""
    conn.execute(
        update(_ct)
        .where(_ct.c.id == loaded.id)
        .values(
            state=state, closed_reason=closed_reason, appointment_at=appointment_at, updated_at=now
        )
    )
    writes = Writes()
    writes.add_queue(
        loaded, position=position, at=at, new_round=new_round, is_appointment=is_appointment
    )
    writes.flush(conn)


def write_missed(
    conn: Connection,
    contact_ids: Sequence[int],
    *,
    state: ContactState,
    reason: ClosedReason,
    now: datetime,
) -> list[int]:
    """Settle contacts whose deadline passed (``domain.due.at_deadline``'s answer).

    The contact takes ``state`` and ``reason`` and leaves the queue; only contacts
    still active change (a result written meanwhile wins). Returns those changed.
    """
    if not contact_ids:
        return []
    changed = [
        int(r.id)
        for r in conn.execute(
            update(_ct)
            .where(_ct.c.id.in_(contact_ids), _ct.c.state == ContactState.active)
            .values(state=state, closed_reason=reason, updated_at=now)
            .returning(_ct.c.id)
        )
    ]
    if changed:
        conn.execute(
            update(_pn)
            .where(_pn.c.contact_id.in_(changed))
            .where(_pn.c.next_dial_at.is_not(None) | _pn.c.next_is_appointment)
            .values(next_dial_at=None, next_is_appointment=False)
        )
    return changed
