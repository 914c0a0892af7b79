"""The daemon when a worker dies for good: it stops with exit 70 and stops feeding the watchdog."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from dialerd.app import assemble
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt
from dialerd.domain.clock import VirtualClock
from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.engine.daemon import Daemon
from dialerd.engine.parts import Parts
from dialerd.pbx.virtual import VirtualPbx
from dialerd.process.notify import Notifier
from dialerd.process.signals import SignalRouter
from dialerd.process.supervisor import EXIT_WORKER_FAILED
from dialerd.settings import AgiSettings, ResultsSettings, SchedulerSettings, Settings
from tests.dbfaults import Outage
from tests.enginekit import MONDAY_10, make_rig, write_campaign


class RecordingNotifier(Notifier):
    """systemd's side: every message, in order; ``hook`` runs once, when ``when`` goes out."""

    def __init__(self, hook: Callable[[], None], when: str) -> None:
        super().__init__(environ={})
        self.messages: list[str] = []
        self._hook: Callable[[], None] | None = hook
        self._when = when

    def notify(self, message: str) -> bool:
        self.messages.append(message)
        if message == self._when and self._hook is not None:
            hook, self._hook = self._hook, None
            hook()
        return True


def _daemon(
    engine: Engine, tmp_path: Path, hook: Callable[[Parts], None], when: str = "READY=1"
) -> Daemon:
    (tmp_path / "campaigns").mkdir(exist_ok=True)
    settings = Settings(
        instance_id="failing-1",
        campaigns_dir=tmp_path / "campaigns",
        agi=AgiSettings(enabled=False),
        scheduler=SchedulerSettings(tick_s=0.05, heartbeat_s=0.5),
        results=ResultsSettings(
            spill_dir=tmp_path / "state", retry_min_s=0.01, retry_max_s=0.05, give_up_s=0.3
        ),
    )
    clock = VirtualClock(MONDAY_10)
    holder: list[Parts] = []
    notifier = RecordingNotifier(lambda: hook(holder[0]), when)
    parts = assemble(
        settings, clock=clock, notifier=notifier, telephony=VirtualPbx(clock), database=engine
    )
    holder.append(parts)
    return Daemon(parts)


def _run(daemon: Daemon) -> int:
    """``Daemon.run`` on another thread, with a generous bound."""
    status: list[int] = []
    thread = threading.Thread(target=lambda: status.append(daemon.run(SignalRouter())))
    thread.start()
    thread.join(120)
    assert status, "the daemon did not stop"
    return status[0]


def _after_failure(messages: list[str]) -> list[str]:
    failed = next(i for i, m in enumerate(messages) if m.startswith("STATUS=failed: "))
    return messages[failed:]


def test_a_writer_that_gives_up_stops_the_daemon_and_the_watchdog(
    engine: Engine, tmp_path: Path
) -> None:
    outage = Outage(engine)  # only the writer's statements fail

    def fail_the_writer(parts: Parts) -> None:
        outage.on = True
        parts.writer.submit(DialResult(key="k-1", attempt_id=1, signals=PbxSignals()))

    daemon = _daemon(engine, tmp_path, fail_the_writer, when="WATCHDOG=1")  # once healthy
    try:
        assert _run(daemon) == EXIT_WORKER_FAILED
    finally:
        outage.close()
    assert daemon.failure is not None and daemon.failure.worker == "results"
    assert "still failing after 0.3s" in daemon.failure.reason
    messages = daemon.notifier.messages  # type: ignore[attr-defined]
    assert "WATCHDOG=1" not in _after_failure(messages)
    assert not daemon.supervisor.healthy()
    # the result it held is in the spill file for the next start
    (spilled,) = (tmp_path / "state").glob("results-*.jsonl")
    assert '"key": "k-1"' in spilled.read_text()


def test_a_crashed_writer_thread_stops_the_daemon(engine: Engine, tmp_path: Path) -> None:
    bug = Outage(engine, error=lambda _statement, _params: RuntimeError("a bug"))

    def crash(parts: Parts) -> None:
        bug.on = True
        parts.writer.submit(DialResult(key="k-2", attempt_id=2, signals=PbxSignals()))

    daemon = _daemon(engine, tmp_path, crash)
    try:
        assert _run(daemon) == EXIT_WORKER_FAILED
    finally:
        bug.close()
    assert daemon.failure is not None and daemon.failure.worker == "results"
    assert "RuntimeError: a bug" in daemon.failure.reason


def test_the_sqlite_file_deleted_under_the_daemon(tmp_path: Path) -> None:
    path = tmp_path / "dialerd.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    daemon = _daemon(engine, tmp_path, lambda _parts: path.unlink())
    try:
        assert _run(daemon) == EXIT_WORKER_FAILED
    finally:
        engine.dispose()
    assert daemon.failure is not None and daemon.failure.worker == "database file"
    assert daemon.failure.reason == f"{path}: the database file was deleted"
    assert "WATCHDOG=1" not in _after_failure(daemon.notifier.messages)  # type: ignore[attr-defined]


def test_the_sqlite_file_replaced_under_the_daemon(tmp_path: Path) -> None:
    path = tmp_path / "dialerd.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)

    def replace(_parts: Parts) -> None:
        path.rename(tmp_path / "moved.db")
        path.write_bytes(b"")

    daemon = _daemon(engine, tmp_path, replace)
    try:
        assert _run(daemon) == EXIT_WORKER_FAILED
    finally:
        engine.dispose()
    assert daemon.failure is not None
    assert daemon.failure.reason == f"{path}: the database file was replaced by another file"


def test_a_gone_peers_dials_wait_for_its_heartbeats_and_its_restart(
    engine: Engine, tmp_path: Path
) -> None:
    """No daemon beats while the database is away: right after, every peer looks gone."""
    peer = make_rig(engine, write_campaign(tmp_path / "peer", _ANSWERED), instance_id="peer-1")
    assert peer.step() == 2  # the peer never beats: to a reaper it is gone
    daemon = _daemon(engine, tmp_path, lambda _parts: None)
    daemon._all_runtimes[peer.runtime.id] = peer.runtime
    ticker = [1000.0]
    daemon.supervisor.monotonic = lambda: ticker[0]

    def outage() -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    daemon._supervised("heartbeat", outage)
    daemon._supervised("heartbeat", lambda: None)  # the database is back
    daemon.reap()
    assert _statuses(engine) == ["dialing", "dialing"]  # deferred: the peer may be alive
    ticker[0] += 4 * daemon.settings.scheduler.heartbeat_s
    daemon.reap()  # it had its chance to beat: gone, seen so for the first time
    assert _statuses(engine) == ["dialing", "dialing"]  # it may restart and replay its spill
    ticker[0] += daemon.settings.scheduler.peer_grace_s
    daemon.reap()
    assert _statuses(engine) == ["done", "done"]  # interrupted, to be dialled again
    daemon.writer.stop()


_ANSWERED = ["c1,a,13800138000", "c2,b,13800138010"]


def _statuses(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(Attempt.status).order_by(Attempt.id)).scalars())
