"""Answered calls no agent took, on a real Asterisk: recorded `abandoned`, never `answered`.

The reference `[dialerd-queue]` hands each answered call to the two simulated
agents of `callback-team` for 2 s; the rest leave the queue and the dialplan sends
the `DialerdAbandon` UserEvent. dialerd must record exactly the queue's own count.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.realpbx.pbx import DialerSite, wait_for

pytestmark = pytest.mark.timeout(240)

CALLS = 10  # at once, for two agents


def test_calls_no_agent_took_are_abandoned_as_the_queue_log_says(site: DialerSite) -> None:
    numbers = [f"13800{i:05d}0" for i in range(CALLS)]  # last digit 0: a person answers
    site.write_campaign("queued", numbers, context="dialerd-queue", max_concurrent=CALLS)
    daemon = site.start()
    wait_for(lambda: len(site.done()) >= CALLS, "every call recorded", 180)
    assert site.stop(daemon) == 0
    outcomes = Counter(str(a["outcome"]) for a in site.done())
    events = Counter(line.split("|")[4] for line in site.pbx.queue_log.read_text().splitlines())
    left = events["EXITWITHTIMEOUT"] + events["EXITEMPTY"] + events["EXITWITHKEY"]
    assert outcomes["abandoned"] == left > 0
    assert outcomes["answered"] == events["CONNECT"]
    assert outcomes["abandoned"] + outcomes["answered"] == CALLS
