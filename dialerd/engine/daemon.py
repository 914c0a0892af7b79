"""`dialerd run`: live under systemd until told to stop, on parts built by :mod:`dialerd.app`.

Main thread: signals, sd_notify (READY, STATUS, WATCHDOG only while healthy,
RELOADING, STOPPING), reload and drain. APScheduler runs the dispatcher tick, the
reaper and the heartbeat; the PBX adapter and the result writer have their own threads.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.orm import Session

from dialerd.db.migrate import require_current
from dialerd.engine import jobs
from dialerd.engine.campaigns import CampaignSet, load_campaigns
from dialerd.engine.parts import Parts
from dialerd.engine.reconcile import alive_instances, interrupt_own, settle_orphans
from dialerd.logconfig import get_logger
from dialerd.process import heartbeat
from dialerd.process.instance_lock import InstanceLock
from dialerd.process.signals import SignalRouter
from dialerd.settings import state_dir

log = get_logger("dialerd.daemon")
PBX_WAIT_S = 5.0  # at start, how long to wait for the PBX before READY anyway


class Daemon:
    """One daemon's lifecycle over its parts: start, serve, reload, drain and stop."""

    def __init__(self, parts: Parts) -> None:
        self.parts = parts
        self.settings = parts.settings
        self.clock = parts.clock
        self.notifier = parts.notifier
        self.instance = parts.settings.instance_id
        self.engine = parts.database
        self.metrics = parts.metrics
        self.telephony = parts.telephony
        self.writer = parts.writer
        self.dispatcher = parts.dispatcher
        self.scheduler = parts.scheduler
        self.calendar = parts.calendar
        self.activity = parts.activity
        self.campaigns = CampaignSet()
        self._all_runtimes = parts.runtimes
        self._last_tick = time.monotonic()
        self._lock = InstanceLock(state_dir(), self.instance)

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        self._lock.acquire()  # before anything: a second daemon with our id stops here
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
        self.telephony.start(self.writer.submit)
        self.writer.start()
        self._start_fastagi()
        self._wait_for_pbx()
        self.reap(startup=True)
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
        self.telephony.close()
        self.writer.stop()
        self.writer.drain()
        self._stop_fastagi()
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
        self._lock.release()
        log.info("daemon_stopped", interrupted=left)

    def _abandon_start(self) -> None:
        """Start-up failed (old schema, bad settings): release what was already made."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.telephony.close()
        self.writer.stop()
        self._stop_fastagi()
        self.engine.dispose()
        self._lock.release()

    # -- jobs ---------------------------------------------------------------------
    def tick(self) -> None:
        report = self.dispatcher.tick()
        for seconds in report.lateness_s:
            self.metrics.lateness(seconds)
        self._last_tick = time.monotonic()

    def reap(self, startup: bool = False) -> None:
        telephony = self.telephony
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
                adopt=telephony.adopt,
                now=now,
                startup=startup,
            )
        if adopted or interrupted:
            log.info("orphans_settled", adopted=adopted, interrupted=interrupted, startup=startup)

    def beat(self) -> None:
        up, now = self.telephony.is_up(), self.clock.now()
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
                    "pbx": self.activity.link.detail,
                },
            )
            s.commit()
            if self.settings.metrics.enabled:
                for name, (due, in_flight) in self.parts.queue_gauges(s, now=now).items():
                    self.metrics.set_queue_depth(name, due)
                    self.metrics.set_in_flight(name, in_flight)
        self.metrics.pbx_up(up)

    # -- status ---------------------------------------------------------------------
    def in_flight(self) -> int:
        return self.telephony.in_flight()

    def dial_rate(self) -> float:
        """Dials per second over the last minute."""
        return self.activity.dial_rate()

    def healthy(self) -> bool:
        stale = max(5.0, 10 * self.settings.scheduler.tick_s)
        return self.scheduler.running and time.monotonic() - self._last_tick < stale

    def status_line(self) -> str:
        return (
            f"{len(self.campaigns.runtimes)} campaigns, {self.in_flight()} calls in flight, "
            f"{self.dial_rate()} dials/s; {self.activity.link.detail}"
        )

    def _start_fastagi(self) -> None:
        if self.parts.agi is None:
            return
        host, port = self.parts.agi.start()
        log.info("fastagi_listening", host=host, port=port)

    def _stop_fastagi(self) -> None:
        if self.parts.agi is not None:
            self.parts.agi.stop()

    def _wait_for_pbx(self) -> None:
        deadline = time.monotonic() + PBX_WAIT_S
        while not self.telephony.is_up() and time.monotonic() < deadline:
            time.sleep(0.05)
