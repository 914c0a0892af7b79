"""An in-process PBX on a virtual clock, for `dialerd simulate` and engine tests.

It answers each Originate with the signals a real Asterisk 22 gives for the
scripted behaviour (the same Reason, causes, DialStatus and AMD values as the
recorded transcripts, which tests/integration/test_virtual_pbx_recordings.py
holds the scripts to), after a plausible delay; nothing happens until the
caller moves the clock and asks for the results that are due.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from dialerd.domain import wire
from dialerd.domain.agents import QueueCall, QueueCounts
from dialerd.domain.agenttime import CustomerWait, QueueHour, QueueTime
from dialerd.domain.clock import VirtualClock
from dialerd.domain.pacing import Floor
from dialerd.domain.ports import (
    AnsweredInfo,
    DialRequest,
    DialResult,
    LinkState,
    LinkStatus,
    PbxSignals,
    ResultSink,
    Verdict,
)
from dialerd.pbx.agiscripts import HeldAnswer
from dialerd.pbx.scenario import Scenario


@dataclass(frozen=True)
class _Script:
    """Signals and timing of one behaviour (seconds: ringing, then talk when answered)."""

    signals: PbxSignals
    ring_s: float
    talk_s: float | None = None  # None: not answered
    # the signals' fields by name: a dial's copy is built from them (cheaper than `replace`)
    values: Mapping[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = {f.name: getattr(self.signals, f.name) for f in fields(PbxSignals)}
        object.__setattr__(self, "values", values)


def _failed(
    reason: int, cause: int, callee: int, dial: str | None, ring_s: float, rang: bool = False
) -> _Script:
    return _Script(
        PbxSignals(
            originate_response="Failure",
            reason=reason,
            hangup_cause=cause,
            callee_cause=callee,
            dial_status=dial,
            rang=rang,
        ),
        ring_s,
    )


# AMDSTATUS -> the AMDCAUSE the recordings show with it
AMD_CAUSES = {"HUMAN": "HUMAN-800-800", "MACHINE": "LONGGREETING-1500-1500", "HANGUP": ""}


def _answered(amd: str, talk_s: float, disposition: str | None = None) -> _Script:
    return _Script(
        PbxSignals(
            originate_response="Success",
            reason=4,
            hangup_cause=16,
            callee_cause=16,
            dial_status="ANSWER",
            amd_status=amd,
            amd_cause=AMD_CAUSES[amd],
            disposition=disposition,
        ),
        ring_s=6,
        talk_s=talk_s,
    )


SCRIPTS: dict[str, _Script] = {
    "answered": _answered("HUMAN", 45),
    "busy": _failed(5, 0, 17, "BUSY", 3),
    "no_answer": _failed(3, 19, 19, None, -1, rang=True),  # -1: the ring timeout ends it
    "vacant": _failed(0, 1, 1, "NOANSWER", 2),
    "rejected": _failed(0, 21, 21, "NOANSWER", 8),
    "congestion": _failed(8, 0, 34, "CONGESTION", 1),
    "powered_off": _failed(0, 20, 20, "CHANUNAVAIL", 3),
    "early_hangup": _answered("HANGUP", 1),
    "answering_machine": _answered("MACHINE", 20),
    "no_user_responding": _failed(0, 18, 18, "NOANSWER", 10),
    "completed": _answered("HUMAN", 120, "completed"),
    "refused": _answered("HUMAN", 30, "refused"),
    "not_present": _answered("HUMAN", 20, "not_present"),
    "inconvenient": _answered("HUMAN", 15, "inconvenient"),
    "callback": _answered("HUMAN", 15, "callback_requested"),
    "dnc_requested": _answered("HUMAN", 10, "dnc_requested"),
}
CALLBACK_AFTER = timedelta(days=1)
# The engine records a dial whose error starts with "interrupted" as `interrupted`.
NOT_LIVE = "interrupted: no live call to adopt"


class VirtualPbx:
    """Telephony on a VirtualClock; ``deliver_until(now)`` hands out the due results.

    Single-threaded: the caller moves the clock and delivers. Its link is up until closed.
    """

    def __init__(
        self, clock: VirtualClock, scenario: Scenario | None = None, *, keep_requests: bool = True
    ) -> None:
        """``keep_requests``: every request stays in ``originated`` (tests read it); a long
        simulation passes False, else the collector walks each of them on every full pass."""
        self._clock = clock
        self._keep = keep_requests
        self._scenario = scenario or Scenario()
        self._sink: ResultSink = lambda _r: None
        self._pending: list[tuple[datetime, int, DialResult]] = []
        self._order = itertools.count()
        self._closed = False
        self.originated: list[DialRequest] = []
        self._answers: dict[int, HeldAnswer] = {}

    def start(self, sink: ResultSink) -> None:
        self._sink = sink

    def is_up(self) -> bool:
        return not self._closed

    def link_status(self) -> LinkStatus:
        if self._closed:
            return LinkStatus(LinkState.DOWN, "virtual PBX closed")
        return LinkStatus(LinkState.UP, "virtual PBX")

    def originate(self, request: DialRequest) -> None:
        wire.check_number(request.number)
        wire.check_caller_id(request.caller_id)
        wire.check_channel(request.channel)
        if self._keep:
            self.originated.append(request)
        now = self._clock.now()
        behaviour = self._scenario.behaviour(request.number)
        script = SCRIPTS[behaviour]
        ring = (
            request.ring_timeout_s
            if script.ring_s < 0
            else min(script.ring_s, request.ring_timeout_s)
        )
        answered_at = ended_at = now + timedelta(seconds=ring)
        values = script.values
        # one copy of the script's signals a dial, built from its fields and the changes
        changes: dict[str, Any] = {"raw": {"behaviour": behaviour}}
        if script.talk_s is not None and script.ring_s < request.ring_timeout_s:
            ended_at = answered_at + timedelta(seconds=script.talk_s)
            changes["answered_at"] = answered_at
        elif script.talk_s is not None:  # rang out before the callee would have answered
            values = SCRIPTS["no_answer"].values
        if values["disposition"] == "callback_requested":
            changes["callback_at"] = now + CALLBACK_AFTER
        changes["ended_at"] = ended_at
        signals = PbxSignals(**{**values, **changes})
        result = DialResult(key=request.key, attempt_id=request.attempt_id, signals=signals)
        heapq.heappush(self._pending, (ended_at, next(self._order), result))

    def on_answered(self, attempt_id: int, info: AnsweredInfo) -> Verdict:
        """A FastAGI report, checked and merged into the dial's result as the AMI adapter does."""
        result = next((r for _, _, r in self._pending if r.attempt_id == attempt_id), None)
        if result is None:
            return Verdict.not_in_flight
        answered_at = result.signals.answered_at
        answered = answered_at is not None and answered_at <= self._clock.now()
        held = self._answers.setdefault(attempt_id, HeldAnswer())
        return held.take(info, answered_by_pbx=answered)

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None:
        """The agent queue's state: none here; the queue state tracker provides it."""
        return None

    def live_keys(self) -> set[str]:
        return {r.key for _, _, r in self._pending}

    def adopt(self, key: str, attempt_id: int) -> None:
        """A dial of an earlier run: followed if still pending, else lost at once."""
        if key in self.live_keys():
            return
        now = self._clock.now()
        lost = PbxSignals(ended_at=now, error=NOT_LIVE, lost=True, raw={"events_lost": True})
        result = DialResult(key=key, attempt_id=attempt_id, signals=lost)
        heapq.heappush(self._pending, (now, next(self._order), result))

    def queues(self) -> list[QueueCounts]:
        """No agent queues here: the virtual PBX plays called parties, not agents."""
        return []

    def queue_call(self, ident: str) -> QueueCall | None:
        return None

    def agent_times(self) -> list[QueueTime]:
        return []

    def take_agent_hours(self) -> list[QueueHour]:
        return []

    def give_back_agent_hours(self, hours: list[QueueHour]) -> None:
        """Nothing to give back: no agents here."""

    def take_customer_waits(self) -> list[CustomerWait]:
        return []

    def in_flight(self) -> int:
        return len(self._pending)

    def next_event_at(self) -> datetime | None:
        return self._pending[0][0] if self._pending else None

    def deliver_until(self, now: datetime) -> int:
        count = 0
        while self._pending and self._pending[0][0] <= now:
            _, _, result = heapq.heappop(self._pending)
            held = self._answers.pop(result.attempt_id, None)
            if held is not None:
                result = replace(result, signals=held.info.apply(result.signals))
            self._sink(result)
            count += 1
        return count

    def close(self) -> None:
        self._closed = True
        self._pending.clear()
        self._answers.clear()
