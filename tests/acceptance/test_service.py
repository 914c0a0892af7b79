"""`dialerd run` as systemd runs it: notify protocol, SIGTERM drain, SIGHUP reload, kill -9.

The daemon is a subprocess driving the AMI simulator (in this process, so calls
outlive the daemon as they do in Asterisk) through a real AMI connection, with a
temporary SQLite database and a datagram socket standing in for systemd's
(tests/servicekit.py).
"""

from __future__ import annotations

import ctypes
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from dialerd.db.models import Attempt, CampaignEvent, Instance
from dialerd.pbx.simulator import Scenario
from tests.servicekit import (
    WAIT_S,
    Site,
    hang_up_every_call,
    make_site,
    simulator,
)

# each test starts daemons and waits on them, each wait with a deadline of a minute
pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    sim = simulator(
        scenario=Scenario(rules=[("*", "answering_machine")]),
        time_scale=0.5,  # a call lasts about 6 s
    )
    with make_site(tmp_path, sim, notify=True) as made:
        yield made


def test_notify_protocol_status_and_sigterm_drain(site: Site) -> None:
    site.write_campaign("alpha", 4)
    site.sim.time_scale = 20.0  # calls last minutes: they end when the test hangs them up
    proc = site.start().proc
    ready = site.notify.wait_for("READY=1")
    first = site.notify.wait_for("WATCHDOG=1", after=ready)
    # pings go on (their period, half of WATCHDOG_USEC, is test_notify's); not timed here:
    # a daemon starved of CPU for the whole watchdog period is the machine, not the daemon
    second = site.notify.wait_for("WATCHDOG=1", after=first)
    assert any(m.startswith("STATUS=") for m in site.notify.messages[:second])

    site.wait_until("four calls in flight", lambda: site.sim.live_call_count() == 4)
    status = site.cli("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "acceptance-1  alive" in status.stdout

    originated = len(site.sim.originates)
    proc.send_signal(signal.SIGTERM)
    stopping = site.notify.wait_for("STOPPING=1", after=second)
    hang_up_every_call(site.sim)  # the drain waits for these results, however slow
    assert proc.wait(timeout=60) == 0
    site.notify.sync()  # every message it sent is read before any is looked for
    # the calls in flight were waited for and recorded, and nothing new was dialled
    assert len(site.sim.originates) == originated == 4
    assert site.attempts() == {"done": 4, "interrupted": 0}
    assert "READY=1" not in site.notify.messages[stopping:]
    names = [e["event"] for e in site.events()]
    assert names.index("drain_started") < names.index("daemon_stopped")
    with Session(site.engine) as s:
        assert s.scalars(select(Instance.stopped_at)).one() is not None
    after = site.cli("status")
    assert after.returncode == 3
    assert "acceptance-1  stopped" in after.stdout


def test_sighup_applies_the_valid_change_and_keeps_the_broken_file_previous_version(
    site: Site,
) -> None:
    site.write_campaign("alpha", 0)
    beta = site.write_campaign("beta", 0)
    proc = site.start().proc
    ready = site.notify.wait_for("READY=1")

    site.write_campaign("alpha", 0, description="v2")
    beta.write_text(beta.read_text().replace("max_rounds = 2", "max_rounds = "))
    proc.send_signal(signal.SIGHUP)
    reloading = site.notify.wait_for("RELOADING=1", after=ready)
    message = site.notify.messages[reloading].split("\n")
    assert message[1].startswith("MONOTONIC_USEC=")
    site.notify.wait_for("READY=1", after=reloading)
    assert proc.poll() is None

    with Session(site.engine) as s:
        kinds = s.execute(
            select(CampaignEvent.kind, CampaignEvent.details).order_by(CampaignEvent.id)
        ).all()
    updated = [d for k, d in kinds if k == "campaign_updated"]
    assert len(updated) == 1 and updated[0] is not None
    assert "description" in updated[0]["changed"]
    events = site.events()
    assert any(e["event"] == "campaign_file_invalid" and e["path"] == str(beta) for e in events)
    done = [e for e in events if e["event"] == "reload_done"]
    assert done, "no reload_done"
    assert done[-1]["campaigns"] == 2  # beta kept its previous version
    assert done[-1]["refused"] == [str(beta)]

    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0


def test_kill_9_then_restart_dials_nothing_twice(site: Site) -> None:
    site.write_campaign("alpha", 3)
    site.sim.time_scale = 20.0  # calls last minutes: they end when the test hangs them up
    first = site.start().proc
    ready = site.notify.wait_for("READY=1")
    site.wait_until("three calls in flight", lambda: site.sim.live_call_count() == 3)
    first.kill()
    assert first.wait(timeout=60) == -signal.SIGKILL
    keys_before = [o.action_id for o in site.sim.originates]
    assert site.sim.live_call_count() == 3  # the PBX still has them

    second = site.start().proc
    site.notify.wait_for("READY=1", after=ready + 1)
    site.wait_until("the calls the PBX still has adopted", lambda: site.adopted() >= 3)
    hang_up_every_call(site.sim)
    site.wait_until(
        "the calls dialled before the crash recorded",
        lambda: site.attempts().get("done", 0) >= 3,
    )
    # every attempt key went out once; what the PBX still had was adopted, not redialled
    keys = [o.action_id for o in site.sim.originates]
    assert len(keys) == len(set(keys))
    assert keys[: len(keys_before)] == keys_before
    assert site.attempts()["interrupted"] == 0

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=60) == 0


def test_a_stopped_daemon_keeps_its_live_calls_and_records_them_when_it_resumes(
    site: Site,
) -> None:
    """SIGSTOP well past the lease: the peer adopts the live calls, settles none of them."""
    site.sim.time_scale = 20.0  # calls last minutes: they end when the test hangs them up
    site.write_campaign("alpha", 4)
    a = site.start().proc
    ready = site.notify.wait_for("READY=1")
    site.wait_until("four calls in flight", lambda: site.sim.live_call_count() == 4)
    b = site.start("acceptance-2").proc
    site.notify.wait_for("READY=1", after=ready + 1)
    _stop_between_transactions(site, a)
    try:
        # the lease (3 heartbeats) runs out by the database's clock; the PBX still has
        # every call, so the peer takes them over instead of settling them
        site.wait_until(
            "the peer adopted the stopped daemon's calls",
            lambda: owners(site) == {"acceptance-2"},
        )
        assert site.attempts() == {"dialing": 4, "interrupted": 0}
    finally:
        a.send_signal(signal.SIGCONT)
    site.beats_after("acceptance-1", 2)  # resumed, and running again
    hang_up_every_call(site.sim)
    site.wait_until("the four results recorded", lambda: site.attempts().get("done", 0) == 4)
    assert site.attempts()["interrupted"] == 0
    assert len(site.sim.originates) == 4  # nothing dialled twice
    for proc in (a, b):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def _stop_between_transactions(site: Site, proc: subprocess.Popen[bytes]) -> None:
    """SIGSTOP while this test holds SQLite's write lock, so the daemon is not stopped
    inside a transaction (every write of the daemon takes that lock first): a daemon
    frozen holding the lock would stop its peer too, which is not what is tested."""
    lock = sqlite3.connect(site.root / "dialerd.db", isolation_level=None, timeout=WAIT_S)
    try:
        lock.execute("BEGIN IMMEDIATE")
        proc.send_signal(signal.SIGSTOP)
        lock.execute("COMMIT")
    finally:
        lock.close()


def owners(site: Site) -> set[str]:
    with Session(site.engine) as s:
        return set(s.scalars(select(Attempt.instance_id)))


PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1  # linux/prctl.h, Linux >= 6.3


def _deny_write_execute() -> None:
    """In the child: the kernel rule behind systemd's MemoryDenyWriteExecute=yes."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE)")


def _mdwe_supported() -> bool:
    probe = subprocess.run(
        [sys.executable, "-c", "pass"], preexec_fn=_deny_write_execute, check=False
    )
    return probe.returncode == 0


def test_runs_with_write_execute_memory_denied(site: Site) -> None:
    """dialerd.service sets MemoryDenyWriteExecute=yes: the whole daemon must live with it."""
    try:
        supported = _mdwe_supported()
    except subprocess.SubprocessError:
        supported = False
    if not supported:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux < 6.3)")
    site.write_campaign("alpha", 2)
    proc = site.start(preexec=_deny_write_execute).proc
    site.notify.wait_for("READY=1")
    site.wait_until("both calls recorded", lambda: site.attempts().get("done", 0) == 2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 0
    assert not [e for e in site.events() if e["level"] in ("error", "critical")]
