"""APScheduler 3.x wiring: the daemon's periodic and calendar jobs, never one per contact.

Choices (see docs/scheduling.md):
- dispatch: not an APScheduler job but a :class:`TickLoop` of its own: the next
  tick starts ``tick_s`` after the previous one started, or at once when it ran
  longer, so a slow tick is never doubled, never skipped with a warning, and
  dialling goes on continuously (the dispatcher sizes each tick's claims by the
  time since the previous one);
- reap and heartbeat: interval jobs, coalesced, grace of one period;
- calendar events (window open/close, campaign start/end): cron/date triggers in the
  campaign's time zone, coalesced, an hour of grace (a late audit line still helps).
The job store is in memory: the state that matters lives in dialerd's tables.
"""

from __future__ import annotations

import threading
import time as clock
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger

from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.jobs")

CalendarHook = Callable[[CampaignRuntime, str], None]
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def make_scheduler() -> BackgroundScheduler:
    return BackgroundScheduler(
        timezone=ZoneInfo("UTC"),
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 5},
    )


def add_periodic(
    scheduler: BackgroundScheduler,
    job_id: str,
    func: Callable[[], object],
    *,
    seconds: float,
    grace_s: float | None = None,
) -> None:
    scheduler.add_job(
        func,
        "interval",
        seconds=seconds,
        id=job_id,
        name=job_id,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=max(1, int(grace_s if grace_s is not None else seconds)),
    )


class TickLoop:
    """Runs ``func`` on its own thread every ``period_s`` (start to start), never overlapping.

    A run longer than the period is followed by the next one at once; an exception
    is logged and the loop goes on.
    """

    def __init__(self, name: str, func: Callable[[], object], period_s: float) -> None:
        self._name, self._func, self._period = name, func, period_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Let the current run finish, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = clock.monotonic()
            try:
                self._func()
            except Exception:
                log.exception("tick_failed", job=self._name)
            self._stop.wait(max(0.0, started + self._period - clock.monotonic()))


def _clock_parts(t: time) -> tuple[int, int]:
    return t.hour, t.minute


def add_calendar_jobs(
    scheduler: BackgroundScheduler, runtime: CampaignRuntime, hook: CalendarHook
) -> None:
    """Window open/close and campaign start/end, in the campaign's time zone."""
    remove_calendar_jobs(scheduler, runtime.id)
    cal = runtime.calendar
    tz = ZoneInfo(cal.timezone)
    prefix = f"calendar:{runtime.id}:"
    for i, window in enumerate(cal.windows):
        days = ",".join(_DAYS[d] for d in sorted(window.days))
        for edge, moment in (("window_opened", window.start), ("window_closed", window.end)):
            hour, minute = _clock_parts(moment)
            if edge == "window_closed" and moment == time.max:
                hour, minute = 23, 59
            scheduler.add_job(
                hook,
                CronTrigger(day_of_week=days, hour=hour, minute=minute, timezone=tz),
                args=(runtime, edge),
                id=f"{prefix}{edge}:{i}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
            )
    now = datetime.now(tz)
    for edge, day in (
        ("campaign_started", cal.start),
        ("campaign_ended", cal.end + timedelta(days=1) if cal.end else None),
    ):
        if day is None:
            continue
        at = datetime.combine(day, time(0, 0), tzinfo=tz)
        if at > now:
            scheduler.add_job(
                hook,
                DateTrigger(run_date=at),
                args=(runtime, edge),
                id=f"{prefix}{edge}",
                replace_existing=True,
                misfire_grace_time=3600,
            )


def remove_calendar_jobs(scheduler: BackgroundScheduler, campaign_id: int) -> None:
    prefix = f"calendar:{campaign_id}:"
    for job in scheduler.get_jobs():
        if job.id.startswith(prefix):
            job.remove()
