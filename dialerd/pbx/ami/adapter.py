"""AmiTelephony: the Telephony port on Asterisk AMI (pyst2 underneath).

The link is kept by :class:`~dialerd.pbx.ami.link.LinkSupervisor`; this module
keeps the dials: validation, the pipelined Originate, correlation of events into
results, the FastAGI hand-off. What happens to dials caught by an outage
(docs/asterisk.md, "Dials caught by an outage") is in :mod:`outage`, the agent
queues' state in :mod:`agentqueues`. Dials are never re-sent.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Mapping

from dialerd.domain.clock import SystemClock
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import (
    AnsweredInfo,
    Clock,
    DialRequest,
    DialResult,
    LinkStatus,
    ResultSink,
    StatusHook,
)
from dialerd.domain.wire import check_dial_request
from dialerd.errors import TelephonyUnavailable
from dialerd.logconfig import get_logger
from dialerd.pbx.ami.agentqueues import AgentQueues
from dialerd.pbx.ami.client import AmiClient, AmiLinkDown
from dialerd.pbx.ami.correlate import Correlator
from dialerd.pbx.ami.link import LinkSupervisor
from dialerd.pbx.ami.originate import originate_headers
from dialerd.pbx.ami.outage import (
    LOST,
    RINGING,
    STOPPED,
    UP,
    DialRecovery,
    _Flight,
    _live_calls,
    originated_state,
)
from dialerd.pbx.ami.protocol import AmiMessage
from dialerd.pbx.ami.queues import QueueTracker
from dialerd.pbx.fastagi import HeldAnswer, Verdict
from dialerd.settings import AmiSettings

log = get_logger(__name__)
_stdlog = logging.getLogger(__name__)

# The UserEvent the agents' dialplan sends when no agent took an answered call in time.
ABANDON_EVENT = "DialerdAbandon"

__all__ = ["ABANDON_EVENT", "LOST", "STOPPED", "AmiTelephony", "originated_state"]


class AmiTelephony(AgentQueues, DialRecovery):
    """Telephony over AMI. Thread-safe; results go to the sink from the adapter's threads.

    ``_flights`` is written without a lock (single dict operations are atomic);
    readers iterate over ``_flights.copy()``, one C-level call, never the live dict.
    ``pace``: Originates per second on the wire, spread evenly (the PBX's
    ``calls_per_second``); None sends each as soon as it is queued.
    """

    def __init__(
        self,
        settings: AmiSettings,
        *,
        clock: Clock | None = None,
        on_status: StatusHook | None = None,
        settle_s: float = 1.0,
        recording_prefix: str = "",
        queue_wrapup_s: Mapping[str, float] | None = None,
        pace: float | None = None,
    ) -> None:
        self._settings = settings
        self._recording_prefix = recording_prefix
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        wrapup = settings.queue_wrapup_s if queue_wrapup_s is None else queue_wrapup_s
        self._queues = QueueTracker(wrapup)  # under _queues_lock
        self._queues_lock = threading.Lock()
        self._correlator = Correlator(self._collect_result, settle_s=settle_s)
        self._outbox: list[DialResult] = []
        self._flights: dict[str, _Flight] = {}
        self._listed: dict[str, list[AmiMessage]] = {}  # the last live_keys(): channels by key
        self._arrivals: deque[tuple[str, _Flight]] = deque()
        self._answers: dict[int, HeldAnswer] = {}  # attempt id -> accepted reports, in flight
        self._answers_lock = threading.Lock()
        self._sink: ResultSink = lambda _result: None
        self._booted: tuple[str, str] | None = None  # the PBX's start-up time (CoreStatus)
        self._stopping_generation = -1  # the connection on which the PBX said Shutdown
        self._link = LinkSupervisor(
            settings,
            lambda: AmiClient(settings, self._on_events, pace=pace),
            on_connected=self._reconcile,
            on_tick=self._tick,
            on_ping=self._sweep_survivors,
            on_status=on_status or (lambda _status: None),
        )
        self.peer = self._link.peer

    def link_status(self) -> LinkStatus:
        """The link's state and its reason in words (for sd_notify STATUS)."""
        return self._link.status

    # -- Telephony ----------------------------------------------------------------
    def start(self, sink: ResultSink) -> None:
        self._sink = sink
        self._link.start()

    def is_up(self) -> bool:
        """The link is up and the PBX did not say, on this connection, that it is stopping."""
        return self._link.is_up() and self._stopping_generation != self._link.generation

    def originate(self, request: DialRequest) -> None:
        check_dial_request(request)
        headers = originate_headers(request, self._recording_prefix)
        client = self._link.client
        if client is None or not self.is_up():
            raise TelephonyUnavailable(f"AMI link to {self.peer} is down")
        key = request.key
        if key in self._flights:
            log.warning("ami_duplicate_originate", key=key, attempt_id=request.attempt_id)
            return
        flight = _Flight(
            request.attempt_id, self._clock.now(), request.ring_timeout_s, self._link.generation
        )
        self._flights[key] = flight
        # Queued before the Originate is written, so the event thread registers it
        # before it handles any event of this dial (lock-free: deque.append is atomic).
        self._arrivals.append((key, flight))
        try:
            client.send_nowait(
                "Originate",
                headers,
                key,
                lambda reply: self._on_ack(client, key, reply),
                paced=True,
            )
        except AmiLinkDown as exc:
            self._flights.pop(key, None)
            raise TelephonyUnavailable(str(exc)) from exc
        if _stdlog.isEnabledFor(logging.DEBUG):
            log.debug(
                "call_originated",
                campaign=request.campaign,
                attempt_id=request.attempt_id,
                key=key,
                number=request.number,
            )

    def adopt(self, key: str, attempt_id: int) -> None:
        """Track a dial an earlier run started whose channels are still up (engine reconcile).

        It is treated as a survivor of an outage: followed until its channels are
        gone, then delivered with whatever its remaining events told. A dial whose
        originated channel the last channel list (``live_keys``) showed Up is
        answered, one it showed Ringing rang: what the dead run had heard. An
        answered one's AMD verdict is read from its channel (``Getvar``).
        """
        if key in self._flights:
            return
        now = self._clock.now()
        flight = _Flight(attempt_id, now, self._settings.settle_grace_s, 0)
        flight.survived = True
        flight.listed_state = originated_state(self._listed.get(key, []))
        self._flights[key] = flight
        self._arrivals.append((key, flight))
        listed = self._listed.get(key)
        if listed:  # its channels, as the engine's live_keys() just read them
            self._bind({key: listed})
            client = self._link.client
            if client is not None and flight.listed_state == UP:  # AMD may have ruled unheard
                self._learn_amd(client, {key: listed})

    def live_keys(self) -> set[str] | None:
        client = self._link.client
        if client is None or not client.connected():
            return None
        try:
            self._listed = _live_calls(client)
        except AmiLinkDown:
            return None
        return set(self._listed)

    def close(self) -> None:
        self._link.stop()

    # -- FastAGI hand-off ------------------------------------------------------------
    def on_answered(self, attempt_id: int, info: AnsweredInfo) -> Verdict:
        """A FastAGI report (token already checked): held for the dial's result, or refused.

        Only for a dial in flight here; a disposition only once the PBX (or the
        ``answered`` report) said the call was answered, and only once.
        """
        key = next((k for k, f in self._flights.copy().items() if f.attempt_id == attempt_id), None)
        if key is None:
            return Verdict.not_in_flight
        answered_by_pbx = False
        if info.disposition is not None:
            with self._lock:
                self._register_arrivals()
                answered_by_pbx = self._correlator.answered(key)
        with self._answers_lock:
            if self._flights.get(key) is None:  # its result went out meanwhile
                return Verdict.not_in_flight
            held = self._answers.setdefault(attempt_id, HeldAnswer())
            return held.take(info, answered_by_pbx=answered_by_pbx)

    def in_flight(self) -> int:
        return len(self._flights)

    def _on_user_event(self, msg: AmiMessage) -> None:
        """Under the lock: ``DialerdAbandon`` (docs/asterisk.md) holds the disposition
        ``abandoned`` for the dial of its ``Attempt``, as a FastAGI report would."""
        attempt = (msg.get("Attempt") or "").strip()
        if msg.get("UserEvent") != ABANDON_EVENT or not attempt.isdigit():
            return
        attempt_id = int(attempt)
        if not any(f.attempt_id == attempt_id for f in self._flights.copy().values()):
            return
        report = AnsweredInfo(disposition=Outcome.abandoned.value)
        with self._answers_lock:
            held = self._answers.setdefault(attempt_id, HeldAnswer())
            verdict = held.take(report, answered_by_pbx=True)
        log.info(
            "call_abandoned",
            attempt_id=attempt_id,
            queue_status=msg.get("QueueStatus"),
            verdict=verdict.value,
        )

    # -- the event thread: correlation and results ----------------------------------------
    def _register_arrivals(self) -> None:
        """Under the lock: register the dials originated since the last batch."""
        arrivals, correlator = self._arrivals, self._correlator
        while arrivals:
            key, flight = arrivals.popleft()
            if self._flights.get(key) is not flight:
                continue  # the write failed and the engine was told so
            correlator.expire(key, flight.started_at)  # a stale entry of a failed send
            correlator.expect(key, flight.attempt_id, flight.ring_timeout_s, flight.started_at)
            if flight.listed_state is not None:
                state = flight.listed_state
                correlator.adopted(key, flight.started_at, up=state == UP, ringing=state == RINGING)

    def _collect_result(self, result: DialResult) -> None:
        """Correlator callback (under the lock): finish the flight, merge the AGI answer."""
        self._flights.pop(result.key, None)
        with self._answers_lock:
            held = self._answers.pop(result.attempt_id, None)
        if held is not None:
            result = dataclasses.replace(result, signals=held.info.apply(result.signals))
        self._outbox.append(result)

    def _flush(self) -> None:
        with self._lock:
            if not self._outbox:
                return
            results, self._outbox = self._outbox, []
        for result in results:
            self._sink(result)

    def _on_events(self, events: list[AmiMessage]) -> None:
        now = self._clock.now()
        feed = self._correlator.feed
        shutdown = False
        with self._lock:
            self._register_arrivals()
            for headers in events:
                if headers.get("Event") == "UserEvent":
                    self._on_user_event(headers)
                feed(headers, now)
                shutdown = shutdown or headers.get("Event") == "Shutdown"
        if shutdown:
            self._stopping_generation = self._link.generation  # no more dials on this connection
            client = self._link.client
            # after the refusals already read (their handling is queued the same way)
            if client is not None:
                client.call_soon(self._pbx_shut_down)
            else:
                self._pbx_shut_down()
        self._track_queues(events, now)
        if self._outbox:
            self._flush()

    def _pbx_shut_down(self) -> None:
        """Event thread: a ``Shutdown`` event. The PBX has hung up every channel before it.

        Dials still pending will hear nothing more: each goes out now with what
        was collected (``lost`` unless it was answered), not after its ring timeout.
        """
        keys = list(self._flights.copy())
        log.warning("ami_pbx_shutdown", in_flight=len(keys))
        if keys:
            self._finish(keys, keep_if_hung_up=True, pbx_stopped=True)

    def _on_ack(self, client: AmiClient, key: str, reply: AmiMessage) -> None:
        """Reader thread: a refused Originate is the dial's final word."""
        if reply.get("Response") == "Success":
            return
        message = reply.get("Message")
        log.warning("ami_originate_refused", key=key, message=message)
        client.call_soon(lambda: self._refused(key, str(message)))

    def _refused(self, key: str, message: str) -> None:
        with self._lock:
            self._register_arrivals()
            self._correlator.sync_response(key, "Error", message, self._clock.now())
        self._flush()
