"""Build the domain's view of contacts from their rows: three indexed queries for a batch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from dialerd.db import tables
from dialerd.db.bulk import PerDialect, in_values, values_param
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
# built once per dialect for any batch (the ids are one parameter): building a
# statement per call costs more than running it
_CONTACTS_OF = PerDialect(lambda d: _CONTACTS.where(in_values(_ct.c.id, "ids", d)))
_NUMBERS_OF = PerDialect(
    lambda d: _NUMBERS.where(in_values(_pn.c.contact_id, "ids", d)).order_by(_pn.c.position)
)
_ATTEMPTS_OF = PerDialect(lambda d: _ATTEMPTS.where(in_values(_at.c.contact_id, "ids", d)))


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
    dialect = conn.dialect.name
    params = {"ids": values_param(dialect, ids)}
    contacts = conn.execute(_CONTACTS_OF(dialect), params).all()
    numbers: dict[int, list[Any]] = defaultdict(list)
    for n in conn.execute(_NUMBERS_OF(dialect), params):
        numbers[n.contact_id].append(n)
    attempts: dict[int, list[Any]] = defaultdict(list)
    for a in conn.execute(_ATTEMPTS_OF(dialect), params):
        attempts[a.contact_id].append(a)
    windows: dict[int, datetime | None] = {}  # campaign → start of the caps' window
    loaded = {}
    for c in contacts:
        campaign = c.campaign_id
        if campaign not in windows:
            cap_window = _cap_window(policy_for(campaign))
            windows[campaign] = now - cap_window if cap_window is not None else None
        loaded[c.id] = _view(c, numbers[c.id], attempts[c.id], windows[campaign])
    return loaded


def load_contact(
    conn: Connection, contact_id: int, *, now: datetime, policy: DialPolicy
) -> LoadedContact | None:
    return load_contacts(conn, [contact_id], now=now, policy_for=lambda _c: policy).get(contact_id)


# stored text → member without the enum's call (~1 µs each, several per dial)
_OUTCOMES: dict[str, Outcome] = {o.value: o for o in Outcome}
_COUNTS: frozenset[Outcome] = frozenset(o for o in Outcome if info(o).group is not Group.our_fault)


def _outcome(value: str) -> Outcome:
    found = _OUTCOMES.get(value)
    return found if found is not None else Outcome(value)


def _view(c: Any, numbers: list[Any], attempts: list[Any], since: datetime | None) -> LoadedContact:
    """``since``: the start of the rolling caps' window (None: the campaign has no cap)."""
    recent: dict[int, list[datetime]] = {}
    round_results: dict[int, Outcome] = {}
    current = max((a.round for a in attempts), default=0)
    done = AttemptStatus.done
    for a in attempts:
        started, position = a.started_at, a.position
        if since is not None and started is not None and started >= since:
            recent.setdefault(position, []).append(started)
        if a.round == current and a.status == done and a.outcome:
            outcome = _outcome(a.outcome)
            if outcome in _COUNTS:
                round_results[position] = outcome
    rows = numbers
    view = ContactView(
        state=ContactState(c.state),
        rounds_started=c.rounds_started,
        round_started_at=c.round_started_at,
        refusals=c.refusals,
        numbers=tuple(
            NumberView(
                n.position,
                NumberState(n.state),
                n.last_dialed_at,
                tuple(sorted(recent[n.position])) if n.position in recent else (),
                _outcome(n.last_outcome) if n.last_outcome else None,
            )
            for n in rows
        ),
        round_results=round_results,
        not_before=c.not_before,
        appointment_at=c.appointment_at,
        recent_dials=tuple(sorted(t for ts in recent.values() for t in ts)) if recent else (),
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
