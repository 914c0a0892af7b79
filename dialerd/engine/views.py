"""Build the domain's view of one contact from its rows (a handful of rows, by index)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from dialerd.db.models import Attempt, Contact, PhoneNumber
from dialerd.domain.outcomes import Group, Outcome, info
from dialerd.domain.policy import ContactView, DialPolicy, NumberView

_pn = PhoneNumber.__table__
_ct = Contact.__table__
_at = Attempt.__table__


@dataclass(frozen=True)
class LoadedContact:
    id: int
    external_id: str
    timezone: str | None
    rounds_started: int
    current_round: int  # sequence number of the contact's latest round (appointments included)
    view: ContactView
    number_ids: dict[int, int]  # position -> phone_numbers.id
    numbers: dict[int, str]  # position -> E.164


def _cap_window(policy: DialPolicy) -> timedelta | None:
    windows = [c.window for c in (policy.number_cap, policy.contact_cap) if c is not None]
    return max(windows) if windows else None


def load_contact(
    conn: Connection, contact_id: int, *, now: datetime, policy: DialPolicy
) -> LoadedContact | None:
    c = conn.execute(select(_ct).where(_ct.c.id == contact_id)).first()
    if c is None:
        return None
    numbers = conn.execute(
        select(
            _pn.c.id,
            _pn.c.position,
            _pn.c.state,
            _pn.c.last_dialed_at,
            _pn.c.e164,
            _pn.c.last_outcome,
            _pn.c.next_is_appointment,
        )
        .where(_pn.c.contact_id == contact_id)
        .order_by(_pn.c.position)
    ).all()
    attempts = conn.execute(
        select(_at.c.round, _at.c.position, _at.c.outcome, _at.c.started_at, _at.c.status).where(
            _at.c.contact_id == contact_id
        )
    ).all()
    cap_window = _cap_window(policy)
    since = now - cap_window if cap_window is not None else None
    recent: dict[int, list[datetime]] = {}
    round_results: dict[int, Outcome] = {}
    current = max((a.round for a in attempts), default=0)
    for a in attempts:
        if since is not None and a.started_at is not None and a.started_at >= since:
            recent.setdefault(a.position, []).append(a.started_at)
        if a.round == current and a.status == "done" and a.outcome is not None:
            outcome = Outcome(a.outcome)
            if info(outcome).group is not Group.our_fault:
                round_results[a.position] = outcome
    view = ContactView(
        state=c.state,
        rounds_started=c.rounds_started,
        round_started_at=c.round_started_at,
        refusals=c.refusals,
        numbers=tuple(
            NumberView(
                position=n.position,
                state=n.state,
                last_dialed_at=n.last_dialed_at,
                recent_dials=tuple(sorted(recent.get(n.position, ()))),
                last_outcome=Outcome(n.last_outcome) if n.last_outcome else None,
            )
            for n in numbers
        ),
        round_results=round_results,
        not_before=c.not_before,
        appointment_at=c.appointment_at,
        recent_dials=tuple(sorted(t for ts in recent.values() for t in ts)),
        appointment_position=next((n.position for n in numbers if n.next_is_appointment), None),
    )
    return LoadedContact(
        id=c.id,
        external_id=c.external_id,
        timezone=c.timezone,
        rounds_started=c.rounds_started,
        current_round=current,
        view=view,
        number_ids={n.position: n.id for n in numbers},
        numbers={n.position: n.e164 for n in numbers},
    )
