"""The result writer: PBX threads hand results over; one thread writes them in batches."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from sqlalchemy import Engine

from dialerd.domain.ports import Clock, DialResult
from dialerd.engine.results import Recorded, record_results
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.results")
BATCH = 1000  # results per transaction: the batch reads cost per batch, not per result


class ResultWriter:
    """Thread-safe sink for DialResults; ``drain`` writes what is queued."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        runtime_for: Callable[[int], CampaignRuntime | None],
        *,
        on_recorded: Callable[[Recorded], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._runtime_for = runtime_for
        self._queue: queue.Queue[DialResult] = queue.Queue()
        self._on_recorded = on_recorded
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    def submit(self, result: DialResult) -> None:
        """The Telephony sink: called on the adapter's threads."""
        self._queue.put(result)

    def pending(self) -> int:
        return self._queue.qsize()

    def drain(self, block_s: float = 0.0) -> int:
        """Write every queued result (waiting up to ``block_s`` for the first); returns count."""
        batch: list[DialResult] = []
        try:
            batch.append(self._queue.get(timeout=block_s) if block_s else self._queue.get_nowait())
        except queue.Empty:
            return 0
        while len(batch) < BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        with self._engine.begin() as conn:
            recorded = record_results(
                conn, batch, runtime_for=self._runtime_for, now=self._clock.now()
            )
        if len(recorded) < len(batch):
            done = {r.attempt_id for r in recorded}
            for result in batch:
                if result.attempt_id not in done:
                    log.info("call_result_ignored", key=result.key, attempt_id=result.attempt_id)
        for rec in recorded:
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
        self.written += len(batch)
        return len(batch)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="dialerd-results", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() or not self._queue.empty():
            self.drain(block_s=0.2)

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
