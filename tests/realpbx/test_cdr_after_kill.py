"""kill -9 while answered calls are up; they hang up while no daemon runs; the restart
records them from Asterisk's Master.csv instead of interrupting and redialling them."""

from __future__ import annotations

import re
import signal

import pytest

from tests.realpbx.pbx import DialerSite, wait_for

pytestmark = pytest.mark.timeout(240)

# the reference [callee-sim] plays the last digit: 8 answers (a machine's 14 s greeting
# and silence), 2 rings until the 12 s ring timeout
ANSWERS = [f"138000000{i}8" for i in range(4)]
SILENT = [f"138000000{i}2" for i in range(2)]
HOLD = 'answered = { context = "callee-sim", exten = "13900000008" }'  # Answer, Wait(10)


def _channels(site: DialerSite) -> int:
    """Live channels: a Local pair (the dial and the callee) per call."""
    found = re.search(r"(\d+) active channel", site.pbx.cli("core show channels count"))
    return int(found[1]) if found else -1


def test_calls_that_end_while_the_daemon_is_dead_are_recorded_from_master_csv(
    site: DialerSite,
) -> None:
    numbers = ANSWERS + SILENT
    site.write_campaign("cdr", numbers, ring_timeout="12s")
    toml = site.root / "campaigns" / "cdr.toml"
    toml.write_text(re.sub(r"^answered = .*$", HOLD, toml.read_text(), flags=re.M))
    site.extra_env["DIALERD_PBX__CDR_CSV"] = str(site.pbx.cdr)
    first = site.start()
    wait_for(lambda: _channels(site) == 2 * len(numbers), "every call up", 120)
    assert site.stop(first, signal.SIGKILL) == -signal.SIGKILL
    wait_for(lambda: _channels(site) == 0, "every call ended with no daemon", 60)
    assert site.done() == []  # nothing was recorded before the kill

    second = site.start()
    wait_for(lambda: len(site.done()) == len(numbers), "every dial settled", 120)
    assert site.stop(second) == 0
    got = {str(a["number"])[-11:]: a["outcome"] for a in site.done()}
    # from the records (this flow runs no AMD): nothing interrupted
    assert got == dict.fromkeys(ANSWERS, "answered") | dict.fromkeys(SILENT, "no_answer")
    assert len(site.attempts()) == len(numbers)  # no answered call dialled again
    log = (site.root / "daemon.log").read_text()
    assert log.count('"call_settled_from_records"') == len(numbers)
