"""The figures ``dialerd top`` refreshes: per campaign and per daemon, from the database only.

One call of :func:`live_figures` reads everything a screen shows, in a handful of
grouped queries (the attempts ones on ``(campaign_id, claimed_at)``), so any host
with the database URL can watch every daemon sharing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialerd.actions.overview import calling_hours, due_now, open_attempts
from dialerd.actions.pace import pace_overrides
from dialerd.db.models import Attempt, Campaign
from dialerd.process import heartbeat

RECENT_DAEMONS = timedelta(hours=1)  # daemons shown: those with a heartbeat this recent


@dataclass(frozen=True)
class CampaignLive:
    """One row of ``dialerd top``."""

    name: str
    state: str
    dials_per_minute: int  # dials started in the last minute
    in_flight: int
    due_now: int
    window_open: bool | None  # None: the stored file no longer validates
    outcomes: dict[str, int]  # outcome mix of the dials started in the last ``minutes``
    pace: dict[str, float] = field(default_factory=dict)  # `campaign set` overrides in force


@dataclass(frozen=True)
class DaemonLive:
    id: str
    hostname: str
    alive: bool
    pbx_kind: str
    pbx_up: bool
    in_flight: int
    dial_rate: float | None
    heartbeat_at: datetime


@dataclass(frozen=True)
class LiveFigures:
    at: datetime
    minutes: int
    campaigns: list[CampaignLive]
    daemons: list[DaemonLive]

    @property
    def pbx_up(self) -> bool:
        """Whether any live daemon has its PBX link up."""
        return any(d.alive and d.pbx_up for d in self.daemons)


def live_figures(
    session: Session, *, now: datetime, minutes: int = 5, heartbeat_s: float = 5.0
) -> LiveFigures:
    """Every campaign's pace, queue and recent outcomes, and every recent daemon."""
    minute_ago, since = now - timedelta(minutes=1), now - timedelta(minutes=minutes)
    due, flying = due_now(session, now=now), open_attempts(session)
    pace = pace_overrides(session.connection())
    campaigns = []
    for c in session.scalars(select(Campaign).order_by(Campaign.name)):
        recent = Attempt.campaign_id == c.id, Attempt.claimed_at > since  # the index's range
        rate = session.scalar(
            select(func.count()).where(Attempt.campaign_id == c.id, Attempt.claimed_at > minute_ago)
        )
        mix = session.execute(
            select(Attempt.outcome, func.count())
            .where(*recent, Attempt.outcome.is_not(None))
            .group_by(Attempt.outcome)
        ).all()
        hours = calling_hours(c.config, now=now)
        campaigns.append(
            CampaignLive(
                name=c.name,
                state=c.state,
                dials_per_minute=int(rate or 0),
                in_flight=flying.get(c.id, 0),
                due_now=due.get(c.id, 0),
                window_open=hours.open_now if hours is not None else None,
                outcomes={str(o): int(n) for o, n in sorted(mix, key=lambda r: (-r[1], str(r[0])))},
                pace=dict(pace.get(c.id, {})),
            )
        )
    daemons = [
        DaemonLive(
            id=d.id,
            hostname=d.hostname,
            alive=heartbeat.is_alive(d, now=now, heartbeat_s=heartbeat_s),
            pbx_kind=d.pbx_kind,
            pbx_up=d.pbx_up,
            in_flight=d.in_flight,
            dial_rate=(d.status or {}).get("dial_rate"),
            heartbeat_at=d.heartbeat_at,
        )
        for d in heartbeat.instances(session, since=now - RECENT_DAEMONS)
    ]
    return LiveFigures(now, minutes, campaigns, daemons)
