"""The statements of the light CLI verbs, by name, as SQLAlchemy Core.

``dialerd status``, ``dnc add`` and ``campaign pause|resume|stop`` run these: through
SQLAlchemy on PostgreSQL (:mod:`dialerd.db.corerunner`), and on SQLite as the text
they compile to, through the standard library's ``sqlite3`` (:mod:`dialerd.db.lite`,
whose ``sql`` module :mod:`dialerd.db.litegen` writes from these; tests/unit/test_lite_sql.py
checks it still matches). Parameters are named ``bindparam``s; a value written into
the statement (a state, a ``LIMIT``) is compiled with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, bindparam, func, insert, select, update

from dialerd.db.coretables import (
    attempts,
    campaign_events,
    campaigns,
    contacts,
    dnc_entries,
    instances,
    phone_numbers,
)
from dialerd.db.queue import IN_FLIGHT, QUEUED
from dialerd.domain.states import CampaignState, NumberState

C, D = campaigns.c, dnc_entries.c
P, K, A, N = phone_numbers.c, contacts.c, attempts.c, instances.c

# -- campaigns: find one, change its state, write the audit log -------------------------

campaign_id = select(C.id).where(C.name == bindparam("name"))
campaign_state = (
    select(C.id, C.state).where(C.name == bindparam("name")).with_for_update()
)  # FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE already holds the write lock
set_campaign_state = (
    update(campaigns)
    .where(C.id == bindparam("campaign_id"))
    .values(state=bindparam("state"), updated_at=bindparam("now"))
)
record_event = insert(campaign_events).values(
    campaign_id=bindparam("campaign_id"),
    at=bindparam("now"),
    kind=bindparam("kind"),
    actor=bindparam("actor"),
    details=bindparam("details"),
)

# -- dialerd status -----------------------------------------------------------------------

campaign_list = select(C.id, C.name, C.state).order_by(C.name)
campaign_named = campaign_list.where(C.name == bindparam("name"))
contacts_by_state = select(K.campaign_id, K.state, func.count()).group_by(K.campaign_id, K.state)
due_now = (
    select(P.campaign_id, func.count())
    .where(QUEUED, P.next_dial_at <= bindparam("now"))
    .group_by(P.campaign_id)
)
open_attempts = select(A.campaign_id, func.count()).where(IN_FLIGHT).group_by(A.campaign_id)
last_claimed = select(A.campaign_id, func.max(A.claimed_at)).group_by(A.campaign_id)
daemons = (
    select(instances)
    .where(N.heartbeat_at >= bindparam("since"))
    .order_by(N.heartbeat_at.desc(), N.id)
)
dialling_campaign_files = select(C.name, C.config).where(
    C.state.in_((CampaignState.active, CampaignState.paused))
)

# -- dialerd dnc add: one entry, and the dialable numbers it matches ---------------------

_entry = (D.kind == bindparam("kind"), D.value == bindparam("value"))
dnc_exists = select(D.id).where(*_entry, D.campaign_id == bindparam("campaign_id")).limit(1)
dnc_exists_global = select(D.id).where(*_entry, D.campaign_id.is_(None)).limit(1)
insert_dnc = insert(dnc_entries).values(
    campaign_id=bindparam("campaign_id"),
    kind=bindparam("kind"),
    value=bindparam("value"),
    reason=bindparam("reason"),
    source=bindparam("source"),
    created_at=bindparam("now"),
)
_dialable = select(P.id, P.contact_id, P.next_dial_at).where(P.state == NumberState.dialable)
_in_campaign = P.campaign_id == bindparam("campaign_id")
_contact_ids = select(K.id).where(K.external_id == bindparam("value"))
dialable_number = _dialable.where(P.e164 == bindparam("value"))
dialable_prefix = _dialable.where(P.e164.startswith(bindparam("prefix")))
dialable_contact = _dialable.where(P.contact_id.in_(_contact_ids))
dialable_number_in_campaign = dialable_number.where(_in_campaign)
dialable_prefix_in_campaign = dialable_prefix.where(_in_campaign)
dialable_contact_in_campaign = _dialable.where(
    _in_campaign, P.contact_id.in_(_contact_ids.where(K.campaign_id == bindparam("campaign_id")))
)
take_numbers_out = (
    update(phone_numbers)
    .where(P.id.in_(bindparam("ids", expanding=True)))
    .values(state=NumberState.dnc, next_dial_at=None)
)


Named = Select[Any] | Insert | Update | Delete


def named() -> dict[str, Named]:
    """Every statement above by its name (what the runners are asked for)."""
    kinds = (Select, Insert, Update, Delete)
    return {n: v for n, v in globals().items() if n[0] != "_" and isinstance(v, kinds)}
