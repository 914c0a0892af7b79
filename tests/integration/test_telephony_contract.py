"""The Telephony port's contract, run against every implementation.

``virtual``: the in-process virtual PBX on a virtual clock. ``ami``: the AMI
adapter over TCP against dialerd's AMI simulator, which plays the recorded
Asterisk 22 transcripts. The same callee behaviours must classify to the same
outcomes, and adoption, the answered-leg hook, the in-flight count, live keys
and the link status must behave alike.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from dialerd.domain.classify import classify
from dialerd.domain.clock import VirtualClock
from dialerd.domain.ports import (
    AnsweredInfo,
    AnsweredTarget,
    DialRequest,
    DialResult,
    LinkState,
    PbxSignals,
    Telephony,
    Verdict,
)
from dialerd.errors import UnsafeDialInput
from dialerd.pbx.ami.adapter import AmiTelephony
from dialerd.pbx.scenario import LAST_DIGIT, Scenario
from dialerd.pbx.simulator import AmiSimulator
from dialerd.pbx.virtual import VirtualPbx
from dialerd.settings import AmiSettings

SECRET = "contract"
DEADLINE_S = 30.0
HELD = 1e6  # time_scale at which a simulated call moves on only when ``results`` plays it
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

# What each callee behaviour (the number's last digit) must be recorded as.
OUTCOMES = {
    "answered": "answered",
    "busy": "busy",
    "no_answer": "no_answer",
    "vacant": "vacant",
    "rejected": "rejected",
    "congestion": "line_fault",
    "powered_off": "powered_off",
    "early_hangup": "early_hangup",
    "answering_machine": "answering_machine",
    "no_user_responding": "no_answer",
}


def outcome_of(signals: PbxSignals) -> str:
    """The outcome the engine records for these signals (results.record_results' rule)."""
    if signals.lost:
        return "interrupted"
    return str(classify(signals).outcome)


def request(n: int, digit: int, number: str | None = None) -> DialRequest:
    number = number or f"+86138001380{digit}"
    return DialRequest(
        attempt_id=500 + n,
        key=f"3-{n}-0-1-1",
        campaign="contract",
        number=number,
        channel=f"Local/{number.lstrip('+')}@callee-sim",
        caller_id='"dialerd" <4000>',
        ring_timeout_s=30.0,
        answered=AnsweredTarget(context="dialerd-answered", exten="s"),
    )


class Harness:
    """One started implementation and the results it delivered."""

    telephony: Telephony

    def results(self, count: int) -> list[DialResult]:
        raise NotImplementedError

    def close(self) -> None:
        self.telephony.close()


class VirtualHarness(Harness):
    def __init__(self) -> None:
        self.clock = VirtualClock(T0)
        self.pbx = VirtualPbx(self.clock, Scenario())
        self.telephony = self.pbx
        self.delivered: list[DialResult] = []
        self.pbx.start(self.delivered.append)

    def results(self, count: int) -> list[DialResult]:
        while len(self.delivered) < count:
            due = self.pbx.next_event_at()
            assert due is not None, "the virtual PBX has nothing more to deliver"
            self.clock.advance_to(due)
            self.pbx.deliver_until(due)
        return self.delivered[:count]


class AmiHarness(Harness):
    def __init__(self, time_scale: float) -> None:
        self.held = time_scale >= HELD
        self.sim = AmiSimulator(secret=SECRET, time_scale=time_scale)
        host, port = self.sim.start_in_thread()
        settings = AmiSettings(
            host=host,
            port=port,
            secret=SecretStr(SECRET),
            action_timeout_s=5.0,  # a busy machine's slow reply drops no link
            ping_interval_s=0.2,
            reconnect_min_s=0.05,
            reconnect_max_s=0.2,
            settle_grace_s=0.2,
        )
        self.queue: queue.Queue[DialResult] = queue.Queue()
        self.delivered: list[DialResult] = []
        self.telephony = AmiTelephony(settings, settle_s=0.1)
        self.telephony.start(self.queue.put)
        until(self.telephony.is_up)

    def results(self, count: int) -> list[DialResult]:
        if self.held:  # held calls play out now, as the virtual PBX's clock moves on here
            # every dial in flight has reached the simulator (the adapter's writer sends it)
            until(lambda: len(self.sim.calls) >= self.telephony.in_flight())
            for key in list(self.sim.calls):
                self.sim.play(key)
        deadline = time.monotonic() + DEADLINE_S
        while len(self.delivered) < count:
            self.delivered.append(self.queue.get(timeout=max(0.0, deadline - time.monotonic())))
        return self.delivered[:count]

    def close(self) -> None:
        super().close()
        self.sim.stop()


def is_live(telephony: Telephony, key: str) -> bool | None:
    """Whether the PBX lists a channel of ``key``; None while it cannot tell."""
    live = telephony.live_keys()
    return None if live is None else key in live


def until(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture(params=["virtual", "ami"])
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def build(time_scale: float = 0.05) -> Harness:
        harness: Harness = (
            VirtualHarness() if request.param == "virtual" else AmiHarness(time_scale)
        )
        made.append(harness)
        return harness

    yield build
    for harness in made:
        harness.close()


def test_each_callee_behaviour_classifies_to_its_outcome(make: Callable[..., Harness]) -> None:
    rig = make()
    requests = [request(digit, digit) for digit in range(10)]
    for req in requests:
        rig.telephony.originate(req)
    by_key = {r.key: r for r in rig.results(len(requests))}
    got = {LAST_DIGIT[d]: outcome_of(by_key[requests[d].key].signals) for d in range(10)}
    assert got == OUTCOMES
    assert all(by_key[r.key].attempt_id == r.attempt_id for r in requests)


def test_the_answered_leg_hook_merges_into_the_result(make: Callable[..., Harness]) -> None:
    rig = make(time_scale=HELD)  # the calls wait for the hook: none ends before it is called
    answered, busy = request(1, 0), request(2, 1)
    callback = T0 + timedelta(days=2)
    for req in (answered, busy):
        rig.telephony.originate(req)
    hook = rig.telephony.on_answered
    summary = AnsweredInfo(disposition="callback_requested", callback_at=callback)
    # a disposition is taken only for an answered dial, and only once
    assert hook(answered.attempt_id, summary) is Verdict.not_answered
    assert hook(answered.attempt_id, AnsweredInfo(answered_at=T0)) is Verdict.accepted
    assert hook(answered.attempt_id, summary) is Verdict.accepted
    assert hook(answered.attempt_id, summary) is Verdict.already_recorded
    assert hook(99, summary) is Verdict.not_in_flight
    by_key = {r.key: r.signals for r in rig.results(2)}
    signals = by_key[answered.key]
    assert (signals.disposition, signals.callback_at) == ("callback_requested", callback)
    assert outcome_of(signals) == "callback_requested"
    assert outcome_of(by_key[busy.key]) == "busy"


def test_in_flight_and_live_keys_follow_a_dial(make: Callable[..., Harness]) -> None:
    rig = make(time_scale=HELD)  # up until results() plays it: seen live however slowly
    req = request(3, 0)
    assert rig.telephony.in_flight() == 0
    rig.telephony.originate(req)
    assert rig.telephony.in_flight() == 1
    until(lambda: is_live(rig.telephony, req.key) is True)
    rig.results(1)
    assert rig.telephony.in_flight() == 0
    until(lambda: is_live(rig.telephony, req.key) is False)


def test_adopting_a_dial_with_no_call_delivers_it_interrupted(
    make: Callable[..., Harness],
) -> None:
    rig = make()
    rig.telephony.adopt("9-9-0-1-1", 999)
    assert rig.telephony.in_flight() == 1
    (result,) = rig.results(1)
    assert (result.key, result.attempt_id) == ("9-9-0-1-1", 999)
    assert outcome_of(result.signals) == "interrupted"
    assert rig.telephony.in_flight() == 0


def test_adopting_a_dial_already_followed_changes_nothing(make: Callable[..., Harness]) -> None:
    rig = make()
    req = request(4, 1)
    rig.telephony.originate(req)
    rig.telephony.adopt(req.key, req.attempt_id)
    assert rig.telephony.in_flight() == 1
    (result,) = rig.results(1)
    assert outcome_of(result.signals) == "busy"
    assert rig.telephony.in_flight() == 0


def test_link_status_is_typed_up_while_up_and_not_after_close(
    make: Callable[..., Harness],
) -> None:
    rig = make()
    status = rig.telephony.link_status()
    assert rig.telephony.is_up() and status.state is LinkState.UP and status.detail
    rig.close()
    assert rig.telephony.link_status().state is not LinkState.UP
    assert not rig.telephony.is_up()


def test_unsafe_dial_input_is_refused_before_the_wire(make: Callable[..., Harness]) -> None:
    rig = make()
    with pytest.raises(UnsafeDialInput):
        rig.telephony.originate(request(5, 1, number="+8613800138001\r\nAction: Command"))
    assert rig.telephony.in_flight() == 0
