"""Do-not-call entries, as operators manage them: parse, add, remove, list.

Adding an entry also takes the matching dialable numbers out of the queue at once
(``state = 'dnc'``, ``next_dial_at`` cleared); the dispatcher checks the table again
right before each dial. Removing an entry gives back the numbers no other entry
still blocks. Either way ``Change.contacts`` are the contacts left with nothing
queued: ``requeue.requeue_all`` gives them their next dial in short transactions
afterwards (a long one would hold SQLite's single write lock against the daemons).
Written in SQLAlchemy Core (:mod:`dialerd.db.coretables`). Reading an entry from
what an operator typed (:mod:`dialerd.actions.dnc_targets`) and adding one
(:mod:`dialerd.actions.dnc_add`) live apart, without SQLAlchemy: ``dialerd dnc add``
on SQLite runs without it. Both are importable from here as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, delete, or_, select, update

from dialerd.actions.control import campaign_id as find_campaign_id
from dialerd.actions.control import record_event
from dialerd.actions.dnc_add import CHUNK, Change, Marked, add, exists, take_out
from dialerd.actions.dnc_targets import (
    MIN_PREFIX_DIGITS,
    DncInputError,
    Target,
    contact_target,
    number_target,
    parse_target,
    prefix_hint,
    prefix_target,
)
from dialerd.actions.port import as_runner
from dialerd.db.coretables import campaigns, contacts, dnc_entries, phone_numbers
from dialerd.domain.dnc import DncMatcher, DncRule
from dialerd.domain.states import NumberState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dialerd.db.coretables import Db

__all__ = [  # parsing and adding live in their own modules (no SQLAlchemy there)
    "CHUNK",
    "MIN_PREFIX_DIGITS",
    "Change",
    "DncInputError",
    "Marked",
    "Target",
    "add",
    "contact_target",
    "exists",
    "number_target",
    "parse_target",
    "prefix_hint",
    "prefix_target",
]

D, P, K = dnc_entries.c, phone_numbers.c, contacts.c


def _scope(campaign_id: int | None) -> ColumnElement[bool]:
    if campaign_id is None:
        return D.campaign_id.is_(None)
    return D.campaign_id == campaign_id


def _numbers_matching(
    campaign_id: int | None, kind: str, values: Sequence[str]
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if campaign_id is not None:
        where.append(P.campaign_id == campaign_id)
    if kind == "number":
        where.append(P.e164.in_(values))
    elif kind == "prefix":
        where.append(or_(*(P.e164.startswith(v.rstrip("*")) for v in values)))
    else:
        ids = select(K.id).where(K.external_id.in_(values))
        if campaign_id is not None:
            ids = ids.where(K.campaign_id == campaign_id)
        where.append(P.contact_id.in_(ids))
    return where


def mark_numbers(session: Db, campaign_id: int | None, kind: str, values: Sequence[str]) -> Marked:
    """Take the dialable numbers these entries match out of the queue."""
    numbers, contacts = 0, set[int]()
    run = as_runner(session)
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        rows = session.execute(
            select(P.id, P.contact_id, P.next_dial_at).where(
                P.state == NumberState.dialable,
                *_numbers_matching(campaign_id, kind, chunk),
            )
        ).all()
        marked = take_out(run, [(r.id, r.contact_id, r.next_dial_at) for r in rows])
        numbers += marked.numbers
        contacts.update(marked.contacts)
    return Marked(numbers, frozenset(contacts))


def remove(
    session: Session, target: Target, *, campaign: str | None, who: str, now: datetime
) -> Change:
    """Remove the entry and give back the numbers no remaining entry blocks."""
    campaign_id = find_campaign_id(session, campaign) if campaign else None
    gone = session.execute(
        delete(dnc_entries).where(
            D.kind == target.kind, D.value == target.value, _scope(campaign_id)
        )
    ).rowcount  # type: ignore[attr-defined]
    if not gone:
        return Change(0, 0)
    restored, contacts = _restore_numbers(session, campaign_id, target, now=now)
    details = {"kind": target.kind, "value": target.value, "numbers": restored}
    record_event(
        session, campaign_id=campaign_id, kind="dnc_removed", who=who, now=now, details=details
    )
    return Change(gone, restored, contacts)


def _restore_numbers(
    session: Session, campaign_id: int | None, target: Target, *, now: datetime
) -> tuple[int, frozenset[int]]:
    from dialerd.actions.requeue import resume, stranded

    rows = session.execute(
        select(P.id, P.campaign_id, P.e164, K.external_id, K.id.label("contact_id"))
        .join(contacts, K.id == P.contact_id)
        .where(
            P.state == NumberState.dnc,
            *_numbers_matching(campaign_id, target.kind, [target.value]),
        )
    ).all()
    matchers: dict[int, DncMatcher] = {}
    free: list[int] = []
    freed: set[int] = set()
    for number_id, cid, e164, external_id, contact_id in rows:
        if cid not in matchers:
            matchers[cid] = DncMatcher(_rules(session, cid))
        if matchers[cid].blocks(e164, external_id) is None:
            free.append(number_id)
            freed.add(contact_id)
    paused = stranded(session, freed)
    for start in range(0, len(free), CHUNK):
        session.execute(
            update(phone_numbers)
            .where(P.id.in_(free[start : start + CHUNK]))
            .values(state=NumberState.dialable)
        )
    resume(session, paused, now=now)
    return len(free), frozenset(freed)


def _rules(session: Db, campaign_id: int) -> Iterable[DncRule]:
    query = select(D.kind, D.value, D.reason).where(
        or_(D.campaign_id.is_(None), D.campaign_id == campaign_id)
    )
    return [DncRule(k, v, r or "") for k, v, r in session.execute(query)]


@dataclass(frozen=True)
class Listed:
    kind: str
    value: str
    campaign: str | None
    reason: str
    source: str
    created_at: datetime


def entries(session: Db, *, campaign: str | None = None) -> list[Listed]:
    """Every entry, or those that apply to one campaign (its own and the global ones)."""
    query = (
        select(D.kind, D.value, campaigns.c.name, D.reason, D.source, D.created_at)
        .outerjoin(campaigns, campaigns.c.id == D.campaign_id)
        .order_by(D.kind, D.value, D.id)
    )
    if campaign is not None:
        cid = find_campaign_id(session, campaign)
        query = query.where(or_(D.campaign_id.is_(None), D.campaign_id == cid))
    return [Listed(*row) for row in session.execute(query)]
