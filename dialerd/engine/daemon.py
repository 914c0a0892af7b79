"""`dialerd run`: wire the parts together and live under systemd until told to stop.

Main thread: signals, sd_notify (READY, STATUS, WATCHDOG only while healthy,
RELOADING, STOPPING), reload and drain. APScheduler runs the dispatcher tick, the
reaper and the heartbeat; the PBX adapter and the result writer have their own threads.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialerd.db.engine import make_engine
from dialerd.db.migrate import require_current
from dialerd.domain.ports import Clock
from dialerd.engine import jobs
from dialerd.engine.calendar_events import CalendarEvents
from dialerd.engine.campaigns import CampaignSet, load_campaigns
from dialerd.engine.clock import SystemClock
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.reconcile import alive_instances, interrupt_own, settle_orphans
from dialerd.engine.results import Recorded
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import ResultWriter
from dialerd.logconfig import get_logger
from dialerd.pbx.factory import Pbx, make_pbx
from dialerd.service import heartbeat
from dialerd.service.metrics import make_metrics
from dialerd.service.notify import Notifier
from dialerd.service.overview import queue_gauges
from dialerd.service.signals import SignalRouter
from dialerd.settings import Settings

log = get_logger("dialerd.daemon")
PBX_WAIT_S = 5.0  # at start, how long to wait for the PBX before READY anyway


class Daemon:
    def __init__(
        self, settings: Settings, *, clock: Clock | None = None, notifier: Notifier | None = None
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.notifier = notifier or Notifier()
        self.instance = settings.instance_id
        self.engine: Engine = make_engine(settings.database.url)
        self.metrics = make_metrics(settings.metrics)
        self.campaigns = CampaignSet()
        self._all_runtimes: dict[int, CampaignRuntime] = {}
        self._pbx_status = "PBX not started"
        self._connected_once = False
        self._last_tick = time.monotonic()
        self._sent: deque[tuple[float, int]] = deque()
        self.pbx: Pbx | None = None
        self.scheduler = jobs.make_scheduler()

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        require_current(self.engine)
        now = self.clock.now()
        with Session(self.engine) as s:
            heartbeat.register_instance(
                s, instance_id=self.instance, pbx_kind=self.settings.pbx.kind, now=now
            )
            s.commit()
        self.campaigns = load_campaigns(
            self.engine,
            Path(self.settings.campaigns_dir),
            now=now,
            actor=self.instance,
            lists_dirs=self.settings.lists_dirs,
        )
        self._all_runtimes.update(self.campaigns.runtimes)
        self.pbx = make_pbx(self.settings, clock=self.clock, on_status=self._on_pbx_status)
        self.writer = ResultWriter(
            self.engine, self.clock, self._all_runtimes.get, on_recorded=self._on_recorded
        )
        self.pbx.telephony.start(self.writer.submit)
        self.writer.start()
        self._start_fastagi()
        self._wait_for_pbx()
        self.reap(startup=True)
        self.dispatcher = Dispatcher(
            self.engine,
            self.pbx.telephony,
            self.clock,
            instance_id=self.instance,
            max_channels=self.settings.pbx.max_channels,
            calls_per_second=self.settings.pbx.calls_per_second,
            batch=self.settings.scheduler.batch,
            on_dial=self._on_dial,
        )
        self.dispatcher.set_campaigns(self.campaigns.runtimes)
        sched = self.settings.scheduler
        jobs.add_periodic(
            self.scheduler,
            "dispatch",
            self.tick,
            seconds=sched.tick_s,
            grace_s=max(1.0, 5 * sched.tick_s),
        )
        jobs.add_periodic(self.scheduler, "reap", self.reap, seconds=sched.reap_interval_s)
        jobs.add_periodic(self.scheduler, "heartbeat", self.beat, seconds=sched.heartbeat_s)
        self.calendar = CalendarEvents(self.engine, self.instance)
        for runtime in self.campaigns.runtimes.values():
            jobs.add_calendar_jobs(self.scheduler, runtime, self.calendar.on_event)
        if self.settings.metrics.enabled:
            self.metrics.serve(self.settings.metrics.host, self.settings.metrics.port)
        self.scheduler.start()
        log.info(
            "daemon_started",
            instance=self.instance,
            campaigns=len(self.campaigns.runtimes),
            pbx=self.settings.pbx.kind,
        )

    def run(self, signals: SignalRouter) -> int:
        """Start, then serve until SIGTERM; returns the exit status."""
        try:
            self.start()
        except BaseException:
            self._abandon_start()
            raise
        self.notifier.ready()
        interval = self.notifier.watchdog_interval() or 1.0
        while not signals.stop_requested:
            self.notifier.status(self.status_line())
            if self.healthy():
                self.notifier.watchdog()
            signals.wait(min(interval, 1.0))
            if signals.take_reload():
                self.reload()
        self.stop(signals)
        return 0

    def reload(self) -> None:
        """SIGHUP: re-read the campaigns folder; progress is in the database, so nothing is lost."""
        self.notifier.reloading()
        log.info("reload_started")
        self.campaigns = load_campaigns(
            self.engine,
            Path(self.settings.campaigns_dir),
            now=self.clock.now(),
            actor=self.instance,
            previous=self.campaigns,
            lists_dirs=self.settings.lists_dirs,
        )
        self._all_runtimes.update(self.campaigns.runtimes)
        self.dispatcher.set_campaigns(self.campaigns.runtimes)
        for job in self.scheduler.get_jobs():
            if job.id.startswith("calendar:"):
                job.remove()
        for runtime in self.campaigns.runtimes.values():
            jobs.add_calendar_jobs(self.scheduler, runtime, self.calendar.on_event)
        log.info(
            "reload_done",
            campaigns=len(self.campaigns.runtimes),
            refused=[p.path for p in self.campaigns.problems],
        )
        self.notifier.ready()

    def stop(self, signals: SignalRouter) -> None:
        """Stop dialling, let calls in flight finish up to the bound, record everything."""
        self.notifier.stopping()
        self.dispatcher.paused.set()
        bound = self.settings.scheduler.drain_timeout_s
        log.info("drain_started", in_flight=self.in_flight(), bound_s=bound)
        deadline = time.monotonic() + bound
        while self.in_flight() > 0 and time.monotonic() < deadline:
            if signals.force_requested:
                log.warning("drain_forced", in_flight=self.in_flight())
                break
            self.notifier.status(f"stopping: {self.in_flight()} calls in flight")
            signals.wait(0.2)
        self.scheduler.shutdown(wait=True)
        assert self.pbx is not None
        self.pbx.close()
        self.writer.stop()
        self.writer.drain()
        if hasattr(self, "agi"):
            self.agi.stop()
        with self.engine.begin() as conn:
            left = interrupt_own(
                conn,
                instance_id=self.instance,
                runtime_for=self._all_runtimes.get,
                now=self.clock.now(),
                reason="daemon stopped",
            )
        with Session(self.engine) as s:
            heartbeat.mark_stopped(s, self.instance, now=self.clock.now())
            s.commit()
        self.metrics.close()
        log.info("daemon_stopped", interrupted=left)

    def _abandon_start(self) -> None:
        """Start-up failed (old schema, bad settings): release what was already made."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.pbx is not None:
            self.pbx.close()
        if hasattr(self, "writer"):
            self.writer.stop()
        self.engine.dispose()

    # -- jobs ---------------------------------------------------------------------
    def tick(self) -> None:
        report = self.dispatcher.tick()
        for seconds in report.lateness_s:
            self.metrics.lateness(seconds)
        self._last_tick = time.monotonic()

    def reap(self, startup: bool = False) -> None:
        assert self.pbx is not None
        telephony = self.pbx.telephony
        live = telephony.live_keys() if telephony.is_up() else None
        now = self.clock.now()
        with self.engine.begin() as conn:
            alive = alive_instances(conn, now=now, heartbeat_s=self.settings.scheduler.heartbeat_s)
            adopted, interrupted = settle_orphans(
                conn,
                instance_id=self.instance,
                alive=alive,
                live_keys=live,
                runtime_for=self._all_runtimes.get,
                adopt=getattr(telephony, "adopt", None),
                now=now,
                startup=startup,
            )
        if adopted or interrupted:
            log.info("orphans_settled", adopted=adopted, interrupted=interrupted, startup=startup)

    def beat(self) -> None:
        assert self.pbx is not None
        up, now = self.pbx.telephony.is_up(), self.clock.now()
        with Session(self.engine) as s:
            heartbeat.beat(
                s,
                self.instance,
                now=now,
                pbx_up=up,
                in_flight=self.in_flight(),
                status={
                    "campaigns": len(self.campaigns.runtimes),
                    "dial_rate": self.dial_rate(),
                    "pbx": self._pbx_status,
                },
            )
            s.commit()
            if self.settings.metrics.enabled:
                for name, (due, in_flight) in queue_gauges(s, now=now).items():
                    self.metrics.set_queue_depth(name, due)
                    self.metrics.set_in_flight(name, in_flight)
        self.metrics.pbx_up(up)

    # -- status ---------------------------------------------------------------------
    def in_flight(self) -> int:
        return self.pbx.telephony.in_flight() if self.pbx is not None else 0

    def dial_rate(self) -> float:
        """Dials per second over the last minute."""
        cutoff = time.monotonic() - 60
        while self._sent and self._sent[0][0] < cutoff:
            self._sent.popleft()
        return round(sum(n for _, n in self._sent) / 60, 2)

    def healthy(self) -> bool:
        stale = max(5.0, 10 * self.settings.scheduler.tick_s)
        return self.scheduler.running and time.monotonic() - self._last_tick < stale

    def status_line(self) -> str:
        return (
            f"{len(self.campaigns.runtimes)} campaigns, {self.in_flight()} calls in flight, "
            f"{self.dial_rate()} dials/s; {self._pbx_status}"
        )

    def _on_dial(self, runtime: CampaignRuntime, n: int) -> None:
        self._sent.append((time.monotonic(), n))
        for _ in range(n):
            self.metrics.dial_started(runtime.name)

    def _on_recorded(self, rec: Recorded) -> None:
        self.metrics.outcome(rec.campaign, rec.outcome.value)

    def _on_pbx_status(self, status: str) -> None:
        connected = status.startswith("AMI connected")
        if connected and self._connected_once:
            self.metrics.reconnected()
        self._connected_once |= connected
        self._pbx_status = status
        log.info("pbx_status", status=status)

    def _start_fastagi(self) -> None:
        if not self.settings.agi.enabled:
            return
        from dialerd.pbx.fastagi import FastAgiServer

        assert self.pbx is not None
        self.agi = FastAgiServer(self.settings.agi, self.pbx.telephony.on_answered)
        host, port = self.agi.start()
        log.info("fastagi_listening", host=host, port=port)

    def _wait_for_pbx(self) -> None:
        assert self.pbx is not None
        deadline = time.monotonic() + PBX_WAIT_S
        while not self.pbx.telephony.is_up() and time.monotonic() < deadline:
            time.sleep(0.05)
