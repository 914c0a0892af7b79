"""Operator control of campaigns through the database: pause, resume, stop, with an audit row.

Daemons read ``campaigns.state`` on every tick: ``paused`` and ``stopped`` start no
new dials (calls in flight finish); ``resume`` makes the campaign ``active`` again.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialerd.db.models import Campaign, CampaignEvent
from dialerd.domain.states import CampaignState
from dialerd.errors import CampaignNotFound, DialerdError

Action = Literal["pause", "resume", "stop"]

# action -> (new state, states it may come from, audit event kind)
_ACTIVE, _PAUSED, _STOPPED = CampaignState.active, CampaignState.paused, CampaignState.stopped
_TRANSITIONS: dict[str, tuple[CampaignState, frozenset[CampaignState], str]] = {
    "pause": (_PAUSED, frozenset({_ACTIVE}), "campaign_paused"),
    "resume": (_ACTIVE, frozenset({_PAUSED, _STOPPED}), "campaign_resumed"),
    "stop": (_STOPPED, frozenset({_ACTIVE, _PAUSED}), "campaign_stopped"),
}


class InvalidTransition(DialerdError):
    """The campaign cannot make that change from its current state."""


@dataclass(frozen=True)
class StateChange:
    campaign: str
    old: str
    new: str

    @property
    def changed(self) -> bool:
        return self.old != self.new


def actor() -> str:
    """``user@host`` of whoever runs the command, for the audit log."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"[:100]


def find_campaign(session: Session, name: str, *, for_update: bool = False) -> Campaign:
    query = select(Campaign).where(Campaign.name == name)
    if for_update:
        query = query.with_for_update()
    campaign = session.scalars(query).one_or_none()
    if campaign is None:
        raise CampaignNotFound(f"no campaign named {name!r}")
    return campaign


def record_event(
    session: Session,
    *,
    campaign_id: int | None,
    kind: str,
    who: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    session.add(
        CampaignEvent(campaign_id=campaign_id, at=now, kind=kind, actor=who, details=details)
    )


def change_state(
    session: Session, name: str, action: Action, *, who: str, now: datetime
) -> StateChange:
    """Apply ``action``; a campaign already in the target state is left alone (no event)."""
    new, allowed, kind = _TRANSITIONS[action]
    campaign = find_campaign(session, name, for_update=True)
    old = campaign.state
    if old == new:
        return StateChange(name, old, new)
    if old not in allowed:
        raise InvalidTransition(f"campaign {name!r} is {old}: cannot {action} it")
    campaign.state = new
    campaign.updated_at = now
    record_event(
        session,
        campaign_id=campaign.id,
        kind=kind,
        who=who,
        now=now,
        details={"from": old, "to": new},
    )
    return StateChange(name, old, new)
