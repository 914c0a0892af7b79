"""The hot SELECTs run through the driver: compiled once per dialect, rows as plain tuples.

``conn.execute(select)`` costs, per statement, a cache key built from the whole
statement and a result's metadata, and per row a ``Row`` and each column's type
processor behind a few calls; on a dial's result path that was a tenth of a
dial's cost. :class:`Read` keeps the SQL text and the parameters' conversion per
dialect (:class:`~dialerd.db.bulk.Many`) and converts each row in one generated
function with the processors SQLAlchemy would use: the values are the same, as
tuples.

On SQLite the statement runs on the driver's cursor itself: SQLAlchemy's
execution costs ~20 times a read of a few rows there. The transaction begins as
SQLAlchemy would begin it (its ``begin`` event included) and a driver error is
raised wrapped as SQLAlchemy wraps it; the cursor events do not fire for these
reads. Elsewhere (PostgreSQL) it runs with ``exec_driver_sql``: SQLAlchemy's
events, error handling and disconnect detection kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Select, TextualSelect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from dialerd.db.bulk import Many
from dialerd.db.lite.convert import utc_datetime
from dialerd.db.types import StrEnumText, UtcDateTime

Row = tuple[Any, ...]
Convert = Callable[[Row], Row]
Processor = Callable[[Any], Any] | None
Query = Select[Any] | TextualSelect  # a SELECT, or SQL text with its columns declared

# A result batch reads the same few moments many times (the dials claimed in one
# tick share their start): SQLite's text of each is parsed once, the moment kept
# (bounded: cleared when full). The value is UtcDateTime's on SQLite.
_MOMENTS: dict[str, datetime] = {}
_MOMENTS_MAX = 4096


def _sqlite_moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = _MOMENTS.get(value)
    if moment is None:
        if len(_MOMENTS) >= _MOMENTS_MAX:
            _MOMENTS.clear()
        moment = _MOMENTS[value] = cast(datetime, utc_datetime(value))
    return moment


def _member(type_: StrEnumText[Any]) -> Processor:
    """``StrEnumText``'s conversion in one call: a dict lookup, the enum's call if none."""
    members, enum = dict(type_.enum._value2member_map_), type_.enum
    return lambda value: None if value is None else members.get(value) or enum(value)


def _processor(column: ColumnElement[Any], dialect: Dialect, coltype: Any) -> Processor:
    """What SQLAlchemy would convert the column's values with (the same values)."""
    if isinstance(column.type, StrEnumText):
        return _member(column.type)
    if dialect.name == "sqlite" and isinstance(column.type, UtcDateTime):
        return _sqlite_moment
    return column.type.dialect_impl(dialect).result_processor(dialect, coltype)


def _same(row: Row) -> Row:
    return row


def _converter(processors: Sequence[Processor]) -> Convert:
    """``lambda r: (r[0], p1(r[1]), ...)``; rows as they come when nothing is converted."""
    if not any(processors):
        return _same
    env: dict[str, Any] = {}
    parts = []
    for i, process in enumerate(processors):
        if process is None:
            parts.append(f"r[{i}]")
        else:
            env[f"p{i}"] = process
            parts.append(f"p{i}(r[{i}])")
    return cast(Convert, eval(f"lambda r: ({', '.join(parts)},)", env))


class Read:
    """A SELECT whose rows come as tuples, its columns in the statement's order.

    ``build(dialect_name)`` makes the statement, on first use per dialect; ``names``
    are its ``bindparam`` names in the order :meth:`rows` takes their values. Each
    column is converted as its type converts it (the driver's own column type
    chooses the processor, as in SQLAlchemy), except the ``raw`` ones: those come
    as the driver gives them, for callers that map them themselves.
    """

    def __init__(
        self, build: Callable[[str], Query], names: Sequence[str], *, raw: Sequence[str] = ()
    ) -> None:
        self._build = build
        self._names = tuple(names)
        self._raw = frozenset(raw)
        self._prepared: dict[str, tuple[Query, Many]] = {}
        self._convert: dict[str, Convert] = {}

    def statement(self, dialect: str) -> Query:
        """The statement for ``dialect`` (built on first use)."""
        return self._prepare(dialect)[0]

    def _prepare(self, dialect: str) -> tuple[Query, Many]:
        found = self._prepared.get(dialect)
        if found is None:
            stmt = self._build(dialect)
            found = self._prepared[dialect] = (stmt, Many(stmt, self._names))
        return found

    def rows(self, conn: Connection, *values: Any) -> list[Row]:
        """The rows for the parameters' ``values`` (in the order of ``names``)."""
        dialect = conn.dialect
        many = self._prepare(dialect.name)[1]
        sql, params = many.sql(dialect), many.params(dialect, [values])[0]
        fetch = _on_cursor if dialect.driver == "pysqlite" else _through_sqlalchemy
        fetched, description = fetch(conn, sql, params)
        convert = self._convert.get(dialect.name)
        if convert is None:
            convert = self._convert[dialect.name] = self._converter(dialect, description)
        return fetched if convert is _same else list(map(convert, fetched))

    def _converter(self, dialect: Dialect, description: Sequence[Sequence[Any]]) -> Convert:
        stmt = self.statement(dialect.name)
        return _converter(
            [
                None if column.key in self._raw else _processor(column, dialect, described[1])
                for column, described in zip(stmt.selected_columns, description, strict=True)
            ]
        )


Fetched = tuple[list[Row], Sequence[Sequence[Any]]]  # the rows and the cursor's description


def _through_sqlalchemy(conn: Connection, sql: str, params: Row) -> Fetched:
    result = conn.exec_driver_sql(sql, params)
    try:
        cursor = result.cursor
        return cast(list[Row], cursor.fetchall()), cursor.description
    finally:
        result.close()


def _on_cursor(conn: Connection, sql: str, params: Row) -> Fetched:
    if not conn.in_transaction():
        conn.begin()  # what SQLAlchemy's autobegin does
    cursor = conn.connection.cursor()
    base = conn.dialect.loaded_dbapi.Error
    try:
        cursor.execute(sql, params)
        return cast(list[Row], cursor.fetchall()), cursor.description
    except base as error:
        hide = conn.engine.hide_parameters
        raise DBAPIError.instance(
            sql, params, error, base, hide_parameters=hide, dialect=conn.dialect
        ) from error
    finally:
        cursor.close()
