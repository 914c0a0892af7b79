"""Read-only views of campaigns for operators: the lists and details behind the control CLI.

Everything is computed from the database, so it covers every daemon sharing it.
What ``dialerd status`` reads (``daemons``, ``summaries``, ``calendar_warnings``) runs
named statements (:mod:`dialerd.actions.port`): on an ORM session, a Core connection
or a ``Runner``, so ``status`` runs without the ORM, and on SQLite without SQLAlchemy.
``detail`` and ``queue_gauges`` query the Core tables directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dialerd.actions.port import Runner, as_runner
from dialerd.domain.states import CampaignState
from dialerd.errors import CampaignNotFound

if TYPE_CHECKING:
    from dialerd.db.coretables import Db


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


def due_now(session: Db | Runner, *, now: datetime) -> dict[int, int]:
    """Numbers due at ``now`` and not yet claimed, by campaign id (the due index only)."""
    return dict(as_runner(session).rows("due_now", now=now))


def open_attempts(session: Db | Runner) -> dict[int, int]:
    """Dials claimed or in progress, by campaign id, across every daemon."""
    return dict(as_runner(session).rows("open_attempts"))


def daemons(session: Db | Runner, *, since: datetime) -> list[Any]:
    """``instances`` rows seen since ``since``, latest heartbeat first (as ``dialerd status``).

    Each row has the table's columns as attributes (:data:`dialerd.db.coretables.instances`).
    """
    return as_runner(session).rows("daemons", since=since)


def queue_gauges(session: Db, *, now: datetime) -> dict[str, tuple[int, int]]:
    """Campaign name → (numbers due now, dials in flight): cheap enough for every heartbeat.

    For the ``dialerd_queue_depth`` and ``dialerd_calls_in_flight`` metrics.
    """
    from sqlalchemy import select

    from dialerd.db.coretables import campaigns

    run = as_runner(session)
    due, in_flight = due_now(run, now=now), open_attempts(run)
    names = session.execute(select(campaigns.c.id, campaigns.c.name)).all()
    return {name: (due.get(cid, 0), in_flight.get(cid, 0)) for cid, name in names}


def summaries(
    session: Db | Runner, *, now: datetime, name: str | None = None
) -> list[CampaignSummary]:
    """Every campaign (or the one named), by name."""
    run = as_runner(session)
    if name is None:
        found = run.rows("campaign_list")
    else:
        found = run.rows("campaign_named", name=name)
    if not found:
        if name is not None:
            raise CampaignNotFound(f"no campaign named {name!r}")
        return []
    by_state: dict[int, dict[str, int]] = defaultdict(dict)
    for cid, state, n in run.rows("contacts_by_state"):
        by_state[cid][state] = n
    due = due_now(run, now=now)
    in_flight = open_attempts(run)
    last = dict(run.rows("last_claimed"))
    return [
        CampaignSummary(
            id=cid,
            name=name_,
            state=state,
            contacts=dict(sorted(by_state[cid].items())),
            due_now=due.get(cid, 0),
            in_flight=in_flight.get(cid, 0),
            last_activity=last.get(cid),
        )
        for cid, name_, state in found
    ]


def detail(session: Db, name: str, *, now: datetime) -> CampaignDetail:
    """Everything about one campaign; raises ``CampaignNotFound``."""
    from sqlalchemy import func, select

    from dialerd.db.coretables import attempts, campaigns, phone_numbers
    from dialerd.db.queue import QUEUED

    summary = summaries(session, now=now, name=name)[0]
    c, p, a = campaigns.c, phone_numbers.c, attempts.c
    campaign = session.execute(
        select(c.timezone, c.max_rounds, c.config).where(c.id == summary.id)
    ).one()
    numbers = {
        state.value: n
        for state, n in session.execute(
            select(p.state, func.count())
            .where(p.campaign_id == summary.id)
            .group_by(p.state)
            .order_by(p.state)
        ).all()
    }
    later, next_due = session.execute(
        select(
            func.count().filter(p.next_dial_at > now),
            func.min(p.next_dial_at),
        ).where(p.campaign_id == summary.id, QUEUED)
    ).one()
    outcomes: dict[str, int] = dict(
        session.execute(
            select(func.coalesce(a.outcome, ""), func.count())
            .where(a.campaign_id == summary.id, a.outcome.is_not(None))
            .group_by(a.outcome)
            .order_by(func.count().desc(), a.outcome)
        ).all()
    )
    return CampaignDetail(
        summary=summary,
        timezone=campaign.timezone,
        max_rounds=campaign.max_rounds,
        numbers=numbers,
        rounds=_rounds(session, summary.id),
        outcomes=outcomes,
        scheduled_later=int(later or 0),
        next_due=next_due,
        config=dict(campaign.config or {}),
    )


def _rounds(session: Db, campaign_id: int) -> list[RoundStep]:
    from sqlalchemy import func, select

    from dialerd.db.coretables import rounds

    started: dict[int, int] = defaultdict(int)
    ended: dict[int, int] = defaultdict(int)
    results: dict[int, dict[str, int]] = defaultdict(dict)
    r = rounds.c
    query = (
        select(r.round, r.result, func.count(), func.count(r.ended_at))
        .where(r.campaign_id == campaign_id)
        .group_by(r.round, r.result)
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


def calendar_warnings(
    session: Db | Runner,
    *,
    now: datetime,
    notice: Callable[[dict[str, object]], str] | None = None,
) -> dict[str, str]:
    """Campaign name → the warning about years without an official holiday notice.

    Only campaigns still dialling (not stopped or finished) whose stored file validates.
    ``notice`` gives one stored file's warning (default: :func:`holiday_notice` at ``now``).
    """
    rows = as_runner(session).rows("dialling_campaign_files")
    found: dict[str, str] = {}
    for name, config in rows:
        config = config or {}
        message = holiday_notice(config, now=now) if notice is None else notice(config)
        if message:
            found[name] = message
    return found


def holiday_notice(config: dict[str, object], *, now: datetime) -> str:
    """The warning for one stored campaign file ("" when none, or when it no longer validates).

    A file naming no holiday country has none: the campaign file models and the
    holidays package are imported only for a file that names one.
    """
    holidays = config.get("holidays")
    if not isinstance(holidays, dict) or holidays.get("country") is None:
        return ""  # the model's country would be None (or the file invalid): no warning
    from pydantic import ValidationError

    from dialerd.campaignfile.convert import to_calendar
    from dialerd.campaignfile.models import CampaignFile
    from dialerd.domain.calendar import unannounced_message, unannounced_years

    try:
        calendar = to_calendar(CampaignFile.model_validate(config))
    except ValidationError:
        return ""
    return unannounced_message(calendar, unannounced_years(calendar, today=now.date()))


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
