"""AmiTelephony: the Telephony port on Asterisk AMI (pyst2 underneath).

The link is kept by :class:`~dialerd.pbx.ami.link.LinkSupervisor`; this module
keeps the dials: validation, the pipelined Originate, correlation of events into
results, the FastAGI hand-off, and what happens to dials caught by an outage
(docs/asterisk.md, "Dials caught by an outage"). Dials are never re-sent.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from dialerd.domain.agents import QueueCall, QueueCounts
from dialerd.domain.agenttime import CustomerWait, QueueHour, QueueTime
from dialerd.domain.clock import SystemClock
from dialerd.domain.outcomes import Outcome
from dialerd.domain.pacing import Floor
from dialerd.domain.ports import (
    AnsweredInfo,
    Clock,
    DialRequest,
    DialResult,
    LinkStatus,
    PbxSignals,
    ResultSink,
    StatusHook,
)
from dialerd.domain.wire import check_dial_request
from dialerd.errors import TelephonyUnavailable
from dialerd.logconfig import get_logger
from dialerd.pbx.ami.client import AmiClient, AmiLinkDown
from dialerd.pbx.ami.correlate import Correlator
from dialerd.pbx.ami.link import LinkSupervisor
from dialerd.pbx.ami.originate import calls_of_channels, originate_headers
from dialerd.pbx.ami.protocol import AmiMessage
from dialerd.pbx.ami.queues import QueueTracker
from dialerd.pbx.fastagi import HeldAnswer, Verdict
from dialerd.settings import AmiSettings

log = get_logger(__name__)
_stdlog = logging.getLogger(__name__)

# The UserEvent the agents' dialplan sends when no agent took an answered call in time.
ABANDON_EVENT = "DialerdAbandon"
# The error text of a dial whose events were lost; its signals say `lost` (recorded `interrupted`).
LOST = "interrupted: AMI link lost with the dial's events"
# ... and of one the PBX dropped while stopping (raw ``pbx_stopped``; classify.no_callee_reached)
STOPPED = "interrupted: the PBX stopped during the dial"


def _live_calls(client: AmiClient) -> dict[str, list[AmiMessage]]:
    """The live channels of each dial that has one (``CoreShowChannels``, then ``Getvar``s)."""
    rows = client.collect("CoreShowChannels", [], "CoreShowChannelsComplete")
    return calls_of_channels(rows, client.getvars)


@dataclass(slots=True)
class _Flight:
    attempt_id: int
    started_at: datetime
    ring_timeout_s: float
    generation: int
    lost_at: datetime | None = None
    survived: bool = False  # had a live channel when the link came back
    pbx_stopped: bool = False  # lost because the PBX restarted
    listed_state: str | None = None  # adopted: its ;1 ChannelState in the PBX's channel list


UP, RINGING = "6", "5"  # CoreShowChannel ChannelState of an answered / a ringing channel


def originated_state(channels: list[AmiMessage]) -> str:
    """ChannelState of a dial's originated channel among its live ones ('' if not listed).

    The originated channel (a Local ``;1`` half, or the one channel of any other
    technology) is the one whose Uniqueid is the call's Linkedid.
    """
    for row in channels:
        uid = row.get("Uniqueid") or ""
        if uid and (uid == row.get("Linkedid") or (row.get("Channel") or "").endswith(";1")):
            return row.get("ChannelState") or ""
    return ""


class AmiTelephony:
    """Telephony over AMI. Thread-safe; results go to the sink from the adapter's threads.

    ``_flights`` is written without a lock (single dict operations are atomic);
    readers iterate over ``_flights.copy()``, one C-level call, never the live dict.
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
            lambda: AmiClient(settings, self._on_events),
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
        headers = originate_headers(request)
        # the file name the dialplan records to: unique across databases sharing the PBX
        headers.append(("Variable", f"DIALERD_RECORDING={self._recording_prefix}{request.key}"))
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
                "Originate", headers, key, lambda reply: self._on_ack(client, key, reply)
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
        answered, one it showed Ringing rang: what the dead run had heard.
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

    # -- agent queues ----------------------------------------------------------------------
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

    # -- the link's hooks (supervisor thread, then the event thread) ------------------------
    def _reconcile(self, client: AmiClient) -> None:
        """After (re)connect: dials of earlier connections with no live channel become lost.

        When the PBX restarted meanwhile (its CoreStatus start-up time changed) none
        of their events will ever come: they are lost at once, not after the ring timeout.
        """
        restarted = self._restarted(client)
        self._load_queues(client)
        live = _live_calls(client)
        self._bind(live)
        generation, now = self._link.generation, self._clock.now()
        for key, flight in self._flights.copy().items():
            if flight.generation >= generation or flight.lost_at is not None:
                continue
            if key in live:
                flight.survived = True
                if originated_state(live[key]) == UP:  # its Newstate Up may have been lost
                    with self._lock:
                        self._register_arrivals()
                        self._correlator.listed_up(key, now)
            elif restarted:
                flight.lost_at, flight.pbx_stopped = now, True
            else:
                grace = flight.ring_timeout_s + self._settings.settle_grace_s
                flight.lost_at = flight.started_at + timedelta(seconds=grace)
        log.info(
            "ami_reconciled",
            live_channels=len(live),
            in_flight=len(self._flights),
            pbx_restarted=restarted,
        )

    def _restarted(self, client: AmiClient) -> bool:
        """Whether the PBX's start-up time differs from the last connection's (CoreStatus).

        CoreStatus needs the ``system`` or ``reporting`` write class (as
        CoreShowChannels); refused, the answer is "no" and the dials wait for their
        ring timeout as before.
        """
        reply = client.request("CoreStatus", [])
        if reply.get("Response") != "Success":
            return False
        booted = (reply.get("CoreStartupDate") or "", reply.get("CoreStartupTime") or "")
        before, self._booted = self._booted, booted
        return before is not None and before != booted

    def _bind(self, live: dict[str, list[AmiMessage]]) -> None:
        """Join the listed channels of dials in flight: events that fell into an outage
        (or came before a restart) may have been the ones that joined them."""
        with self._lock:
            self._register_arrivals()
            for key, rows in live.items():
                if key in self._flights:
                    self._correlator.bind(key, rows)

    def _tick(self, client: AmiClient) -> None:
        client.call_soon(self._housekeeping)

    def _sweep_survivors(self, client: AmiClient) -> None:
        """Dials that outlived an outage may have lost their last events: look them up.

        The channel list is read after every event sent before it, so a survivor
        that is still pending and no longer listed will get no more events.
        """
        if not any(f.survived for f in self._flights.copy().values()):
            return
        live = _live_calls(client)
        self._bind(live)
        gone = [k for k, f in self._flights.copy().items() if f.survived and k not in live]
        if gone:
            client.call_soon(lambda: self._finish(gone, keep_if_hung_up=True))

    def _housekeeping(self) -> None:
        """Event thread: emit settled dials and expire lost ones."""
        now = self._clock.now()
        with self._lock:
            self._register_arrivals()
            self._correlator.tick(now)
        flights = self._flights.copy().items()
        lost = [k for k, f in flights if f.lost_at and now >= f.lost_at and not f.pbx_stopped]
        if lost:
            self._finish(lost, keep_if_hung_up=False)
        stopped = [k for k, f in flights if f.lost_at and now >= f.lost_at and f.pbx_stopped]
        if stopped:
            self._finish(stopped, keep_if_hung_up=False, pbx_stopped=True)
        self._flush()

    def _finish(self, keys: list[str], keep_if_hung_up: bool, pbx_stopped: bool = False) -> None:
        """Event thread: deliver what was collected for dials whose events will not come.

        ``error = LOST`` unless ``keep_if_hung_up`` and the originated channel's
        Hangup was seen (a survivor whose OriginateResponse or other Hangup fell
        into the outage: its signals still tell what happened). ``pbx_stopped``:
        the PBX shut down or restarted, so ``error = STOPPED`` and raw ``pbx_stopped``.
        """
        now = self._clock.now()
        with self._lock:
            for key in keys:
                flight = self._flights.pop(key, None)
                if flight is None:
                    continue  # its result came after all
                result = self._correlator.expire(key, now) or DialResult(
                    key, flight.attempt_id, PbxSignals(ended_at=now)
                )
                signals = result.signals
                hung_up = signals.hangup_cause is not None
                if signals.error is None and not (keep_if_hung_up and hung_up):
                    error = STOPPED if pbx_stopped else LOST
                    signals = dataclasses.replace(signals, error=error, lost=True)
                    log.warning("ami_dial_lost", key=key, attempt_id=flight.attempt_id)
                stopped = pbx_stopped or bool(signals.raw.get("pbx_stopped"))
                raw = {**signals.raw, "events_lost": True, "pbx_stopped": stopped}
                self._collect_result(
                    dataclasses.replace(result, signals=dataclasses.replace(signals, raw=raw))
                )
        self._flush()
