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

import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, Instance
from dialerd.pbx.simulator import QueueScript
from dialerd.pbx.simulator.queue import QueueFigures
from tests.pgcluster import Cluster
from tests.servicekit import Daemon, Site, make_site, simulator

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

QUEUE = "callback-team"
TEAM = 5
RUN_S = 400.0  # the longest any run may take on a busy machine
QUEUE_ANSWERED = '{ context = "dialerd-queue", exten = "s" }'
PACING = """
[pacing]
mode = "{mode}"
queue = "{queue}"
"""


def numbers(n: int, tenths_answered: int = 3) -> list[str]:
    """``n`` numbers: ``tenths_answered`` in ten end in 0 (a person), the rest in 1-9."""
    out = []
    for i in range(n):
        digit = 0 if i % 10 < tenths_answered else 1 + i % 9
        out.append(f"+86138{i:04d}000{digit}")
    return out


def write_campaign(site: Site, name: str, mode: str, rows: list[str]) -> Path:
    """One round of ``rows``, 5 s of ring, paced by ``mode`` for the team's queue."""
    return site.write_campaign(
        name,
        [f"{name}-{i},{number}\n" for i, number in enumerate(rows)],
        concurrent=50,
        per_second=50,
        answered=QUEUE_ANSWERED,
        ring_timeout="5s",
        max_rounds=1,
        tables=PACING.format(mode=mode, queue=QUEUE),
    )


def outcomes(site: Site) -> dict[str, int]:
    """Settled attempts by outcome."""
    with Session(site.engine) as s:
        q = select(Attempt.outcome, func.count()).group_by(Attempt.outcome)
        return {str(o): n for o, n in s.execute(q).all() if o is not None}


def agents(site: Site, instance_id: str, pid: int) -> dict[str, int] | None:
    """The queue's agents as daemon ``pid``'s last heartbeat reported them."""
    with Session(site.engine) as s:
        row = s.execute(
            select(Instance.status, Instance.pid).where(Instance.id == instance_id)
        ).first()
    if row is None or row.pid != pid:
        return None
    for doc in (row.status or {}).get("agents", []):
        if doc.get("queue") == QUEUE:
            return {k: v for k, v in doc.items() if k != "queue"}
    return None


def wait_alive(site: Site, what: str, check: Callable[[], object], timeout: float = 60.0) -> None:
    """:meth:`Site.wait_until`, failing at once when a daemon died (other than by SIGKILL)."""

    def alive_and(check: Callable[[], object]) -> object:
        for d in site.daemons:
            code = d.proc.poll()
            assert code is None or code in (0, -9), f"daemon died: {what}"
        return check()

    site.wait_until(what, partial(alive_and, check), timeout)


def stop(daemon: Daemon) -> None:
    assert daemon.stop() == 0


def _site(root: Path, script: QueueScript, db: tuple[Engine, str] | None) -> Iterator[Site]:
    with make_site(root, simulator(time_scale=0.05, queues=[script]), database=db) as site:
        yield site


TEAM_SCRIPT = QueueScript(agents=TEAM, talk_s=0.5, talk_sigma=0.5, timeout_s=2.0, seed=14)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from _site(tmp_path, TEAM_SCRIPT, None)


@pytest.fixture
def pg_site(tmp_path: Path, pg_cluster: Cluster) -> Iterator[Site]:
    name = f"agents_{os.getpid()}_{int(time.time())}"
    url = pg_cluster.create_database(name)
    engine = make_engine(url)
    try:
        upgrade(engine)
        yield from _site(tmp_path, TEAM_SCRIPT, (engine, url))
    finally:
        engine.dispose()
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
    path = write_campaign(site, "team", mode, rows)
    if daemons > 1:
        # paused until every daemon runs: a slow start must not let the first one dial the
        # whole list before the others are up
        for verb in (("campaign", "load", str(path)), ("campaign", "pause", "team")):
            done = site.cli(*verb)
            assert done.returncode == 0, done.stdout + done.stderr
    started = time.monotonic()
    running = []
    for n in range(1, daemons + 1):  # one after the other: the first imports the list
        instance = f"agents-{n}"
        running.append(site.start(instance))
        wait_alive(site, f"{instance} started", partial(_started, running[-1]))
    if daemons > 1:
        for daemon in running:
            site.beats_after(daemon.instance, 1)
        resumed = site.cli("campaign", "resume", "team")
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
        started = time.monotonic()
    wait_alive(
        site,
        f"{len(rows)} dials recorded",
        lambda: sum(outcomes(site).values()) >= len(rows),
        timeout=RUN_S,
    )
    elapsed = time.monotonic() - started
    for daemon in running:
        stop(daemon)
    run = Run(outcomes(site), site.sim.queue_figures(QUEUE), elapsed)
    print(run.report(f"{mode}, {TEAM} agents, {daemons} daemon(s)"))
    assert site.count(Attempt) == len(rows)  # one dial per contact: nothing dialled twice
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
    yield from _site(tmp_path, KILL_SCRIPT, None)


def test_kill_9_with_agents_on_calls_then_restart(long_talks: Site) -> None:
    site = long_talks
    write_campaign(site, "team", "progressive", numbers(3, tenths_answered=10))
    first = site.start("agents-1")
    wait_alive(site, "three agents on calls", lambda: _on_calls(site) == 3)
    wait_alive(site, "the daemon seeing them", lambda: _talking(site, first.proc.pid) == 3)
    first.proc.kill()
    assert first.proc.wait(timeout=10) == -signal.SIGKILL

    second = site.start("agents-1")
    # its agents come from QueueStatus at connect: no queue event was sent since the crash
    wait_alive(site, "the restarted daemon's agents", lambda: _talking(site, second.proc.pid) == 3)
    team = agents(site, "agents-1", second.proc.pid)
    assert team is not None and (team["ready"], team["waiting"]) == (TEAM - 3, 0)
    wait_alive(site, "the live calls adopted", lambda: site.adopted() >= 3)
    site.sim.end_talks(QUEUE)
    wait_alive(site, "the three calls recorded", lambda: sum(outcomes(site).values()) == 3)
    stop(second)
    recorded = outcomes(site)
    # recorded once, never redialled
    assert site.count(Attempt) == 3 and len(site.sim.originates) == 3
    assert set(recorded) == {"answered"}, recorded
    assert site.sim.queue_figures(QUEUE).connected == 3


def _on_calls(site: Site) -> int:
    return sum(busy for *_, busy in site.sim.agent_states(QUEUE))


def _talking(site: Site, pid: int) -> int:
    return (agents(site, "agents-1", pid) or {}).get("talking", -1)


def _started(daemon: Daemon) -> bool:
    return any(e["event"] == "daemon_started" for e in daemon.events())
