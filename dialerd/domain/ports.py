"""Ports: the small interfaces the core and the engine depend on; adapters implement them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from dialerd.domain.pacing.floor import Floor


class Clock(Protocol):
    """Tells the time; always timezone-aware UTC."""

    def now(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class AnsweredTarget:
    """Where an answered call goes: a dialplan location or an application."""

    context: str | None = None
    exten: str | None = None
    priority: str = "1"
    application: str | None = None
    data: str | None = None


@dataclass(frozen=True, slots=True)
class DialRequest:
    """One dial, fully decided by the engine; the adapter only puts it on the wire.

    ``key`` is the attempt's idempotency key (unique in the database); it is sent
    as the AMI ActionID and the Originate's ``Account`` (the account code of every channel
    of the call), and ``attempt_id`` as DIALERD_ATTEMPT.
    """

    attempt_id: int
    key: str
    campaign: str
    number: str  # E.164, e.g. +8613800138000
    channel: str  # rendered dial string, e.g. PJSIP/8613800138000@carrier
    caller_id: str
    ring_timeout_s: float
    answered: AnsweredTarget
    record: bool = False
    variables: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PbxSignals:
    """Everything the PBX told about one dial, as raw as classification needs it."""

    originate_response: str | None = None  # "Success" | "Failure" | "Error" (sync refusal)
    reason: int | None = None  # OriginateResponse Reason (legacy originate reason)
    hangup_cause: int | None = None  # Q.850 cause of the originated (;1) channel
    callee_cause: int | None = None  # Q.850 cause of the called-party (;2) half, if seen
    dial_status: str | None = None  # DialEnd DialStatus
    rang: bool = False  # DialState RINGING or Newstate Ringing was seen
    amd_status: str | None = None  # HUMAN | MACHINE | NOTSURE | HANGUP
    amd_cause: str | None = None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    disposition: str | None = None  # set on the answered call (FastAGI)
    callback_at: datetime | None = None  # appointment the callee accepted
    error: str | None = None  # adapter-side failure text (our fault)
    lost: bool = False  # the PBX's word on this dial was lost: recorded as `interrupted`
    dial_s: float | None = None  # seconds from the Originate to its final word (OriginateResponse)
    ring_timeout_s: float | None = None  # the ring timeout the Originate carried
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def talk_seconds(self) -> float | None:
        """Seconds between answer and hangup, when both are known."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.answered_at).total_seconds()


RECORDING_KEY = "recording_file"  # PbxSignals.raw key of the answered leg's recording


@dataclass(frozen=True, slots=True)
class AnsweredInfo:
    """What the answered leg told: answer time, AMD verdict, the flow's disposition."""

    answered_at: datetime | None = None
    amd_status: str | None = None
    amd_cause: str | None = None
    disposition: str | None = None
    callback_at: datetime | None = None
    recording_file: str | None = None  # DIALERD_RECORDING_FILE: the call's recording

    def merged(self, newer: AnsweredInfo) -> AnsweredInfo:
        """This info updated with every field ``newer`` knows."""
        changes = {
            f.name: getattr(newer, f.name)
            for f in dataclasses.fields(self)
            if getattr(newer, f.name) is not None
        }
        return dataclasses.replace(self, **changes)

    def apply(self, signals: PbxSignals) -> PbxSignals:
        """Signals with the disposition/callback set and AMI gaps filled from here."""
        return dataclasses.replace(
            signals,
            disposition=self.disposition or signals.disposition,
            callback_at=self.callback_at or signals.callback_at,
            amd_status=signals.amd_status or self.amd_status,
            amd_cause=signals.amd_cause or self.amd_cause,
            answered_at=signals.answered_at or self.answered_at,
            raw=(
                {**signals.raw, RECORDING_KEY: self.recording_file}
                if self.recording_file
                else signals.raw
            ),
        )


class Verdict(StrEnum):
    """What a telephony adapter made of one report from the answered leg."""

    accepted = "accepted"
    not_in_flight = "not_in_flight"  # no dial of this attempt is in flight here
    not_answered = "not_answered"  # a disposition for a dial not (yet) answered
    already_recorded = "already_recorded"  # the dial already has its disposition


@dataclass(frozen=True, slots=True)
class DialResult:
    """The PBX's final word on one dial."""

    key: str
    attempt_id: int
    signals: PbxSignals


ResultSink = Callable[[DialResult], None]


class LinkState(StrEnum):
    """Whether dials can be started: UP; CONNECTING (retrying on its own); DOWN."""

    UP = "up"
    CONNECTING = "connecting"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The PBX link's state and, in words, why (for sd_notify STATUS and the heartbeat)."""

    state: LinkState
    detail: str


StatusHook = Callable[[LinkStatus], None]


class Telephony(Protocol):
    """What the engine needs from a PBX. Implementations: AMI (pyst2), the virtual PBX.

    Results are delivered through the sink given to ``start``; the sink must be
    thread-safe (adapters call it from their own threads). Link changes go to the
    status hook the implementation was built with; ``link_status`` reads the latest.
    """

    def start(self, sink: ResultSink) -> None:
        """Connect (and keep reconnecting) in the background."""

    def is_up(self) -> bool:
        """True while dials can be started."""

    def link_status(self) -> LinkStatus:
        """The link's current state and its reason in words."""

    def originate(self, request: DialRequest) -> None:
        """Start one dial. Raises TelephonyUnavailable or UnsafeDialInput."""

    def in_flight(self) -> int:
        """Dials started and not yet delivered to the sink."""

    def live_keys(self) -> set[str] | None:
        """Keys of dials the PBX still has channels for; None if unknown right now."""

    def adopt(self, key: str, attempt_id: int) -> None:
        """Follow a dial an earlier run started (engine reconcile) and deliver its result."""

    def on_answered(self, attempt_id: int, info: AnsweredInfo) -> Verdict:
        """What the answered leg told (FastAGI); merged into that dial's result when accepted."""

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None:
        """The agent queue ``queue`` now (its agents, dials ringing, calls waiting).

        ``dials``: the queue's dials in flight, every daemon's (attempt id -> seconds
        since claimed); those the PBX has not seen answered are the floor's ringing
        dials, those answered and not yet in the queue wait for an agent like its
        callers (the rest are in the queue, with an agent, hearing the apology or over).
        None while unknown (no queue state tracked, link down): the pacer starts no
        dial for a campaign paced by agents without it.
        """

    def close(self) -> None:
        """Stop and release the link."""
