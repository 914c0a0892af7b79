"""kill -9 of `dialerd run` with answered and ringing calls up on a real Asterisk."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from tests.realpbx.pbx import DialerSite, RealPbx, wait_for

pytestmark = pytest.mark.timeout(420)

# 1391… (and 1393…) answers and stays on the line until the test hangs it up; 1392… rings
# until the ring timeout cancels it. The ring timeout leaves a restart under a busy CPU ample
# time to adopt the calls before they end (a call that ends with no daemon alive is lost).
# [dialerd-machine] gives AMD's verdict on a machine as AMD() does (the variables it sets).
DIALPLAN = """\
[general]
static = yes
writeprotect = yes

[callee-sim]
exten => _1391XXXXXXX,1,Answer()
 same => n,Wait(600)
exten => _1392XXXXXXX,1,Ringing()
 same => n,Wait(600)
exten => _1393XXXXXXX,1,Answer()
 same => n,Wait(600)

[dialerd-hold]
exten => s,1,NoOp(attempt ${DIALERD_ATTEMPT} answered)
 same => n,Wait(600)

[dialerd-machine]
exten => s,1,Set(AMDSTATUS=MACHINE)
 same => n,Set(AMDCAUSE=LONGGREETING-1500-1500)
 same => n,Wait(600)
"""
HELD = ("dialerd-hold", "dialerd-machine")  # the answered sides, hung up by the test


def channels(pbx: RealPbx) -> list[list[str]]:
    """`core show channels concise`: channel!context!exten!priority!state!app!..."""
    lines = pbx.cli("core show channels concise").splitlines()
    return [line.split("!") for line in lines if line.count("!") > 5]


def hang_up_answered(pbx: RealPbx) -> None:
    for c in channels(pbx):
        if c[1] in HELD:
            pbx.cli(f"channel request hangup {c[0]}")


def adopted(site: DialerSite) -> int:
    """How many dials the restarted daemon adopted (its `orphans_settled` log line)."""
    log = (site.root / "daemon.log").read_text()
    whole = log.split("\n")[:-1]  # the daemon may be writing the last line as it is read
    lines = [json.loads(line) for line in whole if '"orphans_settled"' in line]
    return sum(int(line["adopted"]) for line in lines)


def answered_up(pbx: RealPbx, context: str = "dialerd-hold") -> int:
    """Answered calls up in ``context``, past its Set()s (in its Wait)."""
    return sum(1 for c in channels(pbx) if c[1] == context and c[4] == "Up" and c[5] == "Wait")


@pytest.mark.parametrize("instance_id", ["realpbx-test", None], ids=["named", "default-id"])
def test_kill9_with_calls_up_records_what_asterisk_knew(
    site: DialerSite, real_pbx: RealPbx, tmp_path: Path, instance_id: str | None
) -> None:
    """The restarted daemon adopts its own calls at once, with a named or the default id;
    a machine's AMD verdict, given while the first daemon lived, is read back."""
    site.instance_id = instance_id
    conf = tmp_path / "extensions.conf"
    conf.write_text(DIALPLAN)
    real_pbx.stop()
    real_pbx.confs = [conf]
    real_pbx.start()
    answer = [f"1391000{i:04d}" for i in range(10)]
    ring = [f"1392000{i:04d}" for i in range(10)]
    machine = [f"1393000{i:04d}" for i in range(4)]
    site.write_campaign("crash", answer + ring, ring_timeout="60s", context="dialerd-hold")
    site.write_campaign("machines", machine, ring_timeout="60s", context="dialerd-machine")
    daemon = site.start()
    wait_for(lambda: len(site.attempts()) >= 24, "24 dials started", 120)
    wait_for(lambda: answered_up(real_pbx) >= 10, "10 answered calls up", 60)
    wait_for(lambda: answered_up(real_pbx, "dialerd-machine") >= 4, "4 machines ruled", 60)
    site.stop(daemon, signal.SIGKILL)
    site.start()
    wait_for(lambda: adopted(site) >= 24, "the restarted daemon adopting the 24 calls", 120)
    hang_up_answered(real_pbx)
    wait_for(lambda: len(site.done()) >= 24, "24 recorded results", 150)
    got = {str(a["number"]).removeprefix("+86"): a["outcome"] for a in site.done()}
    assert {got[n] for n in answer} == {"answered"}, got
    assert {got[n] for n in ring} == {"no_answer"}, got
    assert {got[n] for n in machine} == {"answering_machine"}, got
    assert len(site.attempts()) == 24  # none redialled, none doubled
