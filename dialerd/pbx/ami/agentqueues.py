"""The agent-queue side of :class:`~dialerd.pbx.ami.adapter.AmiTelephony`: app_queue's state.

Every AMI event also goes to a :class:`~dialerd.pbx.ami.queues.QueueTracker`; a
``QueueStatus`` after each (re)connect replaces what it knew. The pacer reads
the floor of a queue, the engine the agents' times and the customers' waits.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime

from dialerd.domain.agents import QueueCall, QueueCounts
from dialerd.domain.agenttime import CustomerWait, QueueHour, QueueTime
from dialerd.domain.pacing import Floor
from dialerd.domain.ports import Clock
from dialerd.logconfig import get_logger
from dialerd.pbx.ami.client import AmiClient, AmiLinkDown
from dialerd.pbx.ami.protocol import AmiMessage
from dialerd.pbx.ami.queues import QueueTracker

log = get_logger("dialerd.pbx.ami.adapter")


class AgentQueues:
    """Queues, members and queued calls as the PBX tells them; thread-safe (``_queues_lock``)."""

    _clock: Clock
    _queues: QueueTracker  # under _queues_lock
    _queues_lock: threading.Lock

    def queues(self) -> list[QueueCounts]:
        """Every queue seen, its agents counted by state now."""
        with self._queues_lock:
            return self._queues.counts(self._clock.now())

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None:
        """The pacer's view of one queue now, ``dials`` placed by what the PBX said of them;
        None while the PBX has told nothing of that queue (QueueStatus, queue events)."""
        with self._queues_lock:
            if queue not in self._queues.queues():
                return None
            ringing, answered = self._queues.dials.place(dials or {})
            return self._queues.floor_of(queue, self._clock.now(), ringing, answered=answered)

    def queue_call(self, ident: str) -> QueueCall | None:
        """A dial's queue figures, by its key (= Uniqueid), Linkedid or DIALERD_ATTEMPT."""
        with self._queues_lock:
            return self._queues.call(ident)

    def agent_times(self) -> list[QueueTime]:
        """Each queue's agent seconds by state, and its recent wrap-up spells."""
        with self._queues_lock:
            return self._queues.agent_times(self._clock.now())

    def take_agent_hours(self) -> list[QueueHour]:
        with self._queues_lock:
            return self._queues.take_hours(self._clock.now())

    def give_back_agent_hours(self, hours: list[QueueHour]) -> None:
        with self._queues_lock:
            self._queues.give_back(hours)

    def take_customer_waits(self) -> list[CustomerWait]:
        with self._queues_lock:
            return self._queues.take_waits()

    def _track_queues(self, events: list[AmiMessage], now: datetime) -> None:
        with self._queues_lock:
            for headers in events:
                self._queues.feed(headers, now)

    def _load_queues(self, client: AmiClient) -> None:
        """After (re)connect: every queue's members and callers (none without app_queue)."""
        try:
            rows = client.collect("QueueStatus", [], "QueueStatusComplete")
        except AmiLinkDown as exc:
            if not client.connected():
                raise
            # a PBX without app_queue (an IVR-only deployment): no agents, nothing wrong
            log.info("ami_queue_status_refused", error=str(exc))
            return
        with self._queues_lock:
            self._queues.snapshot(rows, self._clock.now())
