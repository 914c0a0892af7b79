"""Per-dial state the correlator collects, and its translation into PbxSignals (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialerd.domain.ports import PbxSignals

__all__ = ["Chan", "Dial", "PendingDial", "build_signals"]


@dataclass(slots=True, eq=False)
class Chan:
    uniqueid: str
    name: str | None
    linkedid: str | None
    dial: Dial | None = None
    role: str = "other"  # primary (;1 / the originated channel) | callee (;2) | other
    rang: bool = False
    up_at: datetime | None = None
    hung_at: datetime | None = None
    cause: str | None = None
    cause_txt: str | None = None
    dial_status: str | None = None
    variables: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Dial:
    key: str
    attempt_id: int
    tag: str
    ring_timeout_s: float
    started_at: datetime
    chans: list[Chan] = field(default_factory=list)
    final_at: datetime | None = None
    response: str | None = None
    reason: str | None = None
    message: str | None = None
    orig_uniqueid: str | None = None
    orig_channel: str | None = None
    sync: bool = False
    answered_at: datetime | None = None  # the PBX listed the originated channel Up (adoption)
    shutdown: bool = False  # a channel was hung up because the PBX was shutting down
    adopted: bool = False  # started by an earlier run: its start and early events unknown
    rang: bool = False  # the PBX's channel list showed it ringing (adoption)


@dataclass(frozen=True, slots=True)
class PendingDial:
    """A dial still waiting for its final word or its hangups."""

    key: str
    attempt_id: int
    started_at: datetime
    ring_timeout_s: float
    final_word: bool
    live_channels: int


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _pick(dial: Dial, role: str) -> Chan | None:
    return next((c for c in dial.chans if c.role == role), None)


SHUTDOWN_ERROR = "interrupted: the PBX shut down during the dial"


def build_signals(dial: Dial, now: datetime) -> PbxSignals:
    """What was collected for one dial, as PbxSignals (raw values kept in ``raw``).

    A dial the PBX cut off while shutting down, before any answer, is ``lost``
    (recorded ``interrupted``): the callee was never given the time to answer.
    An answered one keeps what the PBX knew.
    """
    primary, callee = _pick(dial, "primary"), _pick(dial, "callee")
    chans = ([primary] if primary else []) + [c for c in dial.chans if c is not primary]
    variables: dict[str, str] = {}
    for chan in reversed(chans):  # the primary channel's values win
        variables.update(chan.variables)
    dial_status = next((c.dial_status for c in chans if c.dial_status is not None), None)
    hung = [c.hung_at for c in chans if c.hung_at is not None]
    raw: dict[str, Any] = {
        "response": dial.response,
        "reason": dial.reason,
        "message": dial.message,
        "sync": dial.sync,
        "uniqueid": dial.orig_uniqueid,
        "channel": dial.orig_channel,
        "hangup_cause": primary.cause if primary else None,
        "hangup_cause_txt": primary.cause_txt if primary else None,
        "callee_cause": callee.cause if callee else None,
        "callee_cause_txt": callee.cause_txt if callee else None,
        "dial_status": dial_status,
        "variables": variables,
        "channels": [c.name for c in chans],
    }
    answered_at = primary.up_at if primary and primary.up_at else dial.answered_at
    cut = dial.shutdown and answered_at is None and dial.reason != "4"
    if cut:
        raw["pbx_stopped"] = True
    final_at = None if dial.adopted else dial.final_at  # an adopted dial's start is unknown
    dial_s = (final_at - dial.started_at).total_seconds() if final_at is not None else None
    return PbxSignals(
        originate_response=dial.response,
        reason=_int(dial.reason),
        hangup_cause=_int(primary.cause) if primary else None,
        callee_cause=_int(callee.cause) if callee else None,
        dial_status=dial_status,
        rang=dial.rang or any(c.rang for c in chans),
        amd_status=variables.get("AMDSTATUS"),
        amd_cause=variables.get("AMDCAUSE"),
        answered_at=answered_at,
        ended_at=max(hung) if hung else now,
        error=SHUTDOWN_ERROR if cut else None,
        lost=cut,
        dial_s=dial_s,
        ring_timeout_s=dial.ring_timeout_s,
        raw=raw,
    )
