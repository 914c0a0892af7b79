"""kill -9 with calls up, the calls end, the daemon starts: Asterisk's records settle them.

The simulator writes Master.csv as Asterisk's cdr_csv does; ``pbx.cdr_csv`` points
the daemon at it. No call that ended while no daemon listened is left
``interrupted``, and none that a person answered is dialled again.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialerd.db.models import Attempt
from dialerd.pbx.simulator import Scenario
from tests.servicekit import Site, make_site, simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

# the simulator plays the callee by the number's last digit; what the CDR makes of it
FROM_RECORDS = {
    "0": "answered",  # a person: ANSWERED
    "1": "busy",  # BUSY
    "2": "no_answer",  # NO ANSWER
    "6": "line_fault",  # powered off: FAILED (Master.csv has no hangup cause)
    "8": "answering_machine",  # ANSWERED with amd=MACHINE in its userfield
}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    cdr = tmp_path / "pbx" / "cdr-csv" / "Master.csv"
    # busy ends 0.001 s into its recording: scaled by 10 000 (10 s), every call outlives the
    # kill however slow the machine, and ends when the test plays it out
    sim = simulator(scenario=Scenario(), cdr_csv=cdr, time_scale=10_000.0)
    with make_site(tmp_path, sim, notify=True, cdr_csv=cdr) as made:
        yield made


def _campaign(site: Site, digits: str) -> None:
    rows = [f"c{d},+86139000100{d}{d}\n" for d in digits]
    site.write_campaign("alpha", rows, concurrent=len(digits))


def _outcomes(site: Site) -> dict[str, list[str | None]]:
    with Session(site.engine) as s:
        rows = s.execute(select(Attempt.number, Attempt.outcome)).all()
    found: dict[str, list[str | None]] = {}
    for number, outcome in rows:
        found.setdefault(number[-1], []).append(outcome)
    return found


def test_calls_that_end_while_the_daemon_is_down_are_settled_from_the_records(
    site: Site,
) -> None:
    _campaign(site, "".join(FROM_RECORDS))
    first = site.start().proc
    ready = site.notify.wait_for("READY=1", timeout=90)
    calls = len(FROM_RECORDS)
    site.wait_until("every call up", lambda: site.sim.live_call_count() == calls, timeout=90)
    first.kill()
    assert first.wait(timeout=60) == -signal.SIGKILL
    for uid in list(site.sim.calls):  # the calls end while no daemon listens
        site.sim.play(uid)
    site.wait_until("every call ended", lambda: site.sim.live_call_count() == 0, timeout=90)
    dialled = len(site.sim.originates)

    second = site.start().proc
    site.notify.wait_for("READY=1", after=ready + 1, timeout=90)
    site.wait_until(
        "every call settled", lambda: site.attempts().get("done", 0) == calls, timeout=90
    )
    assert _outcomes(site) == {d: [o] for d, o in FROM_RECORDS.items()}
    assert site.attempts()["interrupted"] == 0
    settled = [e for e in site.events() if e["event"] == "call_settled_from_records"]
    assert len(settled) == calls
    assert len(site.sim.originates) == dialled  # nothing dialled again
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=90) == 0
