"""The supervisors' recording spot checks (seed 003: 10 % of valid recordings daily, 5 % weekly).

A *valid recording* is the recording of an answered dial (``attempts.recording_file``
set by the answered leg, ``answered_at`` set). The sample of one period (a local
day, or the Monday–Sunday week holding a date, in the campaign's time zone) is
chosen by hash: each recording's rank is SHA-256 of ``seed``, the campaign, the
period and the attempt's idempotency key, and the lowest ``ceil(n × percent)``
ranks are taken. The same data, period and seed always give the same list; a
recording added later never pushes out one already chosen unless it ranks lower.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from dialerd.db.models import Attempt, Campaign, Contact
from dialerd.errors import CampaignNotFound
from dialerd.reporting.csvfile import write_rows
from dialerd.reporting.labels import outcome_zh

DAILY_PERCENT = 10.0
WEEKLY_PERCENT = 5.0
HEADER = ("attempt", "contact", "outcome", "outcome_zh", "agent", "started_at", "recording_file")
AGENT_KEYS = ("agent", "agent_id", "坐席", "坐席工号")  # contact-list columns naming the agent


@dataclass(frozen=True, slots=True)
class Period:
    """Local dates ``[first, last]`` and their name (``2026-11-23``, ``week 2026-11-23``)."""

    first: date
    last: date
    label: str

    @classmethod
    def day(cls, day: date) -> Period:
        return cls(day, day, day.isoformat())

    @classmethod
    def week(cls, day: date) -> Period:
        monday = day - timedelta(days=day.weekday())
        return cls(monday, monday + timedelta(days=6), f"week {monday.isoformat()}")

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period's UTC instants ``[start, end)``."""
        start = datetime.combine(self.first, time(0), tzinfo=zone)
        end = datetime.combine(self.last + timedelta(days=1), time(0), tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def choose(keys: Sequence[str], percent: float, salt: str) -> list[int]:
    """Indexes of ``keys`` in the sample: the ``ceil(len × percent ÷ 100)`` lowest hash ranks."""
    if not keys or percent <= 0:
        return []
    count = min(len(keys), math.ceil(len(keys) * percent / 100 - 1e-9))
    rank = sorted(
        range(len(keys)),
        key=lambda i: hashlib.sha256(f"{salt}\x1f{keys[i]}".encode()).hexdigest(),
    )
    return sorted(rank[:count])


@dataclass(frozen=True, slots=True)
class SpotCheck:
    attempt: int
    contact: str
    outcome: str | None
    agent: str | None
    started_at: datetime | None
    recording_file: str

    def row(self, zone: ZoneInfo) -> tuple[Any, ...]:
        local = self.started_at.astimezone(zone).isoformat() if self.started_at else None
        return (
            self.attempt,
            self.contact,
            self.outcome,
            outcome_zh(self.outcome),
            self.agent,
            local,
            self.recording_file,
        )


def sample(
    engine: Engine, campaign: str, period: Period, *, percent: float, seed: str = ""
) -> tuple[list[SpotCheck], int, ZoneInfo]:
    """The period's spot-check list, how many valid recordings it was drawn from, the zone."""
    with engine.connect() as conn:
        found = conn.execute(
            select(Campaign.id, Campaign.timezone).where(Campaign.name == campaign)
        ).first()
        if found is None:
            raise CampaignNotFound(f"no campaign named {campaign!r}")
        campaign_id, tz = found
        zone = ZoneInfo(tz)
        start, end = period.bounds(zone)
        rows = conn.execute(
            select(
                Attempt.id,
                Attempt.key,
                Contact.external_id,
                Attempt.outcome,
                Contact.data,
                Attempt.started_at,
                Attempt.recording_file,
            )
            .join(Contact, Contact.id == Attempt.contact_id)
            .where(
                Attempt.campaign_id == campaign_id,
                Attempt.recording_file.is_not(None),
                Attempt.answered_at.is_not(None),
                Attempt.started_at >= start,
                Attempt.started_at < end,
            )
            .order_by(Attempt.id)
        ).all()
    salt = f"{seed}\x1f{campaign}\x1f{period.label}"
    picked = choose([r.key for r in rows], percent, salt)
    checks = [
        SpotCheck(
            attempt=rows[i].id,
            contact=rows[i].external_id,
            outcome=rows[i].outcome,
            agent=_agent(rows[i].data),
            started_at=rows[i].started_at,
            recording_file=rows[i].recording_file,
        )
        for i in picked
    ]
    return checks, len(rows), zone


def _agent(data: dict[str, Any] | None) -> str | None:
    for key in AGENT_KEYS:
        value = (data or {}).get(key)
        if value:
            return str(value)
    return None


def write_csv(out: IO[str], checks: Iterable[SpotCheck], zone: ZoneInfo) -> int:
    """The list as CSV with a BOM (Excel on Chinese Windows reads it as UTF-8)."""
    return write_rows(out, HEADER, (c.row(zone) for c in checks))
