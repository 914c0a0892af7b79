"""Put a contact back in the queue (or close it) when no dial result drives it.

Used when a queued dial is refused before it leaves (a DNC hit) and when an
operator's change (a DNC entry added or removed) leaves contacts with nothing queued.
The domain's ``plan_next`` chooses the number, the time and the contact's state.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, update

from dialerd.db import tables
from dialerd.domain.due import plan_next
from dialerd.domain.states import ContactState
from dialerd.engine.rowwrites import write_step
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.views import load_contacts

_pn = tables.phone_numbers
_ct = tables.contacts


def reschedule_contacts(
    conn: Connection, contact_ids: Iterable[int], *, runtime: CampaignRuntime, now: datetime
) -> int:
    """Queue each contact's next dial by ``plan_next`` (or pause or close it, as it says).

    The contacts are read in one batch; returns how many got a dial queued.
    """
    policy = runtime.policy
    queued = 0
    for loaded in load_contacts(conn, contact_ids, now=now, policy_for=lambda _c: policy).values():
        step = plan_next(
            loaded.view, now=now, policy=policy, calendar=runtime.calendar, tz=loaded.timezone
        )
        write_step(
            conn,
            loaded,
            state=step.contact_state,
            closed_reason=step.closed_reason,
            appointment_at=step.appointment_at,
            position=step.position,
            at=step.at,
            new_round=step.new_round,
            is_appointment=step.is_appointment,
            now=now,
        )
        queued += step.position is not None
    return queued


def flag_contact(conn: Connection, contact_id: int, *, reason: str, now: datetime) -> None:
    """Take a contact out of dialling for a person to look at (e.g. unsafe input)."""
    conn.execute(update(_pn).where(_pn.c.contact_id == contact_id).values(next_dial_at=None))
    conn.execute(
        update(_ct)
        .where(_ct.c.id == contact_id)
        .values(state=ContactState.paused, flagged=reason[:500], updated_at=now)
    )
