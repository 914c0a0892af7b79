"""Progressive pacing at ratio 1.0 on a real Asterisk: every answered call meets an agent.

The queue recipe of docs/asterisk.md (tests/realpbx/queue_recipe.py) with its two
simulated agents: each answers at once and talks until the callee hangs up
(~3.6 s after answering), then rests the queue's 3 s wrap-up. The callees let
it ring 0-3 s first, so dials are in flight while agents look ready: with ratio
1 dialerd may have at most one dial ringing or waiting per ready agent.

Measured on the 2-core test machine under load (load average ~20), two runs:
40 calls in 170-176 s; queue_log ENTERQUEUE 40, CONNECT 40 (hold 0 s each),
COMPLETECALLER 40 (talk 3.5 s mean), no ABANDON, EXITWITHTIMEOUT or EXITEMPTY;
dialerd 40 answered/complete, 0 abandoned. An agent's next call connected 4.5 s
mean (3-6 s) after the last ended: the 3 s wrap-up plus the next callee's
0-3 s of ringing. Before dialerd counted its ringing dials (the floor saw agents
ready and no dial in flight) the same run dropped 24 of 40 (EXITWITHTIMEOUT 24,
all recorded abandoned). The paused case takes ~12 s.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from tests.realpbx.pbx import DialerSite, RealPbx, wait_for
from tests.realpbx.queue_recipe import (
    DROPPED,
    assert_recorded_as_the_queue_says,
    load_recipe,
    pacing,
    queue_events,
    screen_pops,
    set_paused,
)

pytestmark = pytest.mark.timeout(600)

CALLS = 40


def test_progressive_at_ratio_one_leaves_no_caller_without_an_agent(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path
) -> None:
    load_recipe(real_pbx, site, tmp_path / "recipe")
    numbers = [f"13800{i:05d}0" for i in range(CALLS)]  # a person answers after 0-3 s
    site.write_campaign(
        "progressive",
        numbers,
        context="dialerd-queue",
        max_concurrent=CALLS,
        tables=pacing("progressive", ratio=1.0),
        callees="callee-rings",
    )
    started = time.monotonic()
    daemon = site.start()
    wait_for(lambda: len(site.done()) >= CALLS, f"{CALLS} calls recorded", 480)
    took = time.monotonic() - started
    assert site.stop(daemon) == 0
    events = queue_events(real_pbx)
    outcomes = Counter(str(a["outcome"]) for a in site.done())
    print(f"\n{CALLS} calls in {took:.0f}s; queue_log {dict(events)}; outcomes {dict(outcomes)}")
    assert {e: events[e] for e in DROPPED if events[e]} == {}
    assert events["ENTERQUEUE"] == events["CONNECT"] == outcomes["answered"] == CALLS
    assert outcomes["abandoned"] == 0
    assert len(site.attempts()) == CALLS  # one dial each
    assert_recorded_as_the_queue_says(site, real_pbx)
    # screen-pop: each agent's leg carries the attempt it takes
    assert sorted(screen_pops(real_pbx)) == sorted(str(a["id"]) for a in site.done())


def test_agents_paused_while_their_calls_ring_the_answered_calls_are_abandoned(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path
) -> None:
    """Both agents go 示忙 while the two dials made for them ring: answered, the calls
    find nobody (JOINEMPTY) and are recorded `abandoned`. No dial while every agent is
    paused; back (示闲), dialling resumes."""
    load_recipe(real_pbx, site, tmp_path / "recipe")
    numbers = [f"13800{i:05d}0" for i in range(4)]
    site.write_campaign(
        "paused",
        numbers,
        ring_timeout="60s",
        context="dialerd-queue",
        max_concurrent=4,
        tables=pacing("progressive"),
        callees="callee-held",  # rings until RELEASE is set
    )
    daemon = site.start()
    wait_for(lambda: len(site.attempts()) >= 2, "a dial for each ready agent", 120)
    set_paused(real_pbx, True)
    wait_for(lambda: real_pbx.cli("queue show callback-team").count("paused") >= 2, "pause", 60)
    assert len(site.attempts()) == 2  # ratio 1, two agents: two dials, however long they ring
    real_pbx.cli("dialplan set global RELEASE 1")
    wait_for(lambda: len(site.done()) >= 2, "the two answered calls recorded", 120)
    assert {str(a["outcome"]) for a in site.done()} == {"abandoned"}
    assert len(site.attempts()) == 2  # every agent paused: no new dial
    set_paused(real_pbx, False)
    wait_for(lambda: len(site.done()) >= 4, "the other two recorded", 120)
    assert site.stop(daemon) == 0
    outcomes = Counter(str(a["outcome"]) for a in site.done())
    assert outcomes == {"abandoned": 2, "answered": 2}
    assert queue_events(real_pbx)["CONNECT"] == 2
    assert_recorded_as_the_queue_says(site, real_pbx)
