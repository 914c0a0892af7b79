"""The composition root: settings (and a few overrides) in, every part of a daemon out.

``dialerd run``, ``dialerd simulate`` and the test rigs all build their parts here,
so the engine and the adapters never construct each other. Nothing is started:
threads, sockets and jobs are the caller's lifecycle (:class:`dialerd.engine.daemon.Daemon`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from dialerd.actions.overview import queue_gauges
from dialerd.actions.pace import drop_stale_overrides, pace_overrides
from dialerd.api.context import ApiContext
from dialerd.api.server import ApiServer
from dialerd.db.clock import sample_database_now
from dialerd.db.engine import is_sqlite, make_engine
from dialerd.db.secrets import shared_secret
from dialerd.domain.agents import AgentFloors
from dialerd.domain.clock import AnchoredClock
from dialerd.domain.ports import Clock, Telephony
from dialerd.engine import jobs
from dialerd.engine.activity import Activity
from dialerd.engine.calendar_events import CalendarEvents
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.pacing import Pacing
from dialerd.engine.parts import AnsweredLegServer, Parts
from dialerd.engine.pending import Recorded
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.spill import Spill
from dialerd.engine.writer import ResultWriter
from dialerd.importer.ported import PortedCarriers
from dialerd.pbx.agitoken import AgiTokens
from dialerd.pbx.cdr import MASTER_COLUMNS, CdrFile
from dialerd.pbx.factory import make_pbx
from dialerd.pbx.fastagi import FastAgiServer
from dialerd.process.dbfile import DatabaseFileWatch, sqlite_file
from dialerd.process.metrics import make_metrics
from dialerd.process.notify import Notifier
from dialerd.process.supervisor import Supervisor
from dialerd.settings import Settings

STALE_MARGIN_S = 60.0


def assemble(
    settings: Settings,
    *,
    clock: Clock | None = None,
    notifier: Notifier | None = None,
    telephony: Telephony | None = None,
    database: Engine | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    agi_tokens: AgiTokens | None = None,
) -> Parts:
    """Build the parts ``settings`` describe; each override replaces the part it names.

    ``clock`` defaults to the database's clock (:class:`AnchoredClock`: sampled at
    each heartbeat, carried forward by ``time.monotonic`` in between), so due
    times, spacing and leases are measured by one clock for every daemon.

    ``telephony`` defaults to the PBX of ``settings.pbx`` (its status hook already
    wired to the daemon's activity); ``database`` to an engine on
    ``settings.database.url``; ``monotonic`` paces the dispatcher (a virtual clock
    passes its own time so rate windows follow it); ``agi_tokens`` signs the dials
    and checks FastAGI requests (default: ``agi.secret``, else the database's secret).
    """
    metrics = make_metrics(settings.metrics)
    activity = Activity(metrics, monotonic=monotonic)
    if database is None:
        database = make_engine(
            settings.database.url, busy_timeout_s=settings.database.busy_timeout_s
        )
    clock_sync = None
    if clock is None:
        db = database
        anchored = AnchoredClock(lambda: sample_database_now(db), time.monotonic)
        clock, clock_sync = anchored, anchored.sync
    if telephony is None:  # last: the simulator kind starts a server thread
        telephony = make_pbx(settings, clock=clock, on_status=activity.on_link)
    runtimes: dict[int, CampaignRuntime] = {}
    instance = settings.instance_id
    supervisor = _supervisor(settings)
    db_file = sqlite_file(database.url.render_as_string(hide_password=True))
    guard = None
    if db_file is not None:
        watch = DatabaseFileWatch(db_file)
        supervisor.watch("database file", watch.check)
        guard = watch.check
    # reads that need no write lock: a deferred-BEGIN engine on an SQLite file
    reader = reader_of(database) if db_file is not None else database
    results = settings.results
    pacing = Pacing(telephony, clock, monotonic=monotonic)
    if isinstance(telephony, AgentFloors):
        metrics.watch_agents(telephony.agent_times)
    writer = ResultWriter(
        database,
        clock,
        runtimes.get,
        on_recorded=_both(activity.on_recorded, pacing.observe),
        spill=Spill(results.spill_dir, instance),
        queue_max=results.queue_max,
        linger_s=results.linger_s,
        retry_min_s=results.retry_min_s,
        retry_max_s=results.retry_max_s,
        health=supervisor.register(
            "results",
            give_up_s=results.give_up_s,
            # a write may wait out the busy timeout, a retry the longest backoff
            stale_s=settings.database.busy_timeout_s + results.retry_max_s + STALE_MARGIN_S,
            threads=("dialerd-results",),
        ),
        guard=guard,
    )
    agi_secret = settings.agi.secret.get_secret_value()
    # without a configured secret, every daemon of the database signs with its shared one
    tokens = agi_tokens or AgiTokens(agi_secret or (lambda: shared_secret(database, "agi")))
    dispatcher = Dispatcher(
        database,
        telephony,
        clock,
        instance_id=instance,
        max_channels=settings.pbx.max_channels,
        calls_per_second=settings.pbx.calls_per_second,
        batch=settings.scheduler.batch,
        tick_s=settings.scheduler.tick_s,
        on_dial=activity.on_dial,
        on_missed=activity.on_missed,
        monotonic=monotonic,
        agi_tokens=tokens,
        hold=writer.hold_reason,
        pace=pace_overrides,
        on_load=lambda: drop_stale_overrides(database, who=instance, now=clock.now()),
        pacing=pacing,
        carriers=PortedCarriers(ported).current
        if (ported := settings.carriers.ported_file)
        else None,
        reader=reader,
    )
    agi: AnsweredLegServer | None = None
    if settings.agi.enabled:
        agi = FastAgiServer(settings.agi, telephony.on_answered, tokens=tokens)
    api: AnsweredLegServer | None = None
    if settings.api.enabled:
        api = ApiServer(ApiContext(settings, database, reader, clock))
    return Parts(
        settings=settings,
        database=database,
        clock=clock,
        telephony=telephony,
        runtimes=runtimes,
        writer=writer,
        dispatcher=dispatcher,
        activity=activity,
        metrics=metrics,
        notifier=notifier or Notifier(),
        scheduler=jobs.make_scheduler(),
        calendar=CalendarEvents(database, instance),
        queue_gauges=queue_gauges,
        agi=agi,
        supervisor=supervisor,
        api=api,
        clock_sync=clock_sync,
        call_records=_call_records(settings),
    )


def _both(*hooks: Callable[[Recorded], None]) -> Callable[[Recorded], None]:
    """One ``on_recorded`` hook calling each of ``hooks`` in turn."""

    def call(rec: Recorded) -> None:
        for hook in hooks:
            hook(rec)

    return call


def _call_records(settings: Settings) -> CdrFile | None:
    """Asterisk's CDR file, when ``pbx.cdr_csv`` names one."""
    pbx = settings.pbx
    if pbx.cdr_csv is None:
        return None
    return CdrFile(pbx.cdr_csv, pbx.cdr_columns or MASTER_COLUMNS)


def _supervisor(settings: Settings) -> Supervisor:
    """The workers besides the result writer: the daemon's jobs and the adapters' threads."""
    supervisor = Supervisor()
    for job in ("dispatch", "reap", "heartbeat"):
        supervisor.register(job, give_up_s=settings.results.give_up_s)
    supervisor.register("pbx", threads=("ami-",))
    supervisor.register("fastagi", threads=("fastagi",))
    supervisor.register("metrics", threads=("metrics",))
    return supervisor


def reader_of(database: Engine) -> Engine:
    """An engine for reads: on SQLite one whose transactions begin deferred (no write lock)."""
    if not is_sqlite(database):
        return database
    return make_engine(database.url.render_as_string(hide_password=False), read_only=True)
