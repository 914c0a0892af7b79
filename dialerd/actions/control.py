"""Operator control of campaigns through the database: pause, resume, stop, with an audit row.

Daemons read ``campaigns.state`` on every tick: ``paused`` and ``stopped`` start no
new dials (calls in flight finish); ``resume`` makes the campaign ``active`` again.
Each function but ``find_campaign`` runs named statements (:mod:`dialerd.actions.port`):
it takes an ORM session, a Core connection or a ``Runner``, so ``dialerd campaign
pause`` runs without the ORM, and on SQLite without SQLAlchemy.
"""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from dialerd.actions.port import Runner, as_runner
from dialerd.domain.states import CampaignState
from dialerd.errors import CampaignNotFound, DialerdError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dialerd.db.coretables import Db
    from dialerd.db.models import Campaign

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
    """The campaign's model; raises ``CampaignNotFound``."""
    from sqlalchemy import select

    from dialerd.db.models import Campaign

    query = select(Campaign).where(Campaign.name == name)
    if for_update:
        query = query.with_for_update()
    campaign = session.scalars(query).one_or_none()
    if campaign is None:
        raise CampaignNotFound(f"no campaign named {name!r}")
    return campaign


def campaign_id(db: Db | Runner, name: str) -> int:
    """The campaign's id; raises ``CampaignNotFound``."""
    found = as_runner(db).rows("campaign_id", name=name)
    if not found:
        raise CampaignNotFound(f"no campaign named {name!r}")
    return int(found[0][0])


def record_event(
    db: Db | Runner,
    *,
    campaign_id: int | None,
    kind: str,
    who: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    as_runner(db).execute(
        "record_event", campaign_id=campaign_id, now=now, kind=kind, actor=who, details=details
    )


def change_state(
    db: Db | Runner, name: str, action: Action, *, who: str, now: datetime
) -> StateChange:
    """Apply ``action``; a campaign already in the target state is left alone (no event)."""
    new, allowed, kind = _TRANSITIONS[action]
    run = as_runner(db)
    found = run.rows("campaign_state", name=name)
    if not found:
        raise CampaignNotFound(f"no campaign named {name!r}")
    cid, old = found[0]
    if old == new:
        return StateChange(name, old, new)
    if old not in allowed:
        raise InvalidTransition(f"campaign {name!r} is {old}: cannot {action} it")
    run.execute("set_campaign_state", campaign_id=cid, state=new, now=now)
    details = {"from": old, "to": new}
    record_event(run, campaign_id=cid, kind=kind, who=who, now=now, details=details)
    return StateChange(name, old, new)
