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

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt
from dialerd.pbx.simulator import AmiSimulator, Scenario
from tests.acceptance.test_service import CAMPAIGN, SECRET, NotifyListener, Site

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

# the simulator plays the callee by the number's last digit; what the CDR makes of it
FROM_RECORDS = {
    "0": "answered",  # a person: ANSWERED
    "1": "busy",  # BUSY
    "2": "no_answer",  # NO ANSWER
    "6": "line_fault",  # powered off: FAILED (Master.csv has no hangup cause)
    "8": "answered",  # an answering machine: ANSWERED (AMD's verdict is not in the CDR)
}


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    cdr = tmp_path / "pbx" / "cdr-csv" / "Master.csv"
    sim = AmiSimulator(username="dialerd", secret=SECRET, scenario=Scenario(), cdr_csv=cdr)
    # busy ends 0.001 s into its recording: scaled by 10 000 (10 s), every call outlives the
    # kill however slow the machine, and ends when the test plays it out
    sim.time_scale = 10_000.0
    host, port = sim.start_in_thread()
    (tmp_path / "campaigns").mkdir()
    db_url = f"sqlite:///{tmp_path / 'dialerd.db'}"
    (tmp_path / "dialerd.toml").write_text(
        f"""\
instance_id = "acceptance-1"
campaigns_dir = "{tmp_path / "campaigns"}"
[database]
url = "{db_url}"
[pbx]
kind = "ami"
cdr_csv = "{cdr}"
[ami]
host = "{host}"
port = {port}
username = "dialerd"
[agi]
enabled = false
[scheduler]
tick_s = 0.1
heartbeat_s = 1
reap_interval_s = 1
[log]
format = "json"
"""
    )
    engine = make_engine(db_url)
    upgrade(engine)
    notify = NotifyListener(tmp_path / "notify.sock")
    site = Site(tmp_path, sim, notify, engine)
    try:
        yield site
    finally:
        for proc in site.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        notify.close()
        sim.stop()
        engine.dispose()


def _campaign(site: Site, digits: str) -> None:
    folder = site.root / "campaigns"
    rows = "".join(f"c{d},+86139000100{d}{d}\n" for d in digits)
    (folder / "alpha.csv").write_text("external_id,phone1\n" + rows)
    text = CAMPAIGN.format(name="alpha", description="v1", max_concurrent=len(digits))
    (folder / "alpha.toml").write_text(text)


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
    first = site.start()
    ready = site.notify.wait_for("READY=1", timeout=90)
    calls = len(FROM_RECORDS)
    site.wait_until("every call up", lambda: site.sim.live_call_count() == calls, timeout=90)
    first.kill()
    assert first.wait(timeout=10) == -signal.SIGKILL
    for uid in list(site.sim.calls):  # the calls end while no daemon listens
        site.sim.play(uid)
    site.wait_until("every call ended", lambda: site.sim.live_call_count() == 0, timeout=90)
    dialled = len(site.sim.originates)

    second = site.start()
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
