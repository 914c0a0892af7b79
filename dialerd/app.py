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
from dialerd.db.engine import make_engine
from dialerd.db.secrets import shared_secret
from dialerd.domain.clock import SystemClock
from dialerd.domain.ports import Clock, Telephony
from dialerd.engine import jobs
from dialerd.engine.activity import Activity
from dialerd.engine.calendar_events import CalendarEvents
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.parts import AnsweredLegServer, Parts
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import ResultWriter
from dialerd.pbx.agitoken import AgiTokens
from dialerd.pbx.factory import make_pbx
from dialerd.pbx.fastagi import FastAgiServer
from dialerd.process.metrics import make_metrics
from dialerd.process.notify import Notifier
from dialerd.settings import Settings


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

    ``telephony`` defaults to the PBX of ``settings.pbx`` (its status hook already
    wired to the daemon's activity); ``database`` to an engine on
    ``settings.database.url``; ``monotonic`` paces the dispatcher (a virtual clock
    passes its own time so rate windows follow it); ``agi_tokens`` signs the dials
    and checks FastAGI requests (default: ``agi.secret``, else the database's secret).
    """
    clock = clock or SystemClock()
    metrics = make_metrics(settings.metrics)
    activity = Activity(metrics, monotonic=monotonic)
    database = database if database is not None else make_engine(settings.database.url)
    if telephony is None:  # last: the simulator kind starts a server thread
        telephony = make_pbx(settings, clock=clock, on_status=activity.on_link)
    runtimes: dict[int, CampaignRuntime] = {}
    instance = settings.instance_id
    writer = ResultWriter(database, clock, runtimes.get, on_recorded=activity.on_recorded)
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
        monotonic=monotonic,
        agi_tokens=tokens,
    )
    agi: AnsweredLegServer | None = None
    if settings.agi.enabled:
        agi = FastAgiServer(settings.agi, telephony.on_answered, tokens=tokens)
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
    )
