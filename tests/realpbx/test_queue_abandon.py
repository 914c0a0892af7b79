"""Answered calls no agent took, on a real Asterisk: recorded `abandoned`, never `answered`.

Broadcast (caps only): 10 calls at once for the two simulated agents of the
queue recipe of docs/asterisk.md; the queue takes two, the rest wait out the
2 s `Queue()` timeout and hear the apology. dialerd must record, call by call,
what the queue_log says: its CONNECTs `answered`, its exits `abandoned`.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.realpbx.pbx import DialerSite, RealPbx, wait_for
from tests.realpbx.queue_recipe import (
    DROPPED,
    assert_recorded_as_the_queue_says,
    load_recipe,
    queue_events,
)

pytestmark = pytest.mark.timeout(240)

CALLS = 10  # at once, for two agents


def test_calls_no_agent_took_are_abandoned_as_the_queue_log_says(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path
) -> None:
    load_recipe(real_pbx, site, tmp_path / "recipe")
    numbers = [f"13800{i:05d}0" for i in range(CALLS)]  # last digit 0: a person answers
    site.write_campaign("queued", numbers, context="dialerd-queue", max_concurrent=CALLS)
    daemon = site.start()
    wait_for(lambda: len(site.done()) >= CALLS, "every call recorded", 180)
    assert site.stop(daemon) == 0
    outcomes = Counter(str(a["outcome"]) for a in site.done())
    events = queue_events(real_pbx)
    left = sum(events[e] for e in DROPPED)
    assert outcomes["abandoned"] == left > 0
    assert outcomes["answered"] == events["CONNECT"]
    assert outcomes["abandoned"] + outcomes["answered"] == CALLS
    assert_recorded_as_the_queue_says(site, real_pbx)
