"""`dialerd simulate`: a campaign's whole life on a virtual clock, in seconds.

The real dispatcher, result writer, classification and policy (assembled by
:func:`dialerd.app.assemble` with a virtual clock and PBX) run against the virtual
PBX; the loop jumps the clock from one event to the next (a result due, a queued
dial due, the next open window) instead of waiting.
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
from dialerd.engine.parts import Parts
from dialerd.engine.runtime import CampaignRuntime
from dialerd.pbx.virtual import VirtualPbx
from dialerd.settings import Settings

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


def simulation_settings(base: Settings, loaded: LoadedCampaign) -> Settings:
    """``base`` sized for one campaign alone: its own channel and rate limits, no FastAGI."""
    d = loaded.model.dialing
    return base.model_copy(
        update={
            "instance_id": INSTANCE,
            "pbx": base.pbx.model_copy(
                update={
                    "max_channels": d.max_concurrent,
                    "calls_per_second": max(d.calls_per_second, 1.0),
                }
            ),
            "scheduler": base.scheduler.model_copy(update={"batch": d.max_concurrent}),
            "agi": base.agi.model_copy(update={"enabled": False}),
        }
    )


def simulate(
    parts: Parts,
    loaded: LoadedCampaign,
    *,
    clock: VirtualClock,
    pbx: VirtualPbx,
    max_days: int = 400,
) -> Simulation:
    """Run ``loaded`` to its end on parts assembled with ``clock`` and ``pbx`` as overrides."""
    if parts.telephony is not pbx or parts.clock is not clock:
        raise ValueError("the parts must run on the given virtual clock and PBX")
    engine, writer, dispatcher = parts.database, parts.writer, parts.dispatcher
    runtime = install(engine, loaded, now=clock.now(), actor=INSTANCE)
    campaign_id = runtime.id
    parts.runtimes[campaign_id] = runtime
    pbx.start(writer.submit)
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
