"""Database exceptions read as the conditions operators act on: unreachable, locked, old schema.

``database_error`` turns a SQLAlchemy exception into the matching ``DialerdError``
(or None for anything else: a bug is not one of these conditions). Unreachable
and locked are *transient*: the daemon retries them; a missing table is not.
"""

from __future__ import annotations

from sqlalchemy import exc as sa

from dialerd.errors import DatabaseLocked, DatabaseUnavailable, DialerdError, SchemaOutOfDate

# PostgreSQL SQLSTATEs: undefined table/column/function, lock not available.
_PG_SCHEMA = frozenset({"42P01", "42703", "42883"})
_PG_LOCKED = frozenset({"55P03"})
_SQLITE_SCHEMA = ("no such table", "no such column", "no such function")
_SQLITE_LOCKED = ("database is locked", "database table is locked")


def database_error(error: BaseException) -> DialerdError | None:
    """The operator-facing condition behind ``error``, or None when it is none of them."""
    if isinstance(error, SchemaOutOfDate | DatabaseUnavailable | DatabaseLocked):
        return error
    if isinstance(error, sa.DisconnectionError | sa.TimeoutError):
        return DatabaseUnavailable(f"database unavailable: {_first_line(error)}")
    if not isinstance(error, sa.DBAPIError):
        return None
    text = _first_line(error.orig if error.orig is not None else error)
    state = getattr(error.orig, "sqlstate", None)
    lowered = text.lower()
    if state in _PG_SCHEMA or any(m in lowered for m in _SQLITE_SCHEMA):
        return SchemaOutOfDate(f"database schema is not current ({text}): run `dialerd db upgrade`")
    if state in _PG_LOCKED or any(m in lowered for m in _SQLITE_LOCKED):
        return DatabaseLocked(f"database locked: {text}")
    if isinstance(error, sa.OperationalError | sa.InterfaceError) or error.connection_invalidated:
        return DatabaseUnavailable(f"database unavailable: {text}")
    return None


def is_transient(error: BaseException) -> bool:
    """True for conditions that may clear by themselves (unreachable, locked, disk full)."""
    return isinstance(database_error(error), DatabaseUnavailable | DatabaseLocked)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines[:2]) if lines else type(error).__name__
