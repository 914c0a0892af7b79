"""Every agent paused (示忙): the next tick starts no dial; unpaused (示闲): dialling resumes.

The engine (dispatcher, result writer, the production AMI adapter) drives the AMI
simulator's queue of five agents; the test ticks the dispatcher itself, so "within
one tick" is exactly the next ``tick()`` after the daemon saw the pauses.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dialerd.app import assemble
from dialerd.campaignfile.loader import load_file
from dialerd.db import tables
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.domain.pacing.floor import AgentState
from dialerd.engine import limits
from dialerd.engine.campaigns import import_lists, runtime_from
from dialerd.engine.parts import Parts
from dialerd.engine.registry import register
from dialerd.pbx.simulator import AmiSimulator, QueueScript
from dialerd.settings import AmiSettings
from tests.enginekit import rig_settings, write_campaign

pytestmark = pytest.mark.slow
SECRET = "s3cret"
QUEUE = "callback-team"
TEAM = 5
DEADLINE_S = 60.0
PACING = f'[pacing]\nmode = "progressive"\nqueue = "{QUEUE}"\n'


def _until(check: Callable[[], object], tick: Callable[[], object] = lambda: None) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        tick()
        time.sleep(0.02)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[tuple[AmiSimulator, Parts]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine)
    rows = [f"c{i},客户{i},+86138{i:07d}0" for i in range(200)]  # all answered by a person
    path = write_campaign(tmp_path, rows, max_concurrent=50, extra=PACING)
    text = path.read_text().replace('ring_timeout = "30s"', 'ring_timeout = "5s"')
    path.write_text(text.replace('"dialerd-answered"', '"dialerd-queue"'))
    loaded = load_file(path)
    sim = AmiSimulator(
        secret=SECRET, time_scale=0.05, queues=[QueueScript(agents=TEAM, talk_s=0.2, seed=3)]
    )
    host, port = sim.start_in_thread()
    ami = AmiSettings(host=host, port=port, secret=SecretStr(SECRET), settle_grace_s=1.0)
    parts = assemble(rig_settings("pause-test").model_copy(update={"ami": ami}), database=engine)
    with Session(engine) as s:
        row, _ = register(s, loaded, now=parts.clock.now(), actor="test")
        s.commit()
        cid = row.id
    import_lists(engine, loaded, cid, now=parts.clock.now(), actor="test")
    runtime = runtime_from(loaded, cid)
    parts.runtimes[cid] = runtime
    parts.telephony.start(parts.writer.submit)
    parts.writer.start()
    _until(lambda: parts.telephony.floor(QUEUE) is not None)
    parts.dispatcher.set_campaigns({cid: runtime})
    yield sim, parts
    parts.telephony.close()
    parts.writer.stop()
    sim.stop()
    engine.dispose()


def _dials_in_flight(parts: Parts) -> int:
    with parts.database.connect() as conn:
        return sum(limits.in_flight(conn, "any").by_campaign.values())


def _dials_made(parts: Parts) -> int:
    with parts.database.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(tables.attempts)).scalar_one())


def _count(parts: Parts, state: AgentState) -> int:
    floor = parts.telephony.floor(QUEUE)
    return floor.count(state) if floor is not None else -1


def test_every_agent_paused_stops_dialling_at_the_next_tick_and_unpausing_resumes(
    desk: tuple[AmiSimulator, Parts],
) -> None:
    sim, parts = desk
    dispatcher = parts.dispatcher
    _until(lambda: len(sim.originates) >= 20, dispatcher.tick)  # the team at work
    sim.pause_agents(QUEUE, range(1, TEAM + 1), paused=True, reason="meeting")
    _until(lambda: _count(parts, AgentState.PAUSED) == TEAM)  # the daemon saw the pauses
    # the adapter's writer thread sends what a tick originated: every dial made so far on
    # the wire to the PBX before it is counted
    _until(lambda: len(sim.originates) == _dials_made(parts))
    dialled = len(sim.originates)
    report = dispatcher.tick()
    assert report.claimed == 0 and len(sim.originates) == dialled  # not one new dial
    # the calls in flight end; still nothing is dialled while the team is paused
    _until(lambda: parts.telephony.in_flight() == 0, dispatcher.tick)
    assert len(sim.originates) == dialled

    _until(lambda: _dials_in_flight(parts) == 0)  # every result written
    sim.pause_agents(QUEUE, range(1, TEAM + 1), paused=False)
    _until(lambda: _count(parts, AgentState.READY) == TEAM)
    report = dispatcher.tick()
    assert report.claimed == TEAM  # progressive at ratio 1: one dial per ready agent
    _until(lambda: len(sim.originates) == dialled + TEAM)
