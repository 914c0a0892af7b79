"""Read-only views of campaigns for operators: the lists and details behind the control CLI.

Everything is computed from the database, so it covers every daemon sharing it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from dialerd.db.models import Attempt, Campaign, Contact, PhoneNumber, Round
from dialerd.db.queue import IN_FLIGHT, QUEUED
from dialerd.domain.calendar import unannounced_message, unannounced_years
from dialerd.domain.states import CampaignState
from dialerd.errors import CampaignNotFound


@dataclass(frozen=True)
class CampaignSummary:
    """One line of ``dialerd campaign list``."""

    id: int
    name: str
    state: CampaignState
    contacts: dict[str, int]
    due_now: int
    in_flight: int
    last_activity: datetime | None

    @property
    def contacts_total(self) -> int:
        return sum(self.contacts.values())


@dataclass(frozen=True)
class RoundStep:
    """How many contacts started and ended round ``number``, and with which results."""

    number: int
    started: int
    ended: int
    results: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignDetail:
    """What ``dialerd campaign status NAME`` shows."""

    summary: CampaignSummary
    timezone: str
    max_rounds: int
    numbers: dict[str, int]
    rounds: list[RoundStep]
    outcomes: dict[str, int]
    scheduled_later: int
    next_due: datetime | None
    config: dict[str, object]


def _by_campaign(session: Session, query: Select[int, int]) -> dict[int, int]:
    return dict(session.execute(query).all())


def due_now(session: Session, *, now: datetime) -> dict[int, int]:
    """Numbers due at ``now`` and not yet claimed, by campaign id (the due index only)."""
    return _by_campaign(
        session,
        select(PhoneNumber.campaign_id, func.count())
        .where(QUEUED, PhoneNumber.next_dial_at <= now)
        .group_by(PhoneNumber.campaign_id),
    )


def open_attempts(session: Session) -> dict[int, int]:
    """Dials claimed or in progress, by campaign id, across every daemon."""
    return _by_campaign(
        session,
        select(Attempt.campaign_id, func.count()).where(IN_FLIGHT).group_by(Attempt.campaign_id),
    )


def queue_gauges(session: Session, *, now: datetime) -> dict[str, tuple[int, int]]:
    """Campaign name → (numbers due now, dials in flight): cheap enough for every heartbeat.

    For the ``dialerd_queue_depth`` and ``dialerd_calls_in_flight`` metrics.
    """
    due, in_flight = due_now(session, now=now), open_attempts(session)
    names = session.execute(select(Campaign.id, Campaign.name)).all()
    return {name: (due.get(cid, 0), in_flight.get(cid, 0)) for cid, name in names}


def summaries(session: Session, *, now: datetime, name: str | None = None) -> list[CampaignSummary]:
    """Every campaign (or the one named), by name."""
    query = select(Campaign).order_by(Campaign.name)
    if name is not None:
        query = query.where(Campaign.name == name)
    campaigns = list(session.scalars(query))
    if not campaigns:
        if name is not None:
            raise CampaignNotFound(f"no campaign named {name!r}")
        return []
    contacts: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, state, n in session.execute(
        select(Contact.campaign_id, Contact.state, func.count()).group_by(
            Contact.campaign_id, Contact.state
        )
    ):
        contacts[cid][state] = n
    due = due_now(session, now=now)
    in_flight = open_attempts(session)
    last = dict(
        session.execute(
            select(Attempt.campaign_id, func.max(Attempt.claimed_at)).group_by(Attempt.campaign_id)
        ).all()
    )
    return [
        CampaignSummary(
            id=c.id,
            name=c.name,
            state=c.state,
            contacts=dict(sorted(contacts[c.id].items())),
            due_now=due.get(c.id, 0),
            in_flight=in_flight.get(c.id, 0),
            last_activity=last.get(c.id),
        )
        for c in campaigns
    ]


def detail(session: Session, name: str, *, now: datetime) -> CampaignDetail:
    """Everything about one campaign; raises ``CampaignNotFound``."""
    summary = summaries(session, now=now, name=name)[0]
    campaign = session.get_one(Campaign, summary.id)
    numbers = {
        state.value: n
        for state, n in session.execute(
            select(PhoneNumber.state, func.count())
            .where(PhoneNumber.campaign_id == campaign.id)
            .group_by(PhoneNumber.state)
            .order_by(PhoneNumber.state)
        ).all()
    }
    later, next_due = session.execute(
        select(
            func.count().filter(PhoneNumber.next_dial_at > now),
            func.min(PhoneNumber.next_dial_at),
        ).where(PhoneNumber.campaign_id == campaign.id, QUEUED)
    ).one()
    outcomes = dict(
        session.execute(
            select(func.coalesce(Attempt.outcome, ""), func.count())
            .where(Attempt.campaign_id == campaign.id, Attempt.outcome.is_not(None))
            .group_by(Attempt.outcome)
            .order_by(func.count().desc(), Attempt.outcome)
        ).all()
    )
    return CampaignDetail(
        summary=summary,
        timezone=campaign.timezone,
        max_rounds=campaign.max_rounds,
        numbers=numbers,
        rounds=_rounds(session, campaign.id),
        outcomes=outcomes,
        scheduled_later=int(later or 0),
        next_due=next_due,
        config=dict(campaign.config or {}),
    )


def _rounds(session: Session, campaign_id: int) -> list[RoundStep]:
    started: dict[int, int] = defaultdict(int)
    ended: dict[int, int] = defaultdict(int)
    results: dict[int, dict[str, int]] = defaultdict(dict)
    query = (
        select(Round.round, Round.result, func.count(), func.count(Round.ended_at))
        .where(Round.campaign_id == campaign_id)
        .group_by(Round.round, Round.result)
    )
    for number, result, n, n_ended in session.execute(query):
        started[number] += n
        ended[number] += n_ended
        if result is not None:
            results[number][result] = n
    return [
        RoundStep(number=k, started=started[k], ended=ended[k], results=results[k])
        for k in sorted(started)
    ]


def calendar_warnings(session: Session, *, now: datetime) -> dict[str, str]:
    """Campaign name → the warning about years without an official holiday notice.

    Only campaigns still dialling (not stopped or finished) whose stored file validates.
    """
    from pydantic import ValidationError

    from dialerd.campaignfile.convert import to_calendar
    from dialerd.campaignfile.models import CampaignFile

    found: dict[str, str] = {}
    rows = session.execute(
        select(Campaign.name, Campaign.config).where(
            Campaign.state.in_((CampaignState.active, CampaignState.paused))
        )
    )
    for name, config in rows:
        try:
            calendar = to_calendar(CampaignFile.model_validate(config or {}))
        except ValidationError:
            continue
        years = unannounced_years(calendar, today=now.date())
        if years:
            found[name] = unannounced_message(calendar, years)
    return found


@dataclass(frozen=True)
class CallingHours:
    """The campaign's weekly windows as written, and whether they are open at ``now``."""

    windows: list[str]
    open_now: bool
    next_open: datetime | None


def calling_hours(config: dict[str, object], *, now: datetime) -> CallingHours | None:
    """From the stored campaign file; None when it no longer validates (older format)."""
    # Imported here: `dialerd status` lists campaigns without the campaign file models.
    from pydantic import ValidationError

    from dialerd.campaignfile.convert import to_calendar
    from dialerd.campaignfile.models import CampaignFile

    try:
        model = CampaignFile.model_validate(config)
    except ValidationError:
        return None
    calendar = to_calendar(model)
    windows = [f"{w.days} {w.start}-{w.end}" for w in model.windows]
    is_open = calendar.is_open(now)
    return CallingHours(windows, is_open, None if is_open else calendar.next_open(now))
