"""`dialerd run`: live under systemd until told to stop, on parts built by :mod:`dialerd.app`.

Main thread: signals, sd_notify (READY, STATUS, WATCHDOG only while healthy,
RELOADING, STOPPING), reload and drain. The dispatcher tick has its own thread
(``jobs.TickLoop``); APScheduler runs the reaper, the heartbeat and the calendar
jobs; the PBX adapter and the result writer have their own threads.
Every one of them reports to ``parts.supervisor``: a transient database error is
retried (the jobs run again, the writer keeps its batch); a worker dead for good
stops the daemon with ``EXIT_WORKER_FAILED`` (docs/operations.md). The jobs
themselves, and the status the heartbeat publishes, are in :mod:`daemonjobs`.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path

from sqlalchemy.orm import Session

from dialerd.db.revision import require_current
from dialerd.domain.agents import AgentFloors
from dialerd.engine import jobs
from dialerd.engine.agentfigures import store_agent_figures
from dialerd.engine.campaigns import CampaignSet, load_campaigns
from dialerd.engine.daemonjobs import DaemonJobs
from dialerd.engine.parts import Parts
from dialerd.engine.reconcile import interrupt_own
from dialerd.importer.ported import PortedCarriers, PortedRefresher
from dialerd.logconfig import get_logger
from dialerd.process import heartbeat
from dialerd.process.instance_lock import InstanceLock
from dialerd.process.signals import SignalRouter
from dialerd.process.supervisor import EXIT_WORKER_FAILED, Failure
from dialerd.settings import state_directory

log = get_logger("dialerd.daemon")
PBX_WAIT_S = 5.0  # at start, how long to wait for the PBX before READY anyway


class Daemon(DaemonJobs):
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
        self.supervisor = parts.supervisor
        self.failure: Failure | None = None
        self.campaigns = CampaignSet()
        self._all_runtimes = parts.runtimes
        self._last_tick = time.monotonic()
        self._ticking = threading.Lock()  # held by a tick; stop waits for the one running
        self._troubled_at: float | None = None  # the last job run the database failed
        self._gone_since: dict[str, float] = {}  # peers with open dials, since seen gone
        self._run_started: datetime | None = None  # start(): this run's first instant
        self._own_reaped = False  # a reap has settled the previous run's dials
        tick_s = self.settings.scheduler.tick_s
        self._tick_loop = jobs.TickLoop("dialerd-dispatch", self.tick, tick_s)
        self._lock = InstanceLock(state_directory(), self.instance)
        self._fresh_records: dict[str, int] = {}  # call records read → link-up passes left

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        self._lock.acquire()  # before anything: a second daemon with our id stops here
        require_current(self.engine)
        self.supervisor.install()
        self.supervisor.check()  # the SQLite file watch takes the file it will guard
        now = self._run_started = self.clock.now()
        with Session(self.engine) as s:
            heartbeat.register_instance(
                s,
                instance_id=self.instance,
                pbx_kind=self.settings.pbx.kind,
                now=now,
                lease_s=heartbeat.lease_seconds(self.settings.scheduler.heartbeat_s),
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
        self.writer.replay()  # a previous run's spilled results, before the reaper looks
        self.telephony.start(self.writer.submit)
        self.writer.start()
        self._start_fastagi()
        self._start_api()
        self._wait_for_pbx()
        self.reap(startup=True)
        self.dispatcher.set_campaigns(self.campaigns.runtimes)
        sched = self.settings.scheduler
        jobs.add_periodic(self.scheduler, "reap", self.reap, seconds=sched.reap_interval_s)
        jobs.add_periodic(self.scheduler, "heartbeat", self.beat, seconds=sched.heartbeat_s)
        if (ported := self.settings.carriers.ported_file) is not None:
            refresh = PortedRefresher(self.engine, PortedCarriers(ported))
            period = self.settings.carriers.check_s
            job = partial(self._supervised, "ported", refresh)
            jobs.add_periodic(self.scheduler, "ported", job, seconds=period)
        if isinstance(floors := self.telephony, AgentFloors):
            store = partial(
                store_agent_figures, self.engine, floors, self.metrics, instance_id=self.instance
            )
            job = partial(self._supervised, "agents", store)
            jobs.add_periodic(self.scheduler, "agents", job, seconds=sched.heartbeat_s)
        for runtime in self.campaigns.runtimes.values():
            jobs.add_calendar_jobs(self.scheduler, runtime, self.calendar.on_event)
        if self.settings.metrics.enabled:
            self.metrics.serve(self.settings.metrics.host, self.settings.metrics.port)
        # what start-up built lives as long as the daemon: out of the collector's full passes
        # (each walked ~10^5 objects; ~10 % of the CPU of a dial at a thousand dials a second)
        gc.collect()
        gc.freeze()
        self.scheduler.start()
        self._tick_loop.start()
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
            self.failure = self.supervisor.check()
            if self.failure is not None:
                log.error("daemon_failing", worker=self.failure.worker, reason=self.failure.reason)
                self.notifier.status(f"failed: {self.failure.worker}: {self.failure.reason}")
                break
            self.notifier.status(self.status_line())
            if self.healthy():
                self.notifier.watchdog()
            signals.wait(min(interval, 1.0))
            if signals.take_reload():
                self.reload()
        self.stop(signals)
        return EXIT_WORKER_FAILED if self.failure is not None else 0

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
        gc.unfreeze()
        self.dispatcher.paused.set()
        with self._ticking:  # a tick under way finishes its dials before they are counted
            pass
        bound = self.settings.scheduler.drain_timeout_s
        log.info("drain_started", in_flight=self.in_flight(), bound_s=bound)
        deadline = time.monotonic() + bound
        while self.in_flight() > 0 and time.monotonic() < deadline:
            if signals.force_requested:
                log.warning("drain_forced", in_flight=self.in_flight())
                break
            self.notifier.status(f"stopping: {self.in_flight()} calls in flight")
            signals.wait(0.2)
        self._tick_loop.stop()
        self.scheduler.shutdown(wait=True)
        self.telephony.close()
        unwritten = self.writer.stop()
        self._stop_fastagi()
        self._stop_api()
        left = 0
        if unwritten:
            # their attempts stay open: the next start replays the spill, then reaps
            log.warning("interrupt_skipped", unwritten=unwritten)
        elif self.failure is None or self.failure.worker != "database file":
            left = self._best_effort("interrupt_own", self._interrupt_own) or 0
            self._best_effort("mark_stopped", self._mark_stopped)
        self.metrics.close()
        self.supervisor.uninstall()
        self._lock.release()
        log.info("daemon_stopped", interrupted=left, unwritten=unwritten)

    def _interrupt_own(self) -> int:
        with self.engine.begin() as conn:
            return interrupt_own(
                conn,
                instance_id=self.instance,
                runtime_for=self._all_runtimes.get,
                now=self.clock.now(),
                reason="daemon stopped",
            )

    def _mark_stopped(self) -> None:
        with Session(self.engine) as s:
            heartbeat.mark_stopped(s, self.instance, now=self.clock.now())
            s.commit()

    @staticmethod
    def _best_effort(what: str, step: Callable[[], int | None]) -> int | None:
        """A stopping step that needs the database: a failure is logged, the stop goes on."""
        try:
            return step()
        except Exception as exc:
            log.error("stop_step_failed", step=what, error=str(exc))
            return None

    def _abandon_start(self) -> None:
        """Start-up failed (old schema, bad settings): release what was already made."""
        self._tick_loop.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.telephony.close()
        self.writer.stop()
        self._stop_fastagi()
        self._stop_api()
        self.supervisor.uninstall()
        self.engine.dispose()
        self._lock.release()

    # -- status (the heartbeat's is in daemonjobs) ------------------------------------
    def healthy(self) -> bool:
        """The watchdog is fed only while this holds: jobs run and every worker lives."""
        stale = max(5.0, 10 * self.settings.scheduler.tick_s)
        return (
            self.scheduler.running
            and self._tick_loop.running
            and time.monotonic() - self._last_tick < stale
            and self.supervisor.healthy()
        )

    def status_line(self) -> str:
        line = (
            f"{len(self.campaigns.runtimes)} campaigns, {self.in_flight()} calls in flight, "
            f"{self.dial_rate()} dials/s; {self.activity.link.detail}"
        )
        held = self.writer.hold_reason()
        troubles = self.supervisor.troubles()
        if held is not None:
            troubles.insert(0, f"dialling held: {held}")
        return "; ".join([line, *troubles])

    def _start_fastagi(self) -> None:
        if self.parts.agi is None:
            return
        host, port = self.parts.agi.start()
        log.info("fastagi_listening", host=host, port=port)

    def _stop_fastagi(self) -> None:
        if self.parts.agi is not None:
            self.parts.agi.stop()

    def _start_api(self) -> None:
        if self.parts.api is None:
            return
        host, port = self.parts.api.start()
        log.info("api_listening", host=host, port=port)

    def _stop_api(self) -> None:
        if self.parts.api is not None:
            self.parts.api.stop()

    def _wait_for_pbx(self) -> None:
        deadline = time.monotonic() + PBX_WAIT_S
        while not self.telephony.is_up() and time.monotonic() < deadline:
            time.sleep(0.05)
