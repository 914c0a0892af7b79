"""Adding one do-not-call entry: the entry, its numbers out of the queue, the audit row.

Runs named statements (:mod:`dialerd.actions.port`): on an ORM session, a Core
connection or a ``Runner``, so ``dialerd dnc add`` runs without the ORM, and on
SQLite without SQLAlchemy. ``Change.contacts`` are the contacts left with nothing
queued: ``requeue.requeue_all`` gives them their next dial afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from dialerd.actions.control import campaign_id as find_campaign_id
from dialerd.actions.control import record_event
from dialerd.actions.dnc_targets import Target
from dialerd.actions.port import Runner, as_runner

if TYPE_CHECKING:
    from dialerd.db.coretables import Db

CHUNK = 500  # values per IN (...) list


@dataclass(frozen=True)
class Marked:
    numbers: int  # numbers taken out of the queue
    contacts: frozenset[int]  # contacts whose queued number was one of them


@dataclass(frozen=True)
class Change:
    entries: int  # entries added or removed
    numbers: int  # numbers taken out of (or given back to) the queue
    contacts: frozenset[int] = frozenset()  # to requeue afterwards: see requeue.requeue_all


def take_out(run: Runner, rows: list[tuple[int, int, datetime | None]]) -> Marked:
    """Take these (number id, contact id, next dial) numbers out of the queue."""
    ids = [number_id for number_id, _, _ in rows]
    for first in range(0, len(ids), CHUNK):
        run.execute("take_numbers_out", ids=ids[first : first + CHUNK])
    contacts = frozenset(contact for _, contact, next_dial in rows if next_dial is not None)
    return Marked(len(ids), contacts)


def mark_target(run: Runner, campaign_id: int | None, target: Target) -> Marked:
    """Take the dialable numbers ``target`` matches (in one campaign, or all) out of the queue."""
    name = f"dialable_{target.kind}"
    params: dict[str, object] = {"value": target.value}
    if target.kind == "prefix":
        params = {"prefix": target.value.rstrip("*")}
    if campaign_id is not None:
        name += "_in_campaign"
        params["campaign_id"] = campaign_id
    return take_out(run, [tuple(row) for row in run.rows(name, **params)])


def exists(db: Db | Runner, target: Target, campaign_id: int | None) -> bool:
    entry = {"kind": target.kind, "value": target.value}
    if campaign_id is None:
        return bool(as_runner(db).rows("dnc_exists_global", **entry))
    return bool(as_runner(db).rows("dnc_exists", campaign_id=campaign_id, **entry))


def add(
    db: Db | Runner,
    target: Target,
    *,
    campaign: str | None,
    reason: str,
    source: str,
    who: str,
    now: datetime,
) -> Change:
    """Add one entry (no duplicate when it is already there) and mark its numbers."""
    run = as_runner(db)
    campaign_id = find_campaign_id(run, campaign) if campaign else None
    if exists(run, target, campaign_id):
        marked = mark_target(run, campaign_id, target)
        return Change(0, marked.numbers, marked.contacts)
    run.execute(
        "insert_dnc",
        campaign_id=campaign_id,
        kind=target.kind,
        value=target.value,
        reason=reason,
        source=source[:64],
        now=now,
    )
    marked = mark_target(run, campaign_id, target)
    details = {
        "kind": target.kind,
        "value": target.value,
        "reason": reason,
        "numbers": marked.numbers,
    }
    record_event(run, campaign_id=campaign_id, kind="dnc_added", who=who, now=now, details=details)
    return Change(1, marked.numbers, marked.contacts)
