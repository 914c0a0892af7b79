"""`dialerd run` as systemd runs it: notify protocol, SIGTERM drain, SIGHUP reload, kill -9.

The daemon is a subprocess driving the AMI simulator (in this process, so calls
outlive the daemon as they do in Asterisk) through a real AMI connection, with a
temporary SQLite database and a datagram socket standing in for systemd's.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, CampaignEvent, Instance
from dialerd.pbx.simulator import AmiSimulator, Scenario

# each test starts daemons and waits on them with deadlines of up to a minute
pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

SECRET = "acceptance-secret"
WATCHDOG_USEC = 2_000_000  # the daemon must ping at least every second
START_S = 20.0  # READY=1 may take this long (schema check, campaign import, AMI login)

CAMPAIGN = """\
name = "{name}"
description = "{description}"
contacts = ["{name}.csv"]
timezone = "Asia/Shanghai"
holidays = {{ closed = [] }}

[dialing]
max_rounds = 2
min_spacing = "1h"
ring_timeout = "30s"
max_concurrent = {max_concurrent}
calls_per_second = 50
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {{ application = "AGI", data = "agi://127.0.0.1:4573/answered" }}

[[windows]]
days = "daily"
start = "00:00"
end = "24:00"
"""


class NotifyListener:
    """systemd's side of NOTIFY_SOCKET: every datagram, in order."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[str] = []
        self._cond = threading.Condition()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            with self._cond:
                self.messages.append(data.decode())
                self._cond.notify_all()

    def wait_for(self, message: str, *, after: int = 0, timeout: float = START_S) -> int:
        """Index of the first ``message`` (a whole datagram or its first line) past ``after``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(after, len(self.messages)):
                    if message in (self.messages[i], self.messages[i].split("\n")[0]):
                        return i
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {message!r} within {timeout}s: {self.messages}")
                self._cond.wait(left)

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._sock.close()


@dataclass
class Site:
    """One installation: settings, campaigns folder, database, simulator, notify socket."""

    root: Path
    sim: AmiSimulator
    notify: NotifyListener
    engine: Engine
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.root / "dialerd.toml"

    @property
    def log(self) -> Path:
        return self.root / "daemon.log"

    def write_campaign(self, name: str, contacts: int, *, description: str = "v1") -> Path:
        folder = self.root / "campaigns"
        rows = "".join(f"{name}-{i},+861390001{i:04d}\n" for i in range(contacts))
        (folder / f"{name}.csv").write_text("external_id,phone1\n" + rows)
        path = folder / f"{name}.toml"
        path.write_text(CAMPAIGN.format(name=name, description=description, max_concurrent=5))
        return path

    def start(
        self, preexec: Callable[[], None] | None = None, *, instance_id: str | None = None
    ) -> subprocess.Popen[bytes]:
        """Run ``dialerd run`` (another daemon of the same site with ``instance_id``)."""
        config = self.config
        if instance_id is not None:
            config = self.root / f"{instance_id}.toml"
            text = self.config.read_text().replace('"acceptance-1"', f'"{instance_id}"')
            config.write_text(text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
        env.update(
            NOTIFY_SOCKET=str(self.notify.path),
            WATCHDOG_USEC=str(WATCHDOG_USEC),
            DIALERD_AMI__SECRET=SECRET,
        )
        with self.log.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dialerd", "--config", str(config), "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
                preexec_fn=preexec,
            )
        self.procs.append(proc)
        return proc

    def events(self) -> list[dict[str, object]]:
        out = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
        return subprocess.run(
            [sys.executable, "-m", "dialerd", "--config", str(self.config), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def attempts(self) -> dict[str, int]:
        """Attempt rows by status (plus ``interrupted`` for that outcome)."""
        with Session(self.engine) as s:
            by_status = select(Attempt.status, func.count()).group_by(Attempt.status)
            rows = {str(status): n for status, n in s.execute(by_status).all()}
            rows["interrupted"] = s.execute(
                select(func.count()).where(Attempt.outcome == "interrupted")
            ).scalar_one()
        return rows

    def adopted(self) -> int:
        """Orphaned dials the daemons' logs say they adopted."""
        settled = [e for e in self.events() if e["event"] == "orphans_settled"]
        return sum(int(str(e["adopted"])) for e in settled)

    def wait_until(self, what: str, check: object, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():  # type: ignore[operator]
                return
            time.sleep(0.1)
        raise AssertionError(
            f"timed out waiting for {what}; attempts {self.attempts()}; "
            f"log:\n{self.log.read_text()[-3000:]}"
        )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    sim = AmiSimulator(
        username="dialerd",
        secret=SECRET,
        scenario=Scenario(rules=[("*", "answering_machine")]),
        time_scale=0.5,  # a call lasts about 6 s
    )
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
drain_timeout_s = 20
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


def test_notify_protocol_status_and_sigterm_drain(site: Site) -> None:
    site.write_campaign("alpha", 4)
    proc = site.start()
    ready = site.notify.wait_for("READY=1")
    first = site.notify.wait_for("WATCHDOG=1", after=ready)
    second = site.notify.wait_for("WATCHDOG=1", after=first, timeout=WATCHDOG_USEC / 1e6)
    assert any(m.startswith("STATUS=") for m in site.notify.messages[:second])

    site.wait_until("four calls in flight", lambda: site.sim.live_call_count() == 4)
    status = site.cli("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "acceptance-1  alive" in status.stdout

    originated = len(site.sim.originates)
    proc.send_signal(signal.SIGTERM)
    stopping = site.notify.wait_for("STOPPING=1", after=second, timeout=5)
    assert proc.wait(timeout=30) == 0
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
    proc = site.start()
    ready = site.notify.wait_for("READY=1")

    site.write_campaign("alpha", 0, description="v2")
    beta.write_text(beta.read_text().replace("max_rounds = 2", "max_rounds = "))
    proc.send_signal(signal.SIGHUP)
    reloading = site.notify.wait_for("RELOADING=1", after=ready, timeout=10)
    message = site.notify.messages[reloading].split("\n")
    assert message[1].startswith("MONOTONIC_USEC=")
    site.notify.wait_for("READY=1", after=reloading, timeout=10)
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
    assert proc.wait(timeout=30) == 0


def _hang_up_every_call(sim: AmiSimulator) -> None:
    """As the callees would: every call the simulator is playing ends now."""

    def hang_up() -> None:
        for call in list(sim.calls.values()):
            call.hangup()

    sim.loop.call_soon_threadsafe(hang_up)


def test_kill_9_then_restart_dials_nothing_twice(site: Site) -> None:
    site.write_campaign("alpha", 3)
    site.sim.time_scale = 20.0  # calls last minutes: they end when the test hangs them up
    first = site.start()
    ready = site.notify.wait_for("READY=1")
    site.wait_until("three calls in flight", lambda: site.sim.live_call_count() == 3)
    first.kill()
    assert first.wait(timeout=10) == -signal.SIGKILL
    keys_before = [o.action_id for o in site.sim.originates]
    assert site.sim.live_call_count() == 3  # the PBX still has them

    second = site.start()
    site.notify.wait_for("READY=1", after=ready + 1)
    site.wait_until("the calls the PBX still has adopted", lambda: site.adopted() >= 3)
    _hang_up_every_call(site.sim)
    site.wait_until(
        "the calls dialled before the crash recorded",
        lambda: site.attempts().get("done", 0) >= 3,
        timeout=20,
    )
    # every attempt key went out once; what the PBX still had was adopted, not redialled
    keys = [o.action_id for o in site.sim.originates]
    assert len(keys) == len(set(keys))
    assert keys[: len(keys_before)] == keys_before
    assert site.attempts()["interrupted"] == 0

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0


def test_a_stopped_daemon_keeps_its_live_calls_and_records_them_when_it_resumes(
    site: Site,
) -> None:
    """SIGSTOP well past the lease: the peer adopts the live calls, settles none of them."""
    site.sim.time_scale = 4.0  # a call lasts about 50 s: all of them outlive the stop
    site.write_campaign("alpha", 4)
    a = site.start()
    ready = site.notify.wait_for("READY=1")
    site.wait_until("four calls in flight", lambda: site.sim.live_call_count() == 4)
    b = site.start(instance_id="acceptance-2")
    site.notify.wait_for("READY=1", after=ready + 1)
    a.send_signal(signal.SIGSTOP)
    try:
        # the lease (3 heartbeats) runs out by the database's clock; the PBX still has
        # every call, so the peer takes them over instead of settling them
        site.wait_until(
            "the peer adopted the stopped daemon's calls",
            lambda: owners(site) == {"acceptance-2"},
            timeout=60,
        )
        assert site.attempts() == {"dialing": 4, "interrupted": 0}
    finally:
        a.send_signal(signal.SIGCONT)
    site.wait_until(
        "the four results recorded", lambda: site.attempts().get("done", 0) == 4, timeout=120
    )
    assert site.attempts()["interrupted"] == 0
    assert len(site.sim.originates) == 4  # nothing dialled twice
    for proc in (a, b):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


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
    proc = site.start(preexec=_deny_write_execute)
    site.notify.wait_for("READY=1")
    site.wait_until("both calls recorded", lambda: site.attempts().get("done", 0) == 2)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert not [e for e in site.events() if e["level"] in ("error", "critical")]
