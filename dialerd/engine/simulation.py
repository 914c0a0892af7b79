"""`dialerd simulate`: a campaign's whole life on a virtual clock, in seconds.

The real dispatcher, result writer, classification and policy run against the
virtual PBX; the loop jumps the clock from one event to the next (a result due,
a queued dial due, the next open window) instead of waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select, text

from dialerd.campaignfile.loader import LoadedCampaign
from dialerd.db import tables
from dialerd.domain.clock import VirtualClock
from dialerd.engine.campaigns import install
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import ResultWriter
from dialerd.pbx.scenario import Scenario
from dialerd.pbx.virtual import VirtualPbx

_pn = tables.phone_numbers
_QUEUED = text("phone_numbers.state = 'dialable' AND phone_numbers.next_dial_at IS NOT NULL")
STEP = timedelta(seconds=1)
INSTANCE = "simulate"


@dataclass
class Simulation:
    campaign_id: int
    runtime: CampaignRuntime
    started: datetime
    finished: datetime
    dials: int = 0
    ticks: int = 0
    stopped_because: str = ""
    hourly: dict[datetime, int] = field(default_factory=dict)


def start_of(loaded: LoadedCampaign) -> datetime:
    """The campaign's first day at midnight, local time (else today)."""
    tz = ZoneInfo(loaded.model.timezone)
    day = loaded.model.start or datetime.now(tz).date()
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def _next_due(engine: Engine, campaign_id: int) -> datetime | None:
    with engine.connect() as conn:
        due: datetime | None = conn.execute(
            select(func.min(_pn.c.next_dial_at)).where(_pn.c.campaign_id == campaign_id, _QUEUED)
        ).scalar_one()
    return due


def simulate(
    engine: Engine,
    loaded: LoadedCampaign,
    *,
    scenario: Scenario,
    start: datetime | None = None,
    max_days: int = 400,
) -> Simulation:
    clock = VirtualClock(start or start_of(loaded))
    runtime = install(engine, loaded, now=clock.now(), actor=INSTANCE)
    campaign_id = runtime.id
    pbx = VirtualPbx(clock, scenario)
    writer = ResultWriter(engine, clock, {campaign_id: runtime}.get)
    pbx.start(writer.submit)
    dispatcher = Dispatcher(
        engine,
        pbx,
        clock,
        instance_id=INSTANCE,
        max_channels=runtime.max_concurrent,
        calls_per_second=max(runtime.calls_per_second, 1.0),
        batch=runtime.max_concurrent,
        monotonic=lambda: clock.now().timestamp(),
    )
    dispatcher.set_campaigns({campaign_id: runtime})
    sim = Simulation(campaign_id, runtime, started=clock.now(), finished=clock.now())
    horizon = clock.now() + timedelta(days=max_days)
    while True:
        now = clock.now()
        pbx.deliver_until(now)
        while writer.drain():
            pass
        report = dispatcher.tick()
        sim.ticks += 1
        if report.sent:
            sim.dials += report.sent
            hour = now.replace(minute=0, second=0, microsecond=0)
            sim.hourly[hour] = sim.hourly.get(hour, 0) + report.sent
        candidates = [t for t in (pbx.next_event_at(), _next_due(engine, campaign_id)) if t]
        if report.claimed or (candidates and min(candidates) <= now):
            candidates.append(now + STEP)  # capacity or rate bound: come back shortly
        candidates = [t for t in candidates if t > now]
        if not candidates:
            sim.stopped_because = "nothing left to dial"
            break
        nxt = min(candidates)
        opening = runtime.calendar.next_open(nxt)
        if opening is None and pbx.in_flight() == 0:
            sim.stopped_because = "the campaign ended"
            break
        if nxt > horizon:
            sim.stopped_because = f"stopped after {max_days} days"
            break
        clock.advance_to(nxt)
    sim.finished = clock.now()
    return sim
