"""The daemon's periodic jobs under its supervisor: the dispatch tick, the reaper, the heartbeat.

A job's transient database error is retried by its next run; anything else
marks its worker failed (``parts.supervisor``), which stops the daemon. The
heartbeat publishes the status `dialerd status` shows (agents included).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialerd.db.failures import database_error, is_transient
from dialerd.domain.agents import AgentFloors
from dialerd.domain.ports import Clock, Telephony
from dialerd.engine.activity import Activity
from dialerd.engine.campaigns import CampaignSet
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.parts import Parts
from dialerd.engine.reconcile import (
    alive_instances,
    correct_from_records,
    open_instances,
    settle_orphans,
)
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import ResultWriter
from dialerd.errors import DialerdError
from dialerd.logconfig import get_logger
from dialerd.process import heartbeat
from dialerd.process.metrics import Metrics
from dialerd.process.supervisor import Supervisor
from dialerd.settings import Settings

RECORD_PASSES = 3  # reaps with the link up that match a new call record to interrupted dials
RECORD_KEYS_MAX = 20_000  # new call records waiting for those reaps, at most
log = get_logger("dialerd.daemon")


class DaemonJobs:
    """The jobs half of :class:`~dialerd.engine.daemon.Daemon`, which sets these attributes."""

    parts: Parts
    settings: Settings
    clock: Clock
    instance: str
    engine: Engine
    metrics: Metrics
    telephony: Telephony
    writer: ResultWriter
    dispatcher: Dispatcher
    activity: Activity
    supervisor: Supervisor
    campaigns: CampaignSet
    _all_runtimes: dict[int, CampaignRuntime]
    _last_tick: float
    _ticking: threading.Lock
    _troubled_at: float | None
    _gone_since: dict[str, float]
    _run_started: datetime | None
    _own_reaped: bool
    _fresh_records: dict[str, int]

    # -- jobs ---------------------------------------------------------------------
    def tick(self) -> None:
        with self._ticking:
            try:
                self._supervised("dispatch", self._dispatch)
            finally:
                self._last_tick = time.monotonic()

    def _dispatch(self) -> None:
        report = self.dispatcher.tick()
        for seconds in report.lateness_s:
            self.metrics.lateness(seconds)

    def _supervised(self, name: str, work: Callable[[], None]) -> None:
        """Run a job under its worker: transient errors are retried by the next run."""
        worker = self.supervisor.worker(name)
        try:
            work()
        except Exception as exc:
            if not (is_transient(exc) or isinstance(exc, DialerdError)):
                log.exception("job_crashed", job=name)
                worker.failed(f"{type(exc).__name__}: {exc}")
                return
            reason = str(database_error(exc) or exc).splitlines()[0]
            self._troubled_at = self.supervisor.monotonic()
            if worker.trouble is None:
                log.warning("job_failed", job=name, error=reason)
            worker.retrying(reason)
            return
        if worker.trouble is not None:
            log.info("job_recovered", job=name)
            worker.recovered()

    def reap(self, startup: bool = False) -> None:
        if startup:
            self._reap(startup=True)
        else:
            self._supervised("reap", self._reap)

    def _peers_may_be_behind(self) -> bool:
        """True while peers may not have beaten since the database came back.

        No daemon can beat while the database is away, so right after an outage
        every peer looks gone: settling their dials then would interrupt live calls.
        """
        if self.writer.hold_reason() is not None:
            return True
        if self._troubled_at is None:
            return False
        window = (heartbeat.ALIVE_BEATS + 1) * self.settings.scheduler.heartbeat_s
        return self.supervisor.monotonic() - self._troubled_at < window

    def _lately_gone(self, gone: set[str]) -> frozenset[str]:
        """Peers seen gone for less than ``scheduler.peer_grace_s``: their unanswered dials
        wait, so a peer that restarts can replay its spilled results first."""
        now = self.supervisor.monotonic()
        self._gone_since = {i: self._gone_since.get(i, now) for i in gone}
        grace = self.settings.scheduler.peer_grace_s
        return frozenset(i for i, since in self._gone_since.items() if now - since < grace)

    def _reap(self, startup: bool = False) -> None:
        if not startup and self._peers_may_be_behind():
            log.debug("reap_deferred")
            return
        telephony = self.telephony
        live = telephony.live_keys() if telephony.is_up() else None
        records = self.parts.call_records
        if records is not None:  # read after the channel list: an ended call has its record
            for key in records.refresh():
                self._fresh_records[key] = RECORD_PASSES
            for key in list(self._fresh_records)[: -RECORD_KEYS_MAX or None]:
                del self._fresh_records[key]  # a link down for long: the oldest go first
        now = self.clock.now()
        startup = startup or not self._own_reaped
        with self.engine.begin() as conn:
            alive = alive_instances(conn)
            adopted, interrupted = settle_orphans(
                conn,
                instance_id=self.instance,
                alive=alive,
                live_keys=live,
                runtime_for=self._all_runtimes.get,
                adopt=telephony.adopt,
                now=now,
                startup=startup,
                spare=self._lately_gone(open_instances(conn) - alive - {self.instance}),
                run_started=self._run_started,
                records=records,
            )
            corrected = (
                correct_from_records(
                    conn,
                    set(self._fresh_records),
                    records,
                    runtime_for=self._all_runtimes.get,
                    now=now,
                )
                if records is not None
                else 0
            )
        if live is not None:  # the adapter may yet mark a dial of these lost on reconnect
            self._fresh_records = {k: n - 1 for k, n in self._fresh_records.items() if n > 1}
        if corrected:
            log.info("interrupted_corrected_from_records", corrected=corrected)
        self._own_reaped = self._own_reaped or live is not None
        if adopted or interrupted:
            log.info("orphans_settled", adopted=adopted, interrupted=interrupted, startup=startup)

    def beat(self) -> None:
        self._supervised("heartbeat", self._beat)

    def _beat(self) -> None:
        if self.parts.clock_sync is not None:
            self.parts.clock_sync()
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
                    **self._agents_status(),
                },
                lease_s=heartbeat.lease_seconds(self.settings.scheduler.heartbeat_s),
            )
            s.commit()
            if self.settings.metrics.enabled:
                for name, (due, in_flight) in self.parts.queue_gauges(s, now=now).items():
                    self.metrics.set_queue_depth(name, due)
                    self.metrics.set_in_flight(name, in_flight)
        self.metrics.pbx_up(up)

    def in_flight(self) -> int:
        return self.telephony.in_flight()

    def _agents_status(self) -> dict[str, object]:
        """Each agent queue's agents by state, when the PBX has queues (for `dialerd status`)."""
        telephony = self.telephony
        if not isinstance(telephony, AgentFloors):
            return {}
        queues = telephony.queues()
        occupancy = {t.queue: t.this_hour.occupancy for t in telephony.agent_times()}
        docs = [{**q.as_dict(), "occupancy": occupancy.get(q.queue)} for q in queues]
        return {"agents": docs} if docs else {}

    def dial_rate(self) -> float:
        """Dials per second over the last minute."""
        return self.activity.dial_rate()
