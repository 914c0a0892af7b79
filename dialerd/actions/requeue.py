"""Give contacts their next dial after an operator change, by the engine's own rules.

When a DNC entry takes a contact's queued number out, the contact's other numbers
must go on (or the contact pause when none is left); when an entry is removed, a
contact left with nothing queued must dial again. Both follow the engine's
``reschedule_contacts`` with the campaign's rules as last loaded, reading the
contacts in batches.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dialerd.db.models import Campaign, Contact, PhoneNumber
from dialerd.db.queue import HAS_DIAL
from dialerd.domain.states import ClosedReason, ContactState

if TYPE_CHECKING:
    from dialerd.engine.runtime import CampaignRuntime

CHUNK = 500
BATCH = 200  # contacts per transaction in requeue_all: each holds the write lock briefly


def runtime_for(campaign: Campaign) -> CampaignRuntime | None:
    """The campaign's rules from its stored file; None when it no longer validates."""
    # Imported here: the campaign file models and the engine load only when a contact
    # is requeued, so `dialerd dnc add` of a number in no campaign starts light.
    from pydantic import ValidationError

    from dialerd.campaignfile.loader import LoadedCampaign
    from dialerd.campaignfile.models import CampaignFile
    from dialerd.engine.campaigns import runtime_from

    try:
        model = CampaignFile.model_validate(campaign.config)
    except ValidationError:
        return None
    loaded = LoadedCampaign(
        model=model,
        path=Path(campaign.source_path or campaign.name),
        sha256=campaign.config_sha256,
        contact_paths=(),
    )
    return runtime_from(loaded, campaign.id)


def requeue(session: Session, contact_ids: Iterable[int], *, now: datetime) -> int:
    """Queue the next dial of each active contact with nothing queued or in flight.

    Returns how many contacts got a dial queued.
    """
    from dialerd.engine.schedule import reschedule_contacts

    ids = sorted(set(contact_ids))
    runtimes: dict[int, CampaignRuntime | None] = {}
    queued = 0
    conn = session.connection()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        busy = select(PhoneNumber.contact_id).where(PhoneNumber.contact_id.in_(chunk), HAS_DIAL)
        idle = session.execute(
            select(Contact.id, Contact.campaign_id).where(
                Contact.id.in_(chunk), Contact.state == ContactState.active, Contact.id.not_in(busy)
            )
        ).all()
        for campaign_id in sorted({cid for _, cid in idle}):
            if campaign_id not in runtimes:
                runtimes[campaign_id] = runtime_for(session.get_one(Campaign, campaign_id))
            runtime = runtimes[campaign_id]
            if runtime is not None:
                members = [contact for contact, cid in idle if cid == campaign_id]
                queued += reschedule_contacts(conn, members, runtime=runtime, now=now)
    return queued


def requeue_all(
    sessions: sessionmaker[Session], contact_ids: Iterable[int], *, now: datetime
) -> int:
    """``requeue`` in short transactions of ``BATCH`` contacts; returns how many were queued."""
    ids = sorted(set(contact_ids))
    queued = 0
    for start in range(0, len(ids), BATCH):
        with sessions.begin() as session:
            queued += requeue(session, ids[start : start + BATCH], now=now)
    return queued


def stranded(session: Session, contact_ids: Iterable[int]) -> set[int]:
    """Contacts paused because only do-not-call numbers were left (``closed_reason`` "dnc")."""
    ids = sorted(set(contact_ids))
    found: set[int] = set()
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update(
            session.scalars(
                select(Contact.id).where(
                    Contact.id.in_(chunk),
                    Contact.state == ContactState.paused,
                    Contact.closed_reason == ClosedReason.only_dnc_left,
                )
            )
        )
    return found


def resume(session: Session, contact_ids: Iterable[int], *, now: datetime) -> None:
    """Make these contacts active again (``requeue`` then gives them their next dial)."""
    ids = sorted(set(contact_ids))
    for start in range(0, len(ids), CHUNK):
        session.execute(
            update(Contact)
            .where(Contact.id.in_(ids[start : start + CHUNK]))
            .values(state=ContactState.active, closed_reason=None, updated_at=now)
            .execution_options(synchronize_session=False)
        )
