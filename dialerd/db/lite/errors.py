"""``sqlite3`` exceptions read as :func:`dialerd.db.failures.database_error` reads them.

The same conditions and messages as SQLAlchemy's wrapping of the same exception
gives there (tests/unit/test_lite_errors.py compares the two): unreachable, locked,
schema not current; anything else is None (a bug, not one of these conditions).
"""

from __future__ import annotations

import sqlite3

from dialerd.errors import DatabaseLocked, DatabaseUnavailable, DialerdError, SchemaOutOfDate

_SCHEMA = ("no such table", "no such column", "no such function")
_LOCKED = ("database is locked", "database table is locked")


def database_error(error: BaseException) -> DialerdError | None:
    """The operator-facing condition behind a ``sqlite3`` error, or None."""
    if not isinstance(error, sqlite3.Error):
        return None
    text = _first_line(error)
    lowered = text.lower()
    if any(m in lowered for m in _SCHEMA):
        return SchemaOutOfDate(f"database schema is not current ({text}): run `dialerd db upgrade`")
    if any(m in lowered for m in _LOCKED):
        return DatabaseLocked(f"database locked: {text}")
    if isinstance(error, sqlite3.OperationalError | sqlite3.InterfaceError) or _closed(error):
        return DatabaseUnavailable(f"database unavailable: {text}")
    return None


def _closed(error: sqlite3.Error) -> bool:
    """SQLAlchemy's SQLite dialect counts this one as a lost connection (``is_disconnect``)."""
    return isinstance(
        error, sqlite3.ProgrammingError
    ) and "Cannot operate on a closed database." in str(error)


def _first_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines[:2]) if lines else type(error).__name__
