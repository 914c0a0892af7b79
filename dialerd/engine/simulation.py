"""`dialerd simulate`: a campaign's whole life on a virtual clock, in seconds.

The real dispatcher, result writer, classification and policy (assembled by
:func:`dialerd.app.assemble` with a virtual clock and PBX) run against the virtual
PBX; the loop jumps the clock from one event to the next (a result due, a queued
dial due, the next open window) instead of waiting.

Speed: the clock moves at least :data:`STEP` at a time, so every step's results
are written in one transaction (as the daemon's writer batches what arrived since
its last write) and one dispatcher tick claims a step's worth of dials: the
campaign's rate is scaled by the step (``calls_per_second`` x STEP per tick, the
same dials per minute), channels (``max_concurrent``) are not.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, select, text

from dialerd.campaignfile.loader import LoadedCampaign
from dialerd.db import tables
from dialerd.domain.clock import VirtualClock
from dialerd.engine import claims
from dialerd.engine.campaigns import install
from dialerd.engine.parts import Parts
from dialerd.engine.runtime import CampaignRuntime
from dialerd.pbx.virtual import VirtualPbx
from dialerd.settings import Settings

_pn = tables.phone_numbers
_QUEUED = text("phone_numbers.state = 'dialable' AND phone_numbers.next_dial_at IS NOT NULL")
_NEXT_AT_LEVEL = (
    select(_pn.c.next_dial_at)
    .where(_pn.c.campaign_id == bindparam("c"), _pn.c.priority == bindparam("level"), _QUEUED)
    .order_by(_pn.c.next_dial_at)
    .limit(1)
)
STEP = timedelta(seconds=10)
INSTANCE = "simulate"
# reporting indexes whose conditions read the outcome a result writes (migration 0002):
# keeping them is most of the cost of closing an attempt row; only the report reads them
REPORT_INDEXES = ("ix_attempts_counted", "ix_attempts_reached", "ix_attempts_success")
_INDEX_SQL = text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN :names")


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


def start_of(loaded: LoadedCampaign, day: date | None = None, *, now: datetime) -> datetime:
    """Where a preview starts: ``day`` at 00:00 local time, else ``now`` (to the minute).

    A campaign whose ``start`` is later simply waits for it on the virtual clock.
    """
    if day is None:
        return now.astimezone(UTC).replace(second=0, microsecond=0)
    tz = ZoneInfo(loaded.model.timezone)
    return datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(UTC)


def _next_due(engine: Engine, campaign_id: int) -> datetime | None:
    """The earliest queued dial: one index seek per priority level (a MIN over the whole
    queue scanned every queued row, a quarter of a 100,000-contact preview)."""
    with engine.connect() as conn:
        found = []
        for level in claims.priority_levels(conn, campaign_id):
            due = conn.execute(_NEXT_AT_LEVEL, {"c": campaign_id, "level": level}).scalar()
            if due is not None:
                found.append(due)
    return min(found, default=None)


def _per_tick(calls_per_second: float) -> float:
    """A rate as dials per STEP, counted over the dispatcher's one-second window."""
    return max(calls_per_second * STEP.total_seconds(), 1.0)


def _own_time_zones(engine: Engine, campaign_id: int, timezone: str) -> bool:
    """Whether any contact keeps a time zone other than the campaign's."""
    ct = tables.contacts
    with engine.connect() as conn:
        other = conn.execute(
            select(ct.c.id)
            .where(ct.c.campaign_id == campaign_id, ct.c.timezone.is_not(None))
            .where(ct.c.timezone != timezone)
            .limit(1)
        ).first()
    return other is not None


def drop_report_indexes(engine: Engine) -> list[str]:
    """Drop :data:`REPORT_INDEXES` from a SQLite history; their definitions, as stored.

    For a history the simulation created itself: :func:`restore_indexes` must put them
    back (from these definitions) before anything reports on it.
    """
    with engine.begin() as conn:
        found = conn.execute(
            _INDEX_SQL.bindparams(bindparam("names", expanding=True)),
            {"names": list(REPORT_INDEXES)},
        ).all()
        for name, _ in found:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return [str(sql) for _, sql in found]


def restore_indexes(engine: Engine, definitions: list[str]) -> None:
    """Create again the indexes :func:`drop_report_indexes` dropped."""
    with engine.begin() as conn:
        for sql in definitions:
            conn.exec_driver_sql(sql)


def simulation_settings(base: Settings, loaded: LoadedCampaign) -> Settings:
    """``base`` sized for one campaign alone: its own channel and rate limits, no FastAGI."""
    d = loaded.model.dialing
    return base.model_copy(
        update={
            "instance_id": INSTANCE,
            "pbx": base.pbx.model_copy(
                update={
                    "max_channels": d.max_concurrent,
                    "calls_per_second": _per_tick(d.calls_per_second),
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
    if parts.agi is None:  # no FastAGI server (simulation_settings): no token is ever checked
        dispatcher.send_unsigned()
    runtime = install(engine, loaded, now=clock.now(), actor=INSTANCE)
    campaign_id = runtime.id
    parts.runtimes[campaign_id] = runtime
    pbx.start(writer.submit)
    # one tick per STEP claims the dials the campaign's rate allows in a STEP
    stepped = replace(runtime, calls_per_second=_per_tick(runtime.calls_per_second))
    dispatcher.set_campaigns({campaign_id: stepped})
    sim = Simulation(campaign_id, runtime, started=clock.now(), finished=clock.now())
    # with every contact on the campaign's clock, closed hours hold nothing to do: the
    # loop jumps them (else each due number would be pushed to the window one by one)
    jump_closed = not _own_time_zones(engine, campaign_id, loaded.model.timezone)
    # what the import and start-up built lives to the end: out of the collector's full
    # passes, as the daemon does (each pass walked it: ~4 % of a 5,000-contact run)
    gc.collect()
    gc.freeze()
    try:
        _loop(sim, parts, runtime, clock=clock, pbx=pbx, jump_closed=jump_closed, max_days=max_days)
    finally:
        gc.unfreeze()
    sim.finished = clock.now()
    return sim


def _loop(
    sim: Simulation,
    parts: Parts,
    runtime: CampaignRuntime,
    *,
    clock: VirtualClock,
    pbx: VirtualPbx,
    jump_closed: bool,
    max_days: int,
) -> None:
    """Step the clock from event to event until nothing is left to do."""
    engine, writer, dispatcher = parts.database, parts.writer, parts.dispatcher
    campaign_id = sim.campaign_id
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
        following = pbx.next_event_at()
        if following is None or following > now + STEP:
            due = _next_due(engine, campaign_id)  # only when no result comes sooner
            following = min((t for t in (following, due) if t), default=None)
        if following is None:
            sim.stopped_because = "nothing left to dial"
            break
        nxt = max(following, now + STEP)  # a step's results in one write, its dials in one tick
        opening = runtime.calendar.next_open(nxt)
        if opening is None and pbx.in_flight() == 0:
            sim.stopped_because = "the campaign ended"
            break
        if jump_closed and opening is not None and pbx.in_flight() == 0:
            nxt = max(nxt, opening)
        if nxt > horizon:
            sim.stopped_because = f"stopped after {max_days} days"
            break
        clock.advance_to(nxt)
