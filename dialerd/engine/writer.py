"""The result writer: PBX threads hand results over; one thread writes them in batches.

While results stream in (an even pace of dials brings them a few at a time), a
batch of fewer than ``LINGER_BELOW`` is followed by ``linger_s`` before the next,
so the transactions stay large (each costs its batch reads and a commit); the
first result after a quiet spell, and the last ones at a stop, never wait.

A batch leaves the queue only once its transaction commits. A transient database
error (unreachable, locked, disk full) keeps the batch and retries with backoff,
reporting ``retrying`` to its supervisor worker, and ``hold_reason()`` holds the
dispatcher meanwhile. Past ``queue_max`` results in memory, more go to the spill
file (:mod:`dialerd.engine.spill`), replayed at start-up and when the database is
back. Anything else (a bug, the guard saying the database file is gone) is fatal:
the queue is spilled, the worker reports ``failed`` and the thread ends.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable

from sqlalchemy import Engine

from dialerd.db.failures import database_error, is_transient
from dialerd.domain.ports import Clock, DialResult
from dialerd.engine.results import Recorded, record_results
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.spill import Spill
from dialerd.errors import DialerdError
from dialerd.logconfig import get_logger
from dialerd.process.supervisor import Worker

log = get_logger("dialerd.results")
_stdlog = logging.getLogger("dialerd.results")
BATCH = 1000  # results per transaction: the batch reads cost per batch, not per result
LINGER_BELOW = 100  # a batch this small is followed by linger_s for more
IDLE_WAIT_S = 0.2  # the thread beats at least this often while idle


class ResultWriter:
    """Thread-safe sink for DialResults; ``drain`` writes one batch of what is queued."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        runtime_for: Callable[[int], CampaignRuntime | None],
        *,
        on_recorded: Callable[[Recorded], None] | None = None,
        spill: Spill | None = None,
        queue_max: int = 10_000,
        linger_s: float = 0.0,
        retry_min_s: float = 0.5,
        retry_max_s: float = 30.0,
        health: Worker | None = None,
        guard: Callable[[], str | None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._runtime_for = runtime_for
        self._on_recorded = on_recorded
        self._spill = spill
        self._queue_max = queue_max
        self._linger_s = linger_s
        self._retry = (retry_min_s, retry_max_s)
        self._health = health
        self._guard = guard
        self._queue: deque[DialResult] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: str | None = None
        self._dead: str | None = None
        self._spill_failed = False
        self.written = 0

    # -- the sink ---------------------------------------------------------------------
    def submit(self, result: DialResult) -> None:
        """The Telephony sink: called on the adapter's threads; never raises."""
        with self._lock:
            if self._spill is None or len(self._queue) < self._queue_max:
                self._queue.append(result)
                self._wake.set()
                return
        try:
            self._spill.append([result])
        except OSError as exc:
            self._spill_error(exc, 1)
            with self._lock:
                self._queue.append(result)
        self._wake.set()

    def pending(self) -> int:
        """Results not yet written: in memory and in the spill files."""
        with self._lock:
            held = len(self._queue)
        return held + (self._spill.pending() if self._spill is not None else 0)

    def hold_reason(self) -> str | None:
        """Why no new dial may start now, or None: the dispatcher's gate."""
        if self._dead is not None:
            return f"the result writer stopped: {self._dead}"
        if self._failing is not None:
            return f"results cannot be written: {self._failing}"
        if self._spill is not None and self._spill.pending():
            return f"{self._spill.pending()} spilled results not yet written"
        return None

    # -- writing -------------------------------------------------------------------------
    def drain(self, block_s: float = 0.0) -> int:
        """Write one batch (waiting up to ``block_s`` for one); returns how many.

        Spilled results go first (they are older). On any error the batch stays
        queued and the error is raised.
        """
        batch, spilled = self._next_batch(block_s)
        if not batch:
            return 0
        reason = self._guard() if self._guard is not None else None
        if reason is not None:
            raise DialerdError(reason)
        with self._engine.begin() as conn:
            recorded = record_results(
                conn, batch, runtime_for=self._runtime_for, now=self._clock.now()
            )
        if spilled:
            assert self._spill is not None
            self._spill.consumed()
        else:
            self._forget(batch)
        self._report(batch, recorded)
        self.written += len(batch)
        return len(batch)

    def replay(self) -> int:
        """Start-up: take the spill files nobody holds and write them all; returns how many.

        Raises the database's error (the daemon cannot start without it).
        """
        if self._spill is None or not self._spill.adopt_leftovers():
            return 0
        done = 0
        while self._spill.pending():
            batch = self.drain()
            if not batch and self._spill.pending():
                break  # nothing readable left in the files
            done += batch
        log.info("results_spill_replayed", results=done)
        return done

    def _next_batch(self, block_s: float) -> tuple[list[DialResult], bool]:
        if self._spill is not None and self._spill.pending():
            taken = self._spill.take(BATCH)
            if taken:
                return taken, True
        with self._lock:
            if not self._queue:
                self._wake.clear()
        if block_s and not self._queue:
            self._wake.wait(block_s)
        with self._lock:
            return list(itertools.islice(self._queue, BATCH)), False

    def _forget(self, batch: list[DialResult]) -> None:
        """Drop a written batch from the front of the queue (still there unless spilled)."""
        with self._lock:
            for result in batch:
                if self._queue and self._queue[0] is result:
                    self._queue.popleft()

    def _report(self, batch: list[DialResult], recorded: list[Recorded]) -> None:
        if len(recorded) < len(batch):
            done = {r.attempt_id for r in recorded}
            for result in batch:
                if result.attempt_id not in done:
                    log.info("call_result_ignored", key=result.key, attempt_id=result.attempt_id)
        info = _stdlog.isEnabledFor(logging.INFO)  # a dropped structlog line costs ~10 µs
        for rec in recorded:
            if info:
                log.info(
                    "call_result",
                    campaign=rec.campaign,
                    attempt_id=rec.attempt_id,
                    contact_id=rec.contact_id,
                    outcome=rec.outcome.value,
                    treatment=rec.decision.treatment.kind.value,
                    next_at=rec.decision.next_at.isoformat() if rec.decision.next_at else None,
                )
            if not rec.known:
                log.warning(
                    "unknown_pbx_signals",
                    campaign=rec.campaign,
                    contact_id=rec.contact_id,
                    attempt_id=rec.attempt_id,
                    rule=rec.rule,
                )
            if self._on_recorded is not None:
                self._on_recorded(rec)

    # -- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dialerd-results", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        tries = 0
        while not (self._stop.is_set() and self._idle()):
            if self._health is not None:
                self._health.beat()
            try:
                written = self.drain(block_s=IDLE_WAIT_S)
            except Exception as exc:
                if not is_transient(exc):
                    self._die(exc)
                    return
                self._failed_write(exc)
                if self._stop.is_set():
                    self.spill_all()  # stopping: the next start writes them
                    return
                tries += 1
                low, high = self._retry
                self._stop.wait(min(high, low * 2 ** min(tries - 1, 30)))
                continue
            if self._failing is not None:
                log.info("results_write_recovered", pending=self.pending(), tries=tries)
                self._failing, tries = None, 0
                if self._health is not None:
                    self._health.recovered()
            if 0 < written < LINGER_BELOW and self._linger_s:
                self._stop.wait(self._linger_s)  # let a stream of results fill the next batch

    def _idle(self) -> bool:
        with self._lock:
            return not self._queue and not (self._spill is not None and self._spill.pending())

    def _failed_write(self, exc: Exception) -> None:
        error = database_error(exc)
        reason = str(error if error is not None else exc)
        if self._failing is None:
            log.warning("results_write_failed", error=reason, pending=self.pending())
        self._failing = reason
        if self._health is not None:
            self._health.retrying(reason)

    def _die(self, exc: Exception) -> None:
        reason = str(exc) if isinstance(exc, DialerdError) else f"{type(exc).__name__}: {exc}"
        self._dead = reason
        log.error("results_writer_died", error=reason, exc_info=not isinstance(exc, DialerdError))
        self.spill_all()
        if self._health is not None:
            self._health.failed(reason)

    def spill_all(self) -> int:
        """Move every result held in memory to the spill file; returns how many moved."""
        if self._spill is None:
            return 0
        with self._lock:
            held = list(self._queue)
            self._queue.clear()
        try:
            self._spill.append(held)
        except OSError as exc:
            self._spill_error(exc, len(held))
            with self._lock:
                self._queue.extendleft(reversed(held))
            return 0
        if held:
            log.warning("results_spilled", results=len(held), path=str(self._spill.path))
        return len(held)

    def _spill_error(self, exc: OSError, n: int) -> None:
        if not self._spill_failed:
            self._spill_failed = True
            log.error("results_spill_failed", error=str(exc), results=n)

    def stop(self, timeout: float = 10.0) -> int:
        """Write what is queued (what cannot be written is spilled), then stop.

        Returns how many results are left unwritten (in the spill files, or, when
        even those could not be written, lost with this process).
        """
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        elif self._dead is None:
            try:
                while self.drain():
                    pass
            except Exception as exc:
                self._failed_write(exc)
        self.spill_all()
        left = self.pending()
        if self._spill is not None:
            self._spill.close()
        if left:
            log.warning("results_left_unwritten", results=left)
        return left
