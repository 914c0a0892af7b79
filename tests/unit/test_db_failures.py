"""Database exceptions read as operator conditions: unreachable, locked, schema, or none."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa

from dialerd.db.failures import database_error, is_transient
from dialerd.errors import DatabaseLocked, DatabaseUnavailable, DialerdError, SchemaOutOfDate


class PgError(Exception):
    """Stands in for a psycopg error: its SQLSTATE is on ``sqlstate``."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def _op(orig: Exception) -> sa.OperationalError:
    return sa.OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("error", "kind", "status", "transient"),
    [
        (_op(sqlite3.OperationalError("database is locked")), DatabaseLocked, 6, True),
        (_op(PgError("canceling statement due to lock timeout", "55P03")), DatabaseLocked, 6, True),
        (_op(sqlite3.OperationalError("no such table: campaigns")), SchemaOutOfDate, 5, False),
        (
            sa.ProgrammingError("SELECT", {}, PgError('relation "x" does not exist', "42P01")),
            SchemaOutOfDate,
            5,
            False,
        ),
        (
            _op(Exception("connection refused\nIs the server running?")),
            DatabaseUnavailable,
            4,
            True,
        ),
        (_op(sqlite3.OperationalError("database or disk is full")), DatabaseUnavailable, 4, True),
        (
            sa.InterfaceError("SELECT", {}, Exception("connection closed")),
            DatabaseUnavailable,
            4,
            True,
        ),
        (sa.DisconnectionError("gone"), DatabaseUnavailable, 4, True),
    ],
)
def test_conditions(
    error: Exception, kind: type[DialerdError], status: int, transient: bool
) -> None:
    found = database_error(error)
    assert isinstance(found, kind) and found.exit_status == status
    assert is_transient(error) is transient


def test_messages_are_one_line() -> None:
    found = database_error(_op(Exception("connection refused\n\tIs the server running?")))
    assert str(found) == "database unavailable: connection refused; Is the server running?"


@pytest.mark.parametrize(
    "error",
    [
        sa.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")),
        ValueError("a bug"),
        DialerdError("no campaign named 'x'"),
    ],
)
def test_other_errors_are_none_of_them(error: Exception) -> None:
    assert database_error(error) is None
    assert not is_transient(error)
