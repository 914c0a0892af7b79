"""Operators' overrides of a campaign's pace, kept in the database for every daemon.

``set_pace`` stores ``max_concurrent`` and/or ``calls_per_second`` for a campaign
(a value left out keeps the stored override, ``0`` is refused) and records the
change in the audit log (``pace_changed``); ``pace_overrides`` is what each
dispatcher reads every tick: the file's values give way to these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from dialerd.actions.control import find_campaign, record_event
from dialerd.db.models import CampaignPace
from dialerd.errors import DialerdError

MAX_CONCURRENT = 10_000
MAX_CALLS_PER_SECOND = 1_000.0


class PaceRefused(DialerdError):
    """The pace cannot be set."""


@dataclass(frozen=True)
class Pace:
    campaign: str
    max_concurrent: int | None
    calls_per_second: float | None


def set_pace(
    session: Session,
    campaign: str,
    *,
    max_concurrent: int | None = None,
    calls_per_second: float | None = None,
    actor: str,
    now: datetime | None = None,
) -> Pace:
    """Override ``campaign``'s pace; returns the stored override after the change."""
    if max_concurrent is None and calls_per_second is None:
        raise PaceRefused("give max_concurrent and/or calls_per_second")
    if max_concurrent is not None and not 1 <= max_concurrent <= MAX_CONCURRENT:
        raise PaceRefused(f"max_concurrent: {max_concurrent} is not within 1..{MAX_CONCURRENT}")
    if calls_per_second is not None and not 0 < calls_per_second <= MAX_CALLS_PER_SECOND:
        raise PaceRefused(
            f"calls_per_second: {calls_per_second} is not within (0, {MAX_CALLS_PER_SECOND:g}]"
        )
    when = now or datetime.now(UTC)
    found = find_campaign(session, campaign, for_update=True)
    row = session.get(CampaignPace, found.id)
    before = {
        "max_concurrent": row.max_concurrent if row else None,
        "calls_per_second": row.calls_per_second if row else None,
    }
    if row is None:
        row = CampaignPace(campaign_id=found.id, updated_at=when, updated_by=actor[:100])
        session.add(row)
    if max_concurrent is not None:
        row.max_concurrent = max_concurrent
    if calls_per_second is not None:
        row.calls_per_second = float(calls_per_second)
    row.updated_at, row.updated_by = when, actor[:100]
    after = {"max_concurrent": row.max_concurrent, "calls_per_second": row.calls_per_second}
    record_event(
        session,
        campaign_id=found.id,
        kind="pace_changed",
        who=actor,
        now=when,
        details={"from": before, "to": after},
    )
    return Pace(campaign, row.max_concurrent, row.calls_per_second)


def pace_overrides(conn: Connection) -> dict[int, dict[str, Any]]:
    """Campaign id -> the overridden values (only those set), for the dispatcher."""
    out: dict[int, dict[str, Any]] = {}
    rows = conn.execute(
        select(CampaignPace.campaign_id, CampaignPace.max_concurrent, CampaignPace.calls_per_second)
    )
    for campaign_id, concurrent, per_second in rows:
        values: dict[str, Any] = {}
        if concurrent is not None:
            values["max_concurrent"] = int(concurrent)
        if per_second is not None:
            values["calls_per_second"] = float(per_second)
        if values:
            out[int(campaign_id)] = values
    return out
