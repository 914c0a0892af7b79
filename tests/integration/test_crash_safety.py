"""A daemon that dies mid-call: its dials are interrupted, never lost, never redialled early."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, select

from dialerd.db.models import Attempt, PhoneNumber
from dialerd.engine.reconcile import settle_orphans
from tests.enginekit import Rig, make_rig, write_campaign

BUSY = "1380013800{}"


def test_orphaned_dials_are_interrupted_and_spaced(engine: Engine, tmp_path: Path) -> None:
    rows = [f"c{i},n{i},{BUSY.format(i)}" for i in range(3)]
    dead = make_rig(engine, write_campaign(tmp_path, rows), instance_id="dead-1")
    assert dead.step() == 3  # dialled; the daemon then "dies": no result ever comes back
    crash = dead.clock.now()
    later = crash + timedelta(minutes=5)
    with engine.begin() as conn:
        adopted, interrupted = settle_orphans(
            conn,
            instance_id="fresh-2",
            alive=set(),
            live_keys=set(),
            runtime_for={dead.runtime.id: dead.runtime}.get,
            adopt=None,
            now=later,
        )
    assert (adopted, interrupted) == (0, 3)
    with engine.connect() as conn:
        attempts = conn.execute(select(Attempt.__table__)).all()
        queued = conn.execute(select(PhoneNumber.next_dial_at)).scalars().all()
    assert {(a.status, a.outcome, a.bucket) for a in attempts} == {
        ("done", "interrupted", "not_counted")
    }
    assert all(q is not None and q >= crash + timedelta(hours=6) for q in queued)
    # a live call is adopted, not interrupted
    live = make_rig(
        engine, write_campaign(tmp_path / "b", ["d1,x,13800138010"], name="b"), instance_id="dead-3"
    )
    assert live.step() == 1
    (key,) = [r.key for r in live.pbx.originated]
    adopted_keys: list[str] = []
    with engine.begin() as conn:
        result = settle_orphans(
            conn,
            instance_id="fresh-2",
            alive=set(),
            live_keys={key},
            runtime_for={live.runtime.id: live.runtime}.get,
            adopt=lambda k, _id: adopted_keys.append(k),
            now=later,
        )
    assert result == (1, 0) and adopted_keys == [key]


def test_two_daemons_never_dial_one_number_twice(engine: Engine, tmp_path: Path) -> None:
    rows = [f"c{i},n{i},1380013{i:04d}" for i in range(200)]
    path = write_campaign(tmp_path, rows, max_concurrent=500, calls_per_second=1000)
    a = make_rig(engine, path, instance_id="a")
    b = make_rig(engine, path, instance_id="b")
    b.clock = a.clock

    deadline = time.monotonic() + 30

    def run(rig: Rig) -> None:
        # tick until every contact is dialled: a daemon that finds the campaign locked
        # by the other one skips that tick, so a fixed number of ticks may not be enough
        while len(a.pbx.originated) + len(b.pbx.originated) < 200:
            assert time.monotonic() < deadline
            rig.step()
            time.sleep(0.001)

    threads = [threading.Thread(target=run, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    keys = [r.key for r in a.pbx.originated + b.pbx.originated]
    numbers = [r.number for r in a.pbx.originated + b.pbx.originated]
    assert len(keys) == len(set(keys)) == 200
    assert len(numbers) == len(set(numbers))
