"""Agents end to end: `dialerd run` paces campaigns by a simulated team of agents.

The daemons are subprocesses driving the AMI simulator in this process, whose
queue ``callback-team`` has five agents (dialerd/pbx/simulator/queue.py): an
answered call (last digit 0) joins the queue through docs/asterisk.md's recipe,
reaches a free agent or, after ``abandon_after`` (2 s), leaves with the
``DialerdAbandon`` UserEvent. Callee behaviour plays at 1/20 of the recorded
timing; agents talk 0.5 s on average (log-normal) with no wrap-up, so 1,000
dials take about a minute. The figures each test computes are printed (``-s``)
and asserted; BENCHMARKS.md keeps a measured run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, Instance
from dialerd.pbx.simulator import AmiSimulator, QueueScript
from dialerd.pbx.simulator.queue import QueueFigures
from tests.pgcluster import Cluster

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SECRET = "agents-secret"
QUEUE = "callback-team"
TEAM = 5
RUN_S = 400.0  # the longest any run may take on a busy machine
CAMPAIGN = """\
name = "{name}"
contacts = ["{name}.csv"]
timezone = "Asia/Shanghai"
holidays = {{ closed = [] }}

[dialing]
max_rounds = 1
min_spacing = "1h"
ring_timeout = "5s"
max_concurrent = 50
calls_per_second = 50
channel = "PJSIP/{{number}}@carrier"
caller_id = "4006589888"
answered = {{ context = "dialerd-queue", exten = "s" }}

[pacing]
mode = "{mode}"
queue = "{queue}"

[[windows]]
days = "daily"
start = "00:00"
end = "24:00"
"""


def numbers(n: int, tenths_answered: int = 3) -> list[str]:
    """``n`` numbers: ``tenths_answered`` in ten end in 0 (a person), the rest in 1-9."""
    out = []
    for i in range(n):
        digit = 0 if i % 10 < tenths_answered else 1 + i % 9
        out.append(f"+86138{i:04d}000{digit}")
    return out


@dataclass
class Site:
    """One installation: its folder, database, simulator and daemons."""

    root: Path
    sim: AmiSimulator
    engine: Engine
    db_url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def config(self, instance_id: str) -> Path:
        host, port = self.sim.host, self.sim.port
        path = self.root / f"{instance_id}.toml"
        path.write_text(
            f"""\
instance_id = "{instance_id}"
campaigns_dir = "{self.root / "campaigns"}"
[database]
url = "{self.db_url}"
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
[log]
format = "json"
"""
        )
        return path

    def write_campaign(self, name: str, mode: str, rows: list[str]) -> None:
        folder = self.root / "campaigns"
        folder.mkdir(exist_ok=True)
        lines = "".join(f"{name}-{i},{number}\n" for i, number in enumerate(rows))
        (folder / f"{name}.csv").write_text("external_id,phone1\n" + lines)
        (folder / f"{name}.toml").write_text(CAMPAIGN.format(name=name, mode=mode, queue=QUEUE))

    def start(self, instance_id: str = "agents-1") -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DIALERD_")}
        env["DIALERD_AMI__SECRET"] = SECRET
        with (self.root / f"{instance_id}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "dialerd", "--config", str(self.config(instance_id)), "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.root,
            )
        self.procs.append(proc)
        return proc

    def events(self, instance_id: str = "agents-1") -> list[dict[str, object]]:
        text = (self.root / f"{instance_id}.log").read_text()
        return [json.loads(line) for line in text.splitlines() if line.startswith("{")]

    def outcomes(self) -> dict[str, int]:
        """Settled attempts by outcome."""
        with Session(self.engine) as s:
            q = select(Attempt.outcome, func.count()).group_by(Attempt.outcome)
            return {str(o): n for o, n in s.execute(q).all() if o is not None}

    def attempts(self) -> int:
        with Session(self.engine) as s:
            return s.execute(select(func.count()).select_from(Attempt)).scalar_one()

    def agents(self, instance_id: str, pid: int) -> dict[str, int] | None:
        """The queue's agents as daemon ``pid``'s last heartbeat reported them."""
        with Session(self.engine) as s:
            row = s.execute(
                select(Instance.status, Instance.pid).where(Instance.id == instance_id)
            ).first()
        if row is None or row.pid != pid:
            return None
        for doc in (row.status or {}).get("agents", []):
            if doc.get("queue") == QUEUE:
                return {k: v for k, v in doc.items() if k != "queue"}
        return None

    def wait_until(self, what: str, check: Callable[[], object], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            for proc in self.procs:
                assert proc.poll() is None or proc.returncode in (0, -9), f"daemon died: {what}"
            if time.monotonic() > deadline:
                logs = "".join(p.read_text()[-3000:] for p in self.root.glob("*.log"))
                raise AssertionError(f"timed out waiting for {what}; {self.outcomes()}\n{logs}")
            time.sleep(0.1)

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def _site(tmp_path: Path, db_url: str, script: QueueScript) -> Iterator[Site]:
    sim = AmiSimulator(secret=SECRET, time_scale=0.05, queues=[script])
    sim.start_in_thread()
    engine = make_engine(db_url)
    upgrade(engine)
    site = Site(tmp_path, sim, engine, db_url)
    try:
        yield site
    finally:
        for proc in site.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        sim.stop()
        engine.dispose()


TEAM_SCRIPT = QueueScript(agents=TEAM, talk_s=0.5, talk_sigma=0.5, timeout_s=2.0, seed=14)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from _site(tmp_path, f"sqlite:///{tmp_path / 'dialerd.db'}", TEAM_SCRIPT)


@pytest.fixture
def pg_site(tmp_path: Path, pg_cluster: Cluster) -> Iterator[Site]:
    name = f"agents_{os.getpid()}_{int(time.time())}"
    url = pg_cluster.create_database(name)
    try:
        yield from _site(tmp_path, url, TEAM_SCRIPT)
    finally:
        pg_cluster.drop_database(name)


@dataclass(frozen=True)
class Run:
    """A campaign's run: what the database recorded and what the queue saw."""

    outcomes: dict[str, int]
    queue: QueueFigures
    elapsed_s: float

    @property
    def abandon_rate(self) -> float:
        """abandoned / human answers (the calls that reached the queue)."""
        humans = self.queue.joined + self.queue.join_empty
        return self.outcomes.get("abandoned", 0) / humans if humans else 0.0

    @property
    def occupancy(self) -> float:
        return self.queue.occupancy(self.elapsed_s)

    def report(self, label: str) -> str:
        q = self.queue
        holds = sorted(q.hold_s) or [0.0]
        return (
            f"{label}: {sum(self.outcomes.values())} dials in {self.elapsed_s:.0f} s, "
            f"{q.joined + q.join_empty} answered by a person, {q.connected} reached an agent, "
            f"{self.outcomes.get('abandoned', 0)} abandoned ({self.abandon_rate:.1%}), "
            f"occupancy {self.occupancy:.1%}, idle {1 - self.occupancy:.1%}, "
            f"customer wait p95 {holds[int(0.95 * (len(holds) - 1))]:.2f} s"
        )


def run_campaign(site: Site, mode: str, rows: list[str], daemons: int = 1) -> Run:
    site.write_campaign("team", mode, rows)
    started = time.monotonic()
    procs = []
    for n in range(1, daemons + 1):  # one after the other: the first imports the list
        instance = f"agents-{n}"
        procs.append(site.start(instance))
        site.wait_until(f"{instance} started", partial(_started, site, instance))
    site.wait_until(
        f"{len(rows)} dials recorded",
        lambda: sum(site.outcomes().values()) >= len(rows),
        timeout=RUN_S,
    )
    elapsed = time.monotonic() - started
    for proc in procs:
        site.stop(proc)
    run = Run(site.outcomes(), site.sim.queue_figures(QUEUE), elapsed)
    print(run.report(f"{mode}, {TEAM} agents, {daemons} daemon(s)"))
    assert site.attempts() == len(rows)  # one dial per contact: nothing dialled twice
    assert run.outcomes.get("abandoned", 0) == run.queue.abandoned  # the PBX's word, recorded
    return run


def test_progressive_at_ratio_1_over_1000_dials_abandons_none(site: Site) -> None:
    run = run_campaign(site, "progressive", numbers(1000))
    assert run.queue.abandoned == 0 and run.outcomes.get("abandoned", 0) == 0
    assert run.queue.connected == run.queue.joined == 300
    # the price of never dialling ahead: the agents wait for every answer
    idle = 1 - run.occupancy
    assert 0.3 < idle < 1.0, run.report("progressive")


def test_predictive_keeps_the_abandon_rate_under_3_percent(site: Site) -> None:
    run = run_campaign(site, "predictive", numbers(1000))
    assert run.abandon_rate <= 0.03, run.report("predictive")
    assert run.queue.connected > 0 and 0 < run.occupancy <= 1.0


@pytest.mark.postgres
def test_two_daemons_on_postgresql_share_the_queue_within_the_abandon_target(
    pg_site: Site,
) -> None:
    run = run_campaign(pg_site, "predictive", numbers(600), daemons=2)
    assert run.abandon_rate <= 0.03, run.report("two daemons")
    with Session(pg_site.engine) as s:
        dialled_by = set(s.scalars(select(Attempt.instance_id).distinct()))
    assert dialled_by == {"agents-1", "agents-2"}  # both daemons dialled for the one queue


KILL_SCRIPT = QueueScript(agents=TEAM, talk_s=3600.0, timeout_s=30.0)


@pytest.fixture
def long_talks(tmp_path: Path) -> Iterator[Site]:
    yield from _site(tmp_path, f"sqlite:///{tmp_path / 'dialerd.db'}", KILL_SCRIPT)


def test_kill_9_with_agents_on_calls_then_restart(long_talks: Site) -> None:
    site = long_talks
    site.write_campaign("team", "progressive", numbers(3, tenths_answered=10))
    first = site.start()
    site.wait_until("three agents on calls", lambda: _on_calls(site) == 3)
    site.wait_until("the daemon seeing them", lambda: _talking(site, first.pid) == 3)
    first.kill()
    assert first.wait(timeout=10) == -signal.SIGKILL

    second = site.start()
    # its agents come from QueueStatus at connect: no queue event was sent since the crash
    site.wait_until("the restarted daemon's agents", lambda: _talking(site, second.pid) == 3)
    agents = site.agents("agents-1", second.pid)
    assert agents is not None and (agents["ready"], agents["waiting"]) == (TEAM - 3, 0)
    site.wait_until("the live calls adopted", lambda: _adopted(site) >= 3)
    site.sim.end_talks(QUEUE)
    site.wait_until("the three calls recorded", lambda: sum(site.outcomes().values()) == 3)
    site.stop(second)
    outcomes = site.outcomes()
    assert site.attempts() == 3 and len(site.sim.originates) == 3  # recorded once, never redialled
    assert set(outcomes) == {"answered"}, outcomes
    assert site.sim.queue_figures(QUEUE).connected == 3


def _on_calls(site: Site) -> int:
    return sum(busy for *_, busy in site.sim.agent_states(QUEUE))


def _talking(site: Site, pid: int) -> int:
    return (site.agents("agents-1", pid) or {}).get("talking", -1)


def _started(site: Site, instance_id: str) -> bool:
    return any(e["event"] == "daemon_started" for e in site.events(instance_id))


def _adopted(site: Site) -> int:
    settled = [e for e in site.events() if e["event"] == "orphans_settled"]
    return sum(int(str(e["adopted"])) for e in settled)
