"""The engine end to end over TCP: dispatcher, AMI adapter (pyst2) and the AMI simulator.

Every outcome the simulator plays comes back classified; a connection killed in
the middle of a campaign loses no dial and doubles none, and dialling resumes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, Row, select
from sqlalchemy.orm import Session

from dialerd.app import assemble
from dialerd.campaignfile.loader import load_file
from dialerd.db import tables
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.domain.ports import Telephony
from dialerd.engine.campaigns import import_lists, runtime_from
from dialerd.engine.dispatcher import Dispatcher
from dialerd.engine.registry import register
from dialerd.engine.writer import ResultWriter
from dialerd.pbx.simulator import AmiSimulator, Faults
from dialerd.settings import AmiSettings
from tests.enginekit import rig_settings, write_campaign
from tests.recordings import LAST_DIGIT_OUTCOMES

pytestmark = pytest.mark.slow
SECRET = "s3cret"
WAIT_S = 60.0  # any wait on what should come: generous, the machine may be busy


@dataclass
class Live:
    engine: Engine
    sim: AmiSimulator
    pbx: Telephony
    writer: ResultWriter
    dispatcher: Dispatcher

    def run_until(self, done: Callable[[], bool], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            assert time.monotonic() < deadline, "timed out"
            self.dispatcher.tick()
            time.sleep(0.05)

    def attempts(self) -> list[Row[Any]]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(tables.attempts)).all())


@pytest.fixture
def live(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Live]]:
    made: list[Live] = []

    def make(
        rows: list[str],
        *,
        faults: Faults | None = None,
        time_scale: float = 0.05,
        max_concurrent: int = 20,
        wait_up: bool = True,
    ) -> Live:
        engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
        upgrade(engine)
        path = write_campaign(
            tmp_path, rows, max_concurrent=max_concurrent, dialing='early_hangup = "1s"\n'
        )
        path.write_text(path.read_text().replace('ring_timeout = "30s"', 'ring_timeout = "5s"'))
        loaded = load_file(path)
        sim = AmiSimulator(
            secret=SECRET,
            time_scale=time_scale,
            faults=faults or Faults(),
            login_fail_delay_s=0.1,
        )
        host, port = sim.start_in_thread()
        settings = rig_settings("ami-test", calls_per_second=200).model_copy(
            update={
                "ami": AmiSettings(
                    host=host,
                    port=port,
                    secret=SecretStr(SECRET),
                    ping_interval_s=0.5,
                    action_timeout_s=5,  # a busy machine's slow reply drops no link
                    reconnect_min_s=0.1,
                    reconnect_max_s=0.5,
                    settle_grace_s=1.0,
                )
            }
        )
        parts = assemble(settings, database=engine)
        clock, pbx, writer, dispatcher = (
            parts.clock,
            parts.telephony,
            parts.writer,
            parts.dispatcher,
        )
        with Session(engine) as s:
            row, _ = register(s, loaded, now=clock.now(), actor="test")
            s.commit()
            cid = row.id
        import_lists(engine, loaded, cid, now=clock.now(), actor="test")
        runtime = runtime_from(loaded, cid)
        parts.runtimes[cid] = runtime
        pbx.start(writer.submit)
        writer.start()
        deadline = time.monotonic() + WAIT_S
        while wait_up and not pbx.is_up():
            assert time.monotonic() < deadline, "AMI never came up"
            time.sleep(0.02)
        dispatcher.set_campaigns({cid: runtime})
        made.append(Live(engine, sim, pbx, writer, dispatcher))
        return made[-1]

    yield make
    for m in made:
        m.pbx.close()
        m.writer.stop()
        m.sim.stop()
        m.engine.dispose()


EXPECTED = LAST_DIGIT_OUTCOMES


FAULTS = {
    "none": Faults(),
    "garbage-and-unknown-events": Faults(junk_rate=0.3, seed=5),
    "delayed-events": Faults(event_delay_s=0.3),
    "interleaved-events": Faults(interleave=True),
}


@pytest.mark.timeout(90)  # run_until allows 60 s
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_simulated_outcome_is_classified(live: Callable[..., Live], fault: str) -> None:
    rig = live([f"c{d},n{d},1380013800{d}" for d in EXPECTED], faults=FAULTS[fault])
    rig.run_until(lambda: sum(a.status == "done" for a in rig.attempts()) >= 10, 60)
    got = {a.number[-1]: a.outcome for a in rig.attempts() if a.round == 1}
    assert got == EXPECTED
    assert len(rig.sim.originates) == 10


@pytest.mark.timeout(180)  # run_until allows 120 s
def test_connection_killed_mid_campaign_loses_and_doubles_nothing(
    live: Callable[..., Live],
) -> None:
    rows = [f"c{i},n{i},13800{i:05d}0" for i in range(60)]  # every callee answers
    rig = live(rows, faults=Faults(drop_after_originates=15), time_scale=0.3, max_concurrent=10)
    # run until every contact has had one dial recorded, whatever its result
    rig.run_until(lambda: sum(a.status == "done" for a in rig.attempts()) >= 60, 120)
    originated = [o.action_id for o in rig.sim.originates]
    attempts = rig.attempts()
    by_key = {a.key: a for a in attempts}
    # no dial doubled: every Originate is a distinct key with exactly one attempt row
    assert len(originated) == len(set(originated))
    assert set(originated) <= set(by_key)
    # no dial lost: each has its result, or is recorded interrupted (not counted)
    assert all(by_key[k].status == "done" and by_key[k].outcome for k in originated)
    sent = Counter(by_key[k].outcome for k in originated)
    assert set(sent) <= {"answered", "interrupted"}, sent
    # dials the simulator never took (refused as the link went down, or written into
    # the dying socket) are our failure or interrupted: not counted, and due again
    # only after the minimum spacing
    unsent = [a for a in attempts if a.key not in set(originated)]
    assert all(a.outcome in {"internal_failure", "interrupted"} for a in unsent), unsent
    assert all(a.bucket == "not_counted" for a in unsent)
    assert all(a.next_dial_at - a.claimed_at >= timedelta(hours=6) for a in unsent)
    # every contact had exactly one dial, and dialling resumed after the reconnect
    assert sorted(a.contact_id for a in attempts) == list(range(1, 61))
    assert len(rig.sim.sessions) >= 2
    assert sent["answered"] >= 45, sent
    print(
        f"originated {len(originated)}, not sent {len(unsent)}, "
        f"sessions {len(rig.sim.sessions)}, {dict(sent)}"
    )


@pytest.mark.timeout(150)  # the two run_until allow 60 s each
def test_no_dial_while_the_login_is_rejected(live: Callable[..., Live]) -> None:
    rig = live(["c0,n0,13800138000"], faults=Faults(reject_login=True), wait_up=False)
    # the dispatcher ticks through two rejected logins (however long they take)
    rig.run_until(lambda: len(rig.sim.sessions) >= 2, WAIT_S)
    assert not rig.pbx.is_up()
    assert rig.attempts() == [] and rig.sim.originates == []
    rig.sim.faults.reject_login = False  # the admin fixes the secret; the backoff retries
    rig.run_until(lambda: any(a.status == "done" for a in rig.attempts()), WAIT_S)
    assert [a.outcome for a in rig.attempts()] == ["answered"]
