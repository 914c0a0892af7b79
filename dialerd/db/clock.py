"""The database's clock: the one time every daemon of a database agrees on.

PostgreSQL answers with ``clock_timestamp()`` (the server's time at the call, not
the transaction's start); SQLite, one host's file, with its own ``'now'`` to the
millisecond. Both go through the same function, so code paths do not fork.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

_SQL = {
    "postgresql": "SELECT clock_timestamp()",
    "sqlite": "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')",
}


def _parse(value: Any) -> datetime:
    moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def database_now(conn: Connection) -> datetime:
    """The database's time now, inside the caller's transaction."""
    return _parse(conn.execute(text(_SQL[conn.dialect.name])).scalar_one())


def sample_database_now(engine: Engine) -> datetime:
    """The database's time now, read outside any transaction (takes no SQLite write lock).

    A driver error is raised as SQLAlchemy's (``raw_connection`` does not wrap it),
    so an unreachable database reads as the transient condition it is.
    """
    sql = _SQL[engine.dialect.name]
    driver_error = engine.dialect.loaded_dbapi.Error
    try:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql)
            row = cur.fetchone()
            cur.close()
            if engine.dialect.name != "sqlite":
                raw.rollback()
        finally:
            raw.close()
    except driver_error as exc:
        raise DBAPIError.instance(sql, None, exc, driver_error, dialect=engine.dialect) from exc
    assert row is not None
    return _parse(row[0])
