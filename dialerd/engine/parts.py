"""The daemon's parts, fully built by the composition root (:mod:`dialerd.app`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialerd.domain.ports import Clock, Telephony
from dialerd.engine.activity import Activity
from dialerd.engine.calendar_events import CalendarEvents
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.reconcile import CallRecords
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.writer import ResultWriter
from dialerd.process.metrics import Metrics
from dialerd.process.notify import Notifier
from dialerd.process.supervisor import Supervisor
from dialerd.settings import Settings


class QueueGauges(Protocol):
    """Campaign name -> (numbers due now, dials in flight), for the metrics."""

    def __call__(self, session: Session, *, now: datetime) -> dict[str, tuple[int, int]]: ...


class AnsweredLegServer(Protocol):
    """A server thread's life, as the daemon drives it (FastAGI, the HTTP API)."""

    def start(self) -> tuple[str, int]: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Parts:
    """Everything a daemon, a simulation or a test rig runs on; nothing started yet.

    ``runtimes`` is shared: the writer and the reaper look campaigns up in it, and
    it keeps every campaign ever loaded so late results of a removed one still land.
    ``supervisor`` holds every worker's health (registered here, read by the daemon).
    """

    settings: Settings
    database: Engine
    clock: Clock
    telephony: Telephony
    runtimes: dict[int, CampaignRuntime]
    writer: ResultWriter
    dispatcher: Dispatcher
    activity: Activity
    metrics: Metrics
    notifier: Notifier
    scheduler: BackgroundScheduler
    calendar: CalendarEvents
    queue_gauges: QueueGauges
    agi: AnsweredLegServer | None
    supervisor: Supervisor
    api: AnsweredLegServer | None = None  # the HTTP API (dialerd.api), when enabled
    clock_sync: Callable[[], object] | None = None  # re-reads the database's time (heartbeat)
    call_records: CallRecords | None = None  # the PBX's call records (pbx.cdr_csv)
