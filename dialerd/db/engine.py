"""Engine and session factory, with the same transactional behaviour on SQLite and PostgreSQL.

SQLite: WAL, a busy timeout, foreign keys on, and ``BEGIN IMMEDIATE`` for every
transaction so the single writer takes its lock up front (no SQLITE_BUSY on upgrade).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CACHE_KIB = 65_536  # per connection: a million-contact queue index stays in memory


def make_engine(
    url: str, *, read_only: bool = False, busy_timeout_s: float | None = None, **kwargs: Any
) -> Engine:
    """Create an engine for ``url``; creates the SQLite file's folder when needed.

    ``read_only`` (reports, exports, status): on SQLite its transactions begin
    deferred, so a long read never holds the write lock the daemon needs (WAL lets
    readers and the writer run side by side). ``busy_timeout_s`` (SQLite): how long
    to wait for another connection's lock; default ``SQLITE_BUSY_TIMEOUT_MS``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        busy_ms = SQLITE_BUSY_TIMEOUT_MS if busy_timeout_s is None else int(busy_timeout_s * 1000)
        return _sqlite_engine(url, parsed.database, read_only=read_only, busy_ms=busy_ms, **kwargs)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_engine(
    url: str, database: str | None, *, read_only: bool, busy_ms: int, **kwargs: Any
) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": busy_ms / 1000, "check_same_thread": False},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # no implicit BEGIN: we emit our own
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """ORM sessions on ``engine`` (the ORM is imported here: the light CLI verbs use Core)."""
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)
