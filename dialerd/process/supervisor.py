"""The daemon's background work, watched: each worker reports its health here.

A worker (the result writer, the dispatcher's jobs, the PBX link, FastAGI, the
metrics server) is registered by name. It beats while it works, says
``retrying(reason)`` while a transient failure lasts and ``recovered()`` after,
or ``failed(reason)`` when it is dead for good. Probes (the SQLite file watch)
are asked on every check. While installed, an uncaught exception in any thread
fails the worker that owns the thread (by thread-name prefix), else one named
after the thread. The daemon's health check reads ``check()`` and ``healthy()``:
a failure stops the daemon with ``EXIT_WORKER_FAILED``; a stale or failed worker
stops the watchdog.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from dialerd.logconfig import get_logger

log = get_logger("dialerd.supervisor")

EXIT_WORKER_FAILED = 70  # EX_SOFTWARE: `dialerd run` after a worker died for good
Probe = Callable[[], str | None]


@dataclass(frozen=True)
class Failure:
    """A worker dead for good, and why."""

    worker: str
    reason: str


class Worker:
    """One worker's health line to the supervisor; every method is thread-safe."""

    def __init__(
        self,
        supervisor: Supervisor,
        name: str,
        *,
        give_up_s: float | None,
        stale_s: float | None,
        threads: tuple[str, ...],
    ) -> None:
        self.name = name
        self.give_up_s = give_up_s
        self.stale_s = stale_s
        self.threads = threads
        self._sup = supervisor
        self._beat_at = supervisor.monotonic()
        self._trouble: str | None = None
        self._trouble_since = 0.0
        self._failure: str | None = None

    def beat(self) -> None:
        """Still working (also while retrying)."""
        with self._sup.lock:
            self._beat_at = self._sup.monotonic()

    def retrying(self, reason: str) -> None:
        """A transient failure; the worker keeps trying. The first call starts the give-up clock."""
        with self._sup.lock:
            now = self._sup.monotonic()
            if self._trouble is None:
                self._trouble_since = now
            self._trouble = reason
            self._beat_at = now

    def recovered(self) -> None:
        with self._sup.lock:
            self._trouble = None
            self._beat_at = self._sup.monotonic()

    def failed(self, reason: str) -> None:
        """Dead for good: the daemon stops."""
        with self._sup.lock:
            if self._failure is None:
                self._failure = reason
        log.error("worker_failed", worker=self.name, reason=reason)

    @property
    def trouble(self) -> str | None:
        with self._sup.lock:
            return self._trouble

    def _state(self, now: float) -> tuple[str | None, str | None, bool]:
        """(failure, trouble, stale), the caller holding the lock."""
        failure = self._failure
        if failure is None and self._trouble is not None and self.give_up_s is not None:
            if now - self._trouble_since >= self.give_up_s:
                failure = self._failure = (
                    f"still failing after {self.give_up_s:g}s: {self._trouble}"
                )
                log.error("worker_gave_up", worker=self.name, reason=failure)
        stale = self.stale_s is not None and now - self._beat_at > self.stale_s
        return failure, self._trouble, stale


class Supervisor:
    """Where workers register and the daemon reads their health."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self.lock = threading.Lock()
        self._workers: dict[str, Worker] = {}
        self._probes: dict[str, Probe] = {}

    def register(
        self,
        name: str,
        *,
        give_up_s: float | None = None,
        stale_s: float | None = None,
        threads: tuple[str, ...] = (),
    ) -> Worker:
        """A worker; ``give_up_s``: retrying longer fails it; ``stale_s``: a silence that
        long makes the daemon unhealthy; ``threads``: name prefixes of the threads it owns."""
        worker = Worker(self, name, give_up_s=give_up_s, stale_s=stale_s, threads=threads)
        with self.lock:
            self._workers[name] = worker
        return worker

    def watch(self, name: str, probe: Probe) -> None:
        """``probe()`` returns why the daemon must stop, or None; asked on every check."""
        self._probes[name] = probe

    def check(self) -> Failure | None:
        """The first failure, or None while every worker lives. A probe's comes first: what
        it watches (the database file) is the cause of the errors other workers then hit."""
        first: Failure | None = None
        for name, probe in list(self._probes.items()):
            reason = probe()
            if reason is not None:
                self.worker(name).failed(reason)
                first = first or Failure(name, reason)
        if first is not None:
            return first
        now = self.monotonic()
        with self.lock:
            for worker in self._workers.values():
                failure, _trouble, _stale = worker._state(now)
                if failure is not None:
                    return Failure(worker.name, failure)
        return None

    def healthy(self) -> bool:
        """No worker failed or stale: the watchdog may be fed."""
        now = self.monotonic()
        with self.lock:
            for worker in self._workers.values():
                failure, _trouble, stale = worker._state(now)
                if failure is not None or stale:
                    return False
        return True

    def troubles(self) -> list[str]:
        """One line per worker not fully well, for the status line."""
        now = self.monotonic()
        lines = []
        with self.lock:
            for worker in self._workers.values():
                failure, trouble, stale = worker._state(now)
                if failure is not None:
                    lines.append(f"{worker.name} failed: {failure}")
                elif trouble is not None:
                    lines.append(f"{worker.name} retrying: {trouble}")
                elif stale:
                    lines.append(f"{worker.name} silent")
        return lines

    def worker(self, name: str) -> Worker:
        """The worker named ``name``, registered on first use."""
        with self.lock:
            found = self._workers.get(name)
        return found if found is not None else self.register(name)

    def thread_died(self, thread_name: str, error: BaseException | None) -> None:
        """An uncaught exception ended a thread: its owner is dead for good."""
        with self.lock:
            owner = next(
                (w for w in self._workers.values() if thread_name.startswith(w.threads or ("\0",))),
                None,
            )
        worker = owner or self.worker(f"thread {thread_name}")
        worker.failed(f"thread {thread_name} died: {type(error).__name__}: {error}")

    def install(self) -> None:
        """Route uncaught thread exceptions here until ``uninstall()``."""
        _hook.add(self)

    def uninstall(self) -> None:
        _hook.remove(self)


class _ThreadHook:
    """One ``threading.excepthook`` for every installed supervisor (tests run several)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[Supervisor] = []
        self._previous: Callable[[threading.ExceptHookArgs], object] | None = None

    def add(self, supervisor: Supervisor) -> None:
        with self._lock:
            if not self._active:
                self._previous = threading.excepthook
                threading.excepthook = self._handle
            self._active.append(supervisor)

    def remove(self, supervisor: Supervisor) -> None:
        with self._lock:
            if supervisor in self._active:
                self._active.remove(supervisor)
            if not self._active and self._previous is not None:
                threading.excepthook = self._previous
                self._previous = None

    def _handle(self, args: threading.ExceptHookArgs) -> None:
        name = args.thread.name if args.thread is not None else "unknown"
        if args.exc_type is SystemExit:
            return
        exc_info: tuple[type[BaseException], BaseException | None, TracebackType | None] = (
            args.exc_type,
            args.exc_value,
            args.exc_traceback,
        )
        log.error("thread_died", thread=name, exc_info=exc_info)
        with self._lock:
            active = list(self._active)
        for supervisor in active:
            supervisor.thread_died(name, args.exc_value)


_hook = _ThreadHook()
