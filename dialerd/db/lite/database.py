"""An SQLite file opened through ``sqlite3`` as :func:`dialerd.db.engine.make_engine` opens it.

The same pragmas (WAL, ``synchronous=NORMAL``, the busy timeout, the page cache,
foreign keys), no implicit transactions, ``BEGIN IMMEDIATE`` for a writer and a
deferred ``BEGIN`` for a reader; the folder is created when missing. The schema
check and the clock are :mod:`dialerd.db.revision`'s and :mod:`dialerd.db.clock`'s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from dialerd.db.lite.convert import utc_datetime
from dialerd.db.lite.runner import LiteRunner
from dialerd.db.revision import VERSION_TABLE, check_revision

CACHE_KIB = 65_536  # dialerd.db.engine.SQLITE_CACHE_KIB
CLOCK_SQL = "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"  # dialerd.db.clock's, for SQLite


class LiteDatabase:
    """One connection for one CLI verb; ``close`` it when done."""

    def __init__(self, path: Path, *, busy_timeout_s: float) -> None:
        busy_ms = int(busy_timeout_s * 1000)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=busy_ms / 1000, check_same_thread=False)
        try:
            conn.isolation_level = None  # no implicit BEGIN: we emit our own
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                f"busy_timeout={busy_ms}",
                f"cache_size=-{CACHE_KIB}",
                "foreign_keys=ON",
            ):
                conn.execute(f"PRAGMA {pragma}").close()
        except BaseException:
            conn.close()
            raise
        self.conn = conn

    def close(self) -> None:
        self.conn.close()

    def revision(self) -> str | None:
        """The revision the file is at, read as :func:`dialerd.db.revision.current_revision`."""
        with self.reading():
            found = self.conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?",
                (VERSION_TABLE,),
            ).fetchone()
            if found is None:
                return None
            rows = self.conn.execute(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
        return ",".join(sorted(row[0] for row in rows)) or None

    def require_current(self) -> None:
        check_revision(self.revision())

    def now(self) -> datetime:
        """The database's time, read outside any transaction."""
        row = self.conn.execute(CLOCK_SQL).fetchone()
        moment = utc_datetime(row[0])
        assert moment is not None
        return moment

    @contextmanager
    def writing(self) -> Iterator[LiteRunner]:
        """A write transaction (``BEGIN IMMEDIATE``): committed, or rolled back on an error."""
        with self._transaction("BEGIN IMMEDIATE") as runner:
            yield runner

    @contextmanager
    def reading(self) -> Iterator[LiteRunner]:
        """A read transaction (deferred ``BEGIN``: it takes no write lock)."""
        with self._transaction("BEGIN") as runner:
            yield runner

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[LiteRunner]:
        self.conn.execute(begin)
        try:
            yield LiteRunner(self.conn)
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")
