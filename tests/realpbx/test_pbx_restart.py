"""An Asterisk restart mid-campaign: cut-off calls are ours, refused dials come back soon."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.realpbx.pbx import DialerSite, RealPbx, wait_for

pytestmark = pytest.mark.timeout(300)

# 1392… rings until the PBX goes away; 1393… is vacant (cause 1, at once)
DIALPLAN = """\
[general]
static = yes
writeprotect = yes

[callee-sim]
exten => _1392XXXXXXX,1,Ringing()
 same => n,Wait(600)
exten => _1393XXXXXXX,1,Hangup(1)

[dialerd-hold]
exten => s,1,Wait(40)
 same => n,Hangup()
"""
RINGING = [f"1392000{i:04d}" for i in range(8)]
LATER = [f"1393000{i:04d}" for i in range(8)]


def ringing_calls(pbx: RealPbx) -> int:
    """Originated (;1) channels of [callee-sim] in state Ringing (`core show channels concise`)."""
    lines = pbx.cli("core show channels concise").splitlines()
    rows = [line.split("!") for line in lines if line.count("!") > 5]
    return sum(1 for r in rows if r[0].endswith(";1") and r[4] == "Ringing")


def national(attempt: dict[str, object]) -> str:
    return str(attempt["number"]).removeprefix("+86")


def test_core_stop_now_interrupts_and_the_refused_dials_retry_soon(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path
) -> None:
    conf = tmp_path / "extensions.conf"
    conf.write_text(DIALPLAN)
    real_pbx.restart_with(conf)
    # eight at a time: the vacant numbers wait for a free channel behind the ringing ones
    site.write_campaign(
        "restart", RINGING + LATER, ring_timeout="60s", context="dialerd-hold", max_concurrent=8
    )
    daemon = site.start()
    wait_for(lambda: ringing_calls(real_pbx) >= 8, "8 calls ringing", 90)
    real_pbx.cli("core stop now")
    wait_for(
        lambda: sum(1 for a in site.done() if national(a) in RINGING) >= 8,
        "the cut-off calls recorded",
        90,
    )
    cut = [a for a in site.done() if national(a) in RINGING]
    assert {a["outcome"] for a in cut} == {"interrupted"}, cut
    # the system class is read: the Shutdown event was seen. It comes after the channels'
    # SoftHangupRequest (which already settled the calls), so it may be logged later.
    wait_for(
        lambda: "ami_pbx_shutdown" in (site.root / "daemon.log").read_text(),
        "the PBX's Shutdown event logged",
        60,
    )

    real_pbx.start()
    back = time.monotonic()
    wait_for(
        lambda: {national(a) for a in site.done() if a["outcome"] == "vacant"} >= set(LATER),
        "every vacant number dialled once the PBX is back",
        120,
    )
    assert time.monotonic() - back < 90  # reconnect backoff, then the short retry at most
    assert site.stop(daemon) == 0
    attempts = site.attempts()
    # the cut-off calls rang: not redialled within the campaign's hour of spacing
    assert sum(1 for a in attempts if national(a) in RINGING) == len(RINGING)
    # a vacant number dialled more than once was first refused, or queued by a PBX that
    # stopped before running it: ours, not counted, and it reached nobody
    ours = {"internal_failure", "interrupted"}
    for number in LATER:
        tries = [a["outcome"] for a in attempts if national(a) == number]
        assert tries[-1] == "vacant" and set(tries[:-1]) <= ours, (number, tries)
