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
