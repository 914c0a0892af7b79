"""``sqlite3`` errors read as SQLAlchemy's wrapping of them reads (``db.failures``)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import exc as sa
from sqlalchemy.dialects import sqlite

from dialerd.db.failures import database_error
from dialerd.db.lite.errors import database_error as lite_error

ERRORS = [
    sqlite3.OperationalError("database is locked"),
    sqlite3.OperationalError("database table is locked"),
    sqlite3.OperationalError("no such table: campaigns"),
    sqlite3.OperationalError("no such column: campaigns.weight"),
    sqlite3.OperationalError("unable to open database file"),
    sqlite3.OperationalError("disk I/O error"),
    sqlite3.OperationalError(""),
    sqlite3.InterfaceError("bad parameter"),
    sqlite3.IntegrityError("UNIQUE constraint failed: dnc_entries.value"),
    sqlite3.DatabaseError("file is not a database"),
    sqlite3.ProgrammingError("Cannot operate on a closed database."),
    sqlite3.ProgrammingError("Incorrect number of bindings supplied."),
    sqlite3.DataError("string or blob too big"),
]


@pytest.mark.parametrize("error", ERRORS, ids=repr)
def test_the_same_condition_and_message(error: sqlite3.Error) -> None:
    dialect = sqlite.dialect(dbapi=sqlite3)
    # a Connection marks a lost connection
    wrapped = sa.DBAPIError.instance("SELECT 1", {}, error, sqlite3.Error, dialect=dialect)
    if dialect.is_disconnect(error, None, None):  # type: ignore[arg-type]
        wrapped.connection_invalidated = True
    expected = database_error(wrapped)
    found = lite_error(error)
    assert type(found) is type(expected)
    assert str(found) == str(expected)
    if found is not None:
        assert found.exit_status == expected.exit_status  # type: ignore[union-attr]


def test_anything_else_is_none() -> None:
    assert lite_error(ValueError("database is locked")) is None
