"""The virtual PBX's call scripts hold to the recorded Asterisk 22 transcripts.

For each behaviour the virtual PBX plays, the recording the AMI simulator plays
for it is read through the AMI correlator; the signals classification rests on
must be the ones the virtual PBX hands out.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialerd.domain.clock import VirtualClock
from dialerd.domain.ports import AnsweredTarget, DialRequest, DialResult, PbxSignals
from dialerd.pbx.scenario import BEHAVIOURS, LAST_DIGIT, Scenario
from dialerd.pbx.simulator.scenario import template_name
from dialerd.pbx.virtual import VirtualPbx
from tests.amikit import signal_fields
from tests.recordings import recorded_signals

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
NUMBER = "+8613800138000"


def recording_of(behaviour: str) -> str:
    """The recording behind a behaviour: the simulator's own, else answered by a person
    (the behaviours whose answered-call flow then sets a disposition)."""
    return template_name(behaviour) if behaviour in LAST_DIGIT else "answered-human"


def virtual_signals(behaviour: str) -> PbxSignals:
    clock = VirtualClock(T0)
    pbx = VirtualPbx(clock, Scenario(rules=[(NUMBER, behaviour)]))
    results: list[DialResult] = []
    pbx.start(results.append)
    pbx.originate(
        DialRequest(
            attempt_id=1,
            key="1-1-0-1-1",
            campaign="recordings",
            number=NUMBER,
            channel="PJSIP/8613800138000@carrier",
            caller_id="4006589888",
            ring_timeout_s=30.0,
            answered=AnsweredTarget(context="dialerd-answered", exten="s"),
        )
    )
    due = pbx.next_event_at()
    assert due is not None
    clock.advance_to(due)
    pbx.deliver_until(due)
    (result,) = results
    return result.signals


def fields(signals: PbxSignals) -> tuple[object, ...]:
    """What classification rests on, with the AMD cause."""
    return (*signal_fields(signals), signals.amd_cause)


def test_every_behaviour_has_a_recording() -> None:
    assert {b: recording_of(b) for b in LAST_DIGIT} == {
        "answered": "answered-human",
        "busy": "busy",
        "no_answer": "no-answer",
        "vacant": "unallocated",
        "rejected": "rejected",
        "congestion": "congestion",
        "powered_off": "subscriber-absent",
        "early_hangup": "answered-early-hangup",
        "answering_machine": "answering-machine",
        "no_user_responding": "no-user-responding",
    }


@pytest.mark.parametrize("behaviour", BEHAVIOURS)
def test_virtual_script_gives_the_recorded_signals(behaviour: str) -> None:
    recorded = recorded_signals(recording_of(behaviour))
    assert fields(virtual_signals(behaviour)) == fields(recorded)
