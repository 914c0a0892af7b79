"""Dials caught by an outage (docs/asterisk.md): the AMI link's hooks in the adapter.

After each (re)connect the PBX's channel list and start-up time tell which dials
of earlier connections survived, which are lost and which the PBX dropped as it
restarted; survivors are looked up while the link lives, and dials whose events
will not come go out with what was collected. Dials are never re-sent.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from dialerd.domain.ports import Clock, DialResult, PbxSignals
from dialerd.logconfig import get_logger
from dialerd.pbx.ami.client import AmiClient, AmiLinkDown
from dialerd.pbx.ami.correlate import Correlator
from dialerd.pbx.ami.link import LinkSupervisor
from dialerd.pbx.ami.originate import Getvar, calls_of_channels
from dialerd.pbx.ami.protocol import AmiMessage
from dialerd.settings import AmiSettings

log = get_logger("dialerd.pbx.ami.adapter")

# The error text of a dial whose events were lost; its signals say `lost` (recorded `interrupted`).
LOST = "interrupted: AMI link lost with the dial's events"
# ... and of one the PBX dropped while stopping (raw ``pbx_stopped``; classify.no_callee_reached)
STOPPED = "interrupted: the PBX stopped during the dial"


def _live_calls(client: AmiClient) -> dict[str, list[AmiMessage]]:
    """The live channels of each dial that has one (``CoreShowChannels``, by AccountCode)."""
    return calls_of_channels(client.collect("CoreShowChannels", [], "CoreShowChannelsComplete"))


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
AMD_VARIABLES = ("AMDSTATUS", "AMDCAUSE")  # AMD's verdict, set on the answered channel
# A listed channel name that may go back on the wire (Getvar): Tech/name, printable, no space
_LISTED_CHANNEL = re.compile(r"[A-Za-z][A-Za-z0-9_]*/[!-~]{1,200}")


def originated(channels: list[AmiMessage]) -> AmiMessage | None:
    """A dial's originated channel among its live ones (None if not listed).

    The originated channel (a Local ``;1`` half, or the one channel of any other
    technology) is the one whose Uniqueid is the call's Linkedid.
    """
    for row in channels:
        uid = row.get("Uniqueid") or ""
        if uid and (uid == row.get("Linkedid") or (row.get("Channel") or "").endswith(";1")):
            return row
    return None


def originated_state(channels: list[AmiMessage]) -> str:
    """ChannelState of a dial's originated channel among its live ones ('' if not listed)."""
    row = originated(channels)
    return (row.get("ChannelState") or "") if row is not None else ""


def amd_readings(calls: Mapping[str, list[AmiMessage]], getvar: Getvar) -> list[dict[str, str]]:
    """AMD's verdict on answered calls, as the VarSet events that told it (``Getvar``).

    Asked of each call's originated channel listed Up (AMD runs there once
    answered), and only of a name fit for the wire (``Tech/name``, printable, no
    space). A call without ``AMDSTATUS`` yet gets none: its VarSet events are to come.
    """
    asked = [
        row
        for rows in calls.values()
        if (row := originated(rows)) is not None
        and row.get("ChannelState") == UP
        and _LISTED_CHANNEL.fullmatch(row.get("Channel") or "")
    ]
    if not asked:
        return []
    values = getvar([(row["Channel"], name) for row in asked for name in AMD_VARIABLES])
    readings = []
    for index, row in enumerate(asked):
        status, cause = values[2 * index], values[2 * index + 1]
        if status:
            where = {k: row.get(k) or "" for k in ("Channel", "Uniqueid", "Linkedid")}
            for name, value in zip(AMD_VARIABLES, (status, cause), strict=True):
                readings.append({"Event": "VarSet", **where, "Variable": name, "Value": value})
    return readings


class DialRecovery:
    """The outage half of :class:`~dialerd.pbx.ami.adapter.AmiTelephony`, which sets these."""

    _settings: AmiSettings
    _clock: Clock
    _lock: threading.Lock
    _correlator: Correlator
    _flights: dict[str, _Flight]
    _booted: tuple[str, str] | None
    _link: LinkSupervisor

    if TYPE_CHECKING:  # the adapter's own

        def _register_arrivals(self) -> None: ...
        def _collect_result(self, result: DialResult) -> None: ...
        def _flush(self) -> None: ...
        def _load_queues(self, client: AmiClient) -> None: ...

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
        answered: dict[str, list[AmiMessage]] = {}
        for key, flight in self._flights.copy().items():
            if flight.generation >= generation or flight.lost_at is not None:
                continue
            if key in live:
                flight.survived = True
                if originated_state(live[key]) == UP:  # its Newstate Up may have been lost
                    answered[key] = live[key]
                    with self._lock:
                        self._register_arrivals()
                        self._correlator.listed_up(key, now)
            elif restarted:
                flight.lost_at, flight.pbx_stopped = now, True
            else:
                grace = flight.ring_timeout_s + self._settings.settle_grace_s
                flight.lost_at = flight.started_at + timedelta(seconds=grace)
        self._learn_amd(client, answered)  # ... and so may its AMD verdict
        log.info(
            "ami_reconciled",
            live_channels=len(live),
            in_flight=len(self._flights),
            pbx_restarted=restarted,
        )

    def _learn_amd(self, client: AmiClient, answered: Mapping[str, list[AmiMessage]]) -> None:
        """AMD's verdict on answered dials whose VarSet events this run may not have
        heard (adopted after a restart, survivors of an outage): read with ``Getvar``
        and fed to the correlator as those events would have been. Their channels
        are bound first, so a VarSet that comes later joins them as usual."""
        try:
            readings = amd_readings(answered, client.getvars)
        except AmiLinkDown:
            return  # the verdict stays unknown, as without this reading
        now = self._clock.now()
        with self._lock:
            self._register_arrivals()
            for reading in readings:
                self._correlator.feed(reading, now)

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
