"""Do-not-call entries, as operators manage them: parse, add, remove, list.

Adding an entry also takes the matching dialable numbers out of the queue at once
(``state = 'dnc'``, ``next_dial_at`` cleared); the dispatcher checks the table again
right before each dial. Removing an entry gives back the numbers no other entry
still blocks. Either way ``Change.contacts`` are the contacts left with nothing
queued: ``requeue.requeue_all`` gives them their next dial in short transactions
afterwards (a long one would hold SQLite's single write lock against the daemons).
Written in SQLAlchemy Core (:mod:`dialerd.db.coretables`): each function takes an
ORM session or a Core connection, so ``dialerd dnc add`` runs without the ORM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import ColumnElement, delete, insert, or_, select, update

from dialerd.actions.control import campaign_id as find_campaign_id
from dialerd.actions.control import record_event
from dialerd.db.coretables import campaigns, contacts, dnc_entries, phone_numbers
from dialerd.domain.dnc import DncMatcher, DncRule
from dialerd.domain.phones import Rejection, fold_digits, normalize
from dialerd.domain.states import NumberState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dialerd.db.coretables import Db

D, P, K = dnc_entries.c, phone_numbers.c, contacts.c

CHUNK = 500  # values per IN (...) list
MIN_PREFIX_DIGITS = 3  # "+86*" would block a whole country: ask for more
_SEPARATORS = re.compile(r"[ \-().]")
_PREFIX = re.compile(rf"\+[0-9]{{{MIN_PREFIX_DIGITS},15}}")


class DncInputError(ValueError):
    """A number, prefix or contact id that cannot become an entry; the message says why."""


@dataclass(frozen=True)
class Target:
    kind: str  # number | prefix | contact
    value: str  # E.164, "+86755*" or an external id

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def number_target(raw: str, region: str) -> Target:
    found = normalize(raw, region)
    if isinstance(found, Rejection):
        message = found.message
        if found.reason == "invalid_number":
            message += "; " + prefix_hint(raw, region)
        raise DncInputError(message)
    return Target("number", found.e164)


def prefix_hint(raw: str, region: str) -> str:
    """``a prefix ends with *; did you mean 0755*?`` for digits given without their ``*``.

    Digits that start with the region's country code get the ``+`` form as well, since
    without it they are read as a national prefix (``86755*`` is ``+8686755*``).
    """
    body = _SEPARATORS.sub("", fold_digits(raw).strip())
    hint = f"a prefix ends with *; did you mean {body}*"
    code = str(phonenumbers.country_code_for_region(region.upper()))
    if body.isdigit() and code != "0" and body.startswith(code):
        hint += f" (read as +{code}{body.removeprefix('0')}*) or +{body}*"
    return hint + "?"


def prefix_target(raw: str, region: str) -> Target:
    """``+86755*``, ``0755*``, ``00867 55*`` or ``138*`` (national, in ``region``) → ``+86…*``.

    Full-width and other Unicode digits are read as digits (:func:`fold_digits`).
    """
    body = _SEPARATORS.sub("", fold_digits(raw).strip()).removesuffix("*")
    if not body or not re.fullmatch(r"\+?[0-9]+", body):
        raise DncInputError("a prefix is digits, optionally after +, ending in *")
    if body.startswith("+"):
        e164 = body
    elif body.startswith("00"):
        e164 = "+" + body[2:]
    else:
        code = phonenumbers.country_code_for_region(region.upper())
        if code == 0:
            raise DncInputError(f"unknown region {region!r}")
        e164 = f"+{code}{body.removeprefix('0')}"
    if not _PREFIX.fullmatch(e164):
        raise DncInputError(f"prefix {e164}* is too short or too long")
    return Target("prefix", e164 + "*")


def contact_target(raw: str) -> Target:
    value = raw.strip()
    if not value or len(value) > 100:
        raise DncInputError("a contact id is 1 to 100 characters")
    if any(ch < " " for ch in value):
        raise DncInputError("a contact id has no control characters")
    return Target("contact", value)


def parse_target(raw: str, region: str) -> Target:
    """A number, or a prefix when it ends in ``*`` (full-width ``＊`` too)."""
    if fold_digits(raw).strip().endswith("*"):
        return prefix_target(raw, region)
    return number_target(raw, region)


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


@dataclass(frozen=True)
class Marked:
    numbers: int  # numbers taken out of the queue
    contacts: frozenset[int]  # contacts whose queued number was one of them


def mark_numbers(session: Db, campaign_id: int | None, kind: str, values: Sequence[str]) -> Marked:
    """Take the dialable numbers these entries match out of the queue."""
    numbers, contacts = 0, set[int]()
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        rows = session.execute(
            select(P.id, P.contact_id, P.next_dial_at).where(
                P.state == NumberState.dialable,
                *_numbers_matching(campaign_id, kind, chunk),
            )
        ).all()
        ids = [r.id for r in rows]
        contacts.update(r.contact_id for r in rows if r.next_dial_at is not None)
        for first in range(0, len(ids), CHUNK):
            session.execute(
                update(phone_numbers)
                .where(P.id.in_(ids[first : first + CHUNK]))
                .values(state=NumberState.dnc, next_dial_at=None)
            )
        numbers += len(ids)
    return Marked(numbers, frozenset(contacts))


def exists(session: Db, target: Target, campaign_id: int | None) -> bool:
    query = select(D.id).where(D.kind == target.kind, D.value == target.value, _scope(campaign_id))
    return session.scalars(query.limit(1)).first() is not None


@dataclass(frozen=True)
class Change:
    entries: int  # entries added or removed
    numbers: int  # numbers taken out of (or given back to) the queue
    contacts: frozenset[int] = frozenset()  # to requeue afterwards: see requeue.requeue_all


def add(
    session: Db,
    target: Target,
    *,
    campaign: str | None,
    reason: str,
    source: str,
    who: str,
    now: datetime,
) -> Change:
    """Add one entry (no duplicate when it is already there) and mark its numbers."""
    campaign_id = find_campaign_id(session, campaign) if campaign else None
    if exists(session, target, campaign_id):
        marked = mark_numbers(session, campaign_id, target.kind, [target.value])
        return Change(0, marked.numbers, marked.contacts)
    session.execute(
        insert(dnc_entries).values(
            campaign_id=campaign_id,
            kind=target.kind,
            value=target.value,
            reason=reason,
            source=source[:64],
            created_at=now,
        )
    )
    marked = mark_numbers(session, campaign_id, target.kind, [target.value])
    details = {
        "kind": target.kind,
        "value": target.value,
        "reason": reason,
        "numbers": marked.numbers,
    }
    record_event(
        session, campaign_id=campaign_id, kind="dnc_added", who=who, now=now, details=details
    )
    return Change(1, marked.numbers, marked.contacts)


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
