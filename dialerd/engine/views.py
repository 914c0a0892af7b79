"""Build the domain's view of contacts from their rows: three indexed queries for a batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, select

from dialerd.db import tables
from dialerd.domain.outcomes import Group, Outcome, info
from dialerd.domain.policy import ContactView, DialPolicy, NumberView
from dialerd.domain.states import AttemptStatus, ContactState, NumberState

_pn = tables.phone_numbers
_ct = tables.contacts
_at = tables.attempts

_CONTACTS = select(
    _ct.c.id,
    _ct.c.campaign_id,
    _ct.c.external_id,
    _ct.c.timezone,
    _ct.c.state,
    _ct.c.rounds_started,
    _ct.c.round_started_at,
    _ct.c.refusals,
    _ct.c.not_before,
    _ct.c.appointment_at,
)
_NUMBERS = select(
    _pn.c.id,
    _pn.c.contact_id,
    _pn.c.position,
    _pn.c.state,
    _pn.c.last_dialed_at,
    _pn.c.e164,
    _pn.c.last_outcome,
    _pn.c.next_is_appointment,
)
_ATTEMPTS = select(
    _at.c.contact_id, _at.c.round, _at.c.position, _at.c.outcome, _at.c.started_at, _at.c.status
)
# built once for any batch (an expanding IN): building a statement per call costs more
_IDS: BindParameter[int] = bindparam("ids", expanding=True)
_CONTACTS_OF = _CONTACTS.where(_ct.c.id.in_(_IDS))
_NUMBERS_OF = _NUMBERS.where(_pn.c.contact_id.in_(_IDS)).order_by(_pn.c.position)
_ATTEMPTS_OF = _ATTEMPTS.where(_at.c.contact_id.in_(_IDS))


@dataclass(frozen=True)
class LoadedContact:
    id: int
    campaign_id: int
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


def load_contacts(
    conn: Connection,
    contact_ids: Iterable[int],
    *,
    now: datetime,
    policy_for: Callable[[int], DialPolicy],
) -> dict[int, LoadedContact]:
    """Views of many contacts at once (``policy_for(campaign_id)`` gives the caps' window)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    params = {"ids": ids}
    contacts = conn.execute(_CONTACTS_OF, params).all()
    numbers: dict[int, list[Any]] = defaultdict(list)
    for n in conn.execute(_NUMBERS_OF, params):
        numbers[n.contact_id].append(n)
    attempts: dict[int, list[Any]] = defaultdict(list)
    for a in conn.execute(_ATTEMPTS_OF, params):
        attempts[a.contact_id].append(a)
    return {
        c.id: _view(c, numbers[c.id], attempts[c.id], now, policy_for(c.campaign_id))
        for c in contacts
    }


def load_contact(
    conn: Connection, contact_id: int, *, now: datetime, policy: DialPolicy
) -> LoadedContact | None:
    return load_contacts(conn, [contact_id], now=now, policy_for=lambda _c: policy).get(contact_id)


def _view(
    c: Any,
    numbers: list[Any],
    attempts: list[Any],
    now: datetime,
    policy: DialPolicy,
) -> LoadedContact:
    cap_window = _cap_window(policy)
    since = now - cap_window if cap_window is not None else None
    recent: dict[int, list[datetime]] = {}
    round_results: dict[int, Outcome] = {}
    current = max((a.round for a in attempts), default=0)
    for a in attempts:
        started, position = a.started_at, a.position
        if since is not None and started is not None and started >= since:
            recent.setdefault(position, []).append(started)
        if a.round == current and a.status == AttemptStatus.done and a.outcome:
            outcome = Outcome(a.outcome)
            if info(outcome).group is not Group.our_fault:
                round_results[position] = outcome
    rows = numbers
    view = ContactView(
        state=ContactState(c.state),
        rounds_started=c.rounds_started,
        round_started_at=c.round_started_at,
        refusals=c.refusals,
        numbers=tuple(
            NumberView(
                position=n.position,
                state=NumberState(n.state),
                last_dialed_at=n.last_dialed_at,
                recent_dials=tuple(sorted(recent.get(n.position, ()))),
                last_outcome=Outcome(n.last_outcome) if n.last_outcome else None,
            )
            for n in rows
        ),
        round_results=round_results,
        not_before=c.not_before,
        appointment_at=c.appointment_at,
        recent_dials=tuple(sorted(t for ts in recent.values() for t in ts)),
        appointment_position=next((n.position for n in rows if n.next_is_appointment), None),
    )
    return LoadedContact(
        id=c.id,
        campaign_id=c.campaign_id,
        external_id=c.external_id,
        timezone=c.timezone,
        rounds_started=c.rounds_started,
        current_round=current,
        view=view,
        number_ids={n.position: n.id for n in rows},
        numbers={n.position: n.e164 for n in rows},
    )
