"""SQLite behaviour the daemon relies on: WAL, foreign keys, and readers that never block it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade

_INSERT = text(
    "INSERT INTO instances (id, hostname, pid, version, started_at, heartbeat_at, pbx_kind, "
    "pbx_up, in_flight) VALUES ('d1', 'h', 1, 'v', '2026-01-01', '2026-01-01', 'ami', 0, 0)"
)


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'd.db'}")  # the folder is created
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000


def test_a_long_report_never_holds_the_daemons_write_lock(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'd.db'}"
    writer = make_engine(url)
    upgrade(writer)
    reader = make_engine(url, read_only=True)
    with reader.begin() as report:
        report.execute(text("SELECT count(*) FROM attempts")).scalar()
        with writer.begin() as daemon:
            daemon.exec_driver_sql("PRAGMA busy_timeout=200")  # fail fast if the lock were held
            daemon.execute(_INSERT)
