"""The result writer under database failures: nothing lost, no dial meanwhile, recovery.

Outages are injected into the writer thread's statements (both backends), made
real with an SQLite lock held past the busy timeout, and with PostgreSQL stopped
and started on a throwaway cluster of its own.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from structlog.testing import capture_logs

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt
from dialerd.engine.spill import Spill, decode, encode
from dialerd.engine.writer import ResultWriter
from dialerd.settings import ResultsSettings
from tests.dbfaults import Outage, wait_for
from tests.enginekit import Rig, make_rig, write_campaign
from tests.pgcluster import start_cluster


def _rows(n: int) -> list[str]:
    return [f"c{i},n{i},1380013{i:03d}0" for i in range(n)]  # last digit 0: answered


def _fast(spill_dir: Path, **kw: object) -> ResultsSettings:
    return ResultsSettings(spill_dir=spill_dir, retry_min_s=0.01, retry_max_s=0.05, **kw)


def _outcomes(engine: Engine) -> list[tuple[str, str | None]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Attempt.status, Attempt.outcome))]  # type: ignore[misc]


def _end_calls(rig: Rig) -> None:
    """Every call in flight ends; its result goes to the writer's sink."""
    rig.clock.advance(timedelta(minutes=5))
    rig.pbx.deliver_until(rig.clock.now())


def _survives_outage(
    rig: Rig,
    engine: Engine,
    fail: Callable[[], object],
    restore: Callable[[], object],
    during: Callable[[], object] = lambda: None,
    reader: Engine | None = None,
) -> None:
    """Dial 3, fail the database, end the calls, check the hold, restore, check the results.

    ``reader`` reads the attempts during the outage (None: the database cannot be read).
    """
    assert rig.step() == 3
    fail()
    rig.writer.start()
    _end_calls(rig)
    wait_for("the writer to hold the dispatcher", lambda: rig.writer.hold_reason() is not None)
    with capture_logs() as logs:
        assert [rig.dispatcher.tick().sent for _ in range(3)] == [0, 0, 0]
    assert [e["event"] for e in logs].count("dispatch_held") == 1  # logged once
    assert len(rig.pbx.originated) == 3
    assert rig.writer.pending() == 3
    assert rig.supervisor.worker("results").trouble is not None
    assert rig.supervisor.check() is None  # retrying, not dead
    if reader is not None:
        assert _outcomes(reader) == [("dialing", None)] * 3
    during()

    restore()
    wait_for(
        "the results written",
        lambda: rig.writer.pending() == 0 and rig.writer.hold_reason() is None,
    )
    assert sorted(_outcomes(engine)) == [("done", "answered")] * 3
    assert rig.supervisor.worker("results").trouble is None
    assert rig.dispatcher.tick().sent == 3  # dialling resumes
    assert rig.writer.stop() == 0


def test_an_outage_loses_no_result_starts_no_dial_and_recovers(
    engine: Engine, tmp_path: Path
) -> None:
    rig = make_rig(
        engine,
        write_campaign(tmp_path, _rows(6), max_concurrent=3),
        results=_fast(tmp_path / "state"),
    )
    outage = Outage(engine)
    try:
        _survives_outage(
            rig,
            engine,
            lambda: setattr(outage, "on", True),
            lambda: setattr(outage, "on", False),
            during=lambda: wait_for("three tries", lambda: outage.failures >= 3),
            reader=engine,
        )
    finally:
        outage.close()
    assert not list((tmp_path / "state").glob("*.jsonl"))


def test_a_sqlite_lock_held_past_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "dialerd.db"
    engine = make_engine(f"sqlite:///{path}", busy_timeout_s=0.05)
    upgrade(engine)
    rig = make_rig(
        engine,
        write_campaign(tmp_path, _rows(6), max_concurrent=3),
        results=_fast(tmp_path / "state"),
    )
    blocker = sqlite3.connect(path, isolation_level=None)
    reader = make_engine(f"sqlite:///{path}", read_only=True)  # WAL: reads pass the lock
    try:
        _survives_outage(
            rig,
            engine,
            lambda: blocker.execute("BEGIN IMMEDIATE"),
            lambda: blocker.execute("COMMIT"),
            reader=reader,
        )
    finally:
        blocker.close()
        reader.dispose()
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
def test_postgresql_stopped_and_started(tmp_path: Path) -> None:
    cluster = start_cluster()
    if cluster is None:
        pytest.skip("PostgreSQL is not installed")
    engine = make_engine(cluster.create_database(f"t_{uuid.uuid4().hex[:12]}"))
    try:
        upgrade(engine)
        rig = make_rig(
            engine,
            write_campaign(tmp_path, _rows(6), max_concurrent=3),
            results=_fast(tmp_path / "state"),
        )
        _survives_outage(rig, engine, cluster.stop_server, cluster.start_server)
    finally:
        engine.dispose()
        cluster.stop()


def _spill_lines(folder: Path) -> list[str]:
    return [line for p in sorted(folder.glob("*.jsonl")) for line in p.read_text().splitlines()]


def test_spilled_results_survive_a_restart_and_are_replayed_once(
    engine: Engine, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    rig = make_rig(
        engine,
        write_campaign(tmp_path, _rows(5), max_concurrent=5),
        results=_fast(state, queue_max=2),
        instance_id="a",
    )
    assert rig.step() == 5
    outage = Outage(engine)
    outage.on = True
    rig.writer.start()
    _end_calls(rig)
    assert len(_spill_lines(state)) == 3  # past the bound of 2 in memory
    wait_for("the writer to hold the dispatcher", lambda: rig.writer.hold_reason() is not None)
    assert rig.writer.stop() == 5  # stopped during the outage: everything is in the file
    outage.close()
    spilled = [decode(line) for line in _spill_lines(state)]
    assert sorted(r.key for r in spilled) == sorted(r.key for r in rig.pbx.originated)
    assert _outcomes(engine) == [("dialing", None)] * 5

    # the next start: a new writer replays the file, then removes it
    runtimes = {rig.runtime.id: rig.runtime}.get
    after = ResultWriter(engine, rig.clock, runtimes, spill=Spill(state, "b"))
    assert after.replay() == 5
    assert sorted(_outcomes(engine)) == [("done", "answered")] * 5
    assert _spill_lines(state) == []
    assert after.stop() == 0

    # the same results again (a crash before the file was removed): nothing re-applied
    with engine.connect() as conn:
        before = conn.execute(select(Attempt.__table__).order_by(Attempt.id)).all()
    state.joinpath("results-old.jsonl").write_text("".join(encode(r) + "\n" for r in spilled))
    again = ResultWriter(engine, rig.clock, runtimes, spill=Spill(state, "c"))
    assert again.replay() == 5
    with engine.connect() as conn:
        assert conn.execute(select(Attempt.__table__).order_by(Attempt.id)).all() == before
        assert conn.scalar(select(func.count()).select_from(Attempt)) == 5
    assert _spill_lines(state) == []
    assert again.replay() == 0  # replayed exactly once
