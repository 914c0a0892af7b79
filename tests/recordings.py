"""What the recorded Asterisk 22 transcripts show, as the AMI path reads them.

The one place tests read the recorded calls' events: through the AMI simulator's
own reader of :mod:`dialerd.pbx.transcripts`, so the simulator and the tests
hold the same recordings to the same reading.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.pbx.ami.correlate import Correlator
from dialerd.pbx.simulator.templates import timed_messages as recording

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# The recorded dialplan's callee by the number's last digit (transcripts README), and the
# outcome dialerd records for each: the simulator and the reference Asterisk play the same.
LAST_DIGIT_OUTCOMES = {
    "0": "answered",
    "1": "busy",
    "2": "no_answer",
    "3": "vacant",
    "4": "rejected",
    "5": "line_fault",
    "6": "powered_off",
    "7": "early_hangup",
    "8": "answering_machine",
    "9": "no_answer",
}


def recorded_signals(name: str) -> PbxSignals:
    """The PbxSignals the AMI correlator makes of recording ``name``'s events, in their time."""
    timed, originate = recording(name)
    results: dict[str, DialResult] = {}
    correlator = Correlator(lambda r: results.__setitem__(r.key, r), settle_s=1.0)
    key = originate.action_id
    correlator.expect(key, 1, originate.timeout_s, T0, attempt_tag=originate.tag)
    now = T0
    for at_s, msg in timed:
        now = T0 + timedelta(seconds=at_s)
        correlator.feed(msg, now)
        correlator.tick(now)
    correlator.tick(now + timedelta(seconds=5))
    return results[key].signals
