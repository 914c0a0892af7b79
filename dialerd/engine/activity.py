"""What the daemon tells about itself: dial rate, outcomes and the PBX link, as it happens.

Built before the parts that report to it (the dispatcher's ``on_dial``, the
writer's ``on_recorded``, the telephony's status hook), so nothing is wired late.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable

from dialerd.domain.ports import LinkState, LinkStatus
from dialerd.engine.results import Recorded
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger
from dialerd.process.metrics import Metrics
from dialerd.redact import redact_text

log = get_logger("dialerd.daemon")
RATE_WINDOW_S = 60.0


class Activity:
    """Counts dials and outcomes into the metrics and keeps the PBX link's latest status."""

    def __init__(self, metrics: Metrics, *, monotonic: Callable[[], float] = time.monotonic):
        self._metrics = metrics
        self._monotonic = monotonic
        self._sent: deque[tuple[float, int]] = deque()
        self._lock = threading.Lock()
        self._connected_once = False
        self.link = LinkStatus(LinkState.DOWN, "PBX not started")

    def on_dial(self, runtime: CampaignRuntime, n: int) -> None:
        with self._lock:
            self._sent.append((self._monotonic(), n))
        for _ in range(n):
            self._metrics.dial_started(runtime.name)

    def on_missed(self, runtime: CampaignRuntime, n: int) -> None:
        """Contacts of ``runtime`` whose deadline passed unreached (the dispatcher's hook)."""
        self._metrics.deadline_missed(runtime.name, n)

    def on_recorded(self, rec: Recorded) -> None:
        self._metrics.outcome(rec.campaign, rec.outcome.value)

    def on_link(self, status: LinkStatus) -> None:
        """The telephony's status hook: a link up again after being up counts a reconnect."""
        up = status.state is LinkState.UP
        if up and self._connected_once:
            self._metrics.reconnected()
        self._connected_once |= up
        # the detail reaches systemd's STATUS and `dialerd status`: no URL password in it
        self.link = dataclasses.replace(status, detail=redact_text(status.detail))
        log.info("pbx_status", status=status.detail, state=status.state.value)

    def dial_rate(self) -> float:
        """Dials per second over the last minute."""
        cutoff = self._monotonic() - RATE_WINDOW_S
        with self._lock:
            while self._sent and self._sent[0][0] < cutoff:
                self._sent.popleft()
            return round(sum(n for _, n in self._sent) / RATE_WINDOW_S, 2)
