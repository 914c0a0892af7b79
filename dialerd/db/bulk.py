"""Statements run for many rows at once: compiled once per dialect, rows passed as tuples.

SQLAlchemy's ``executemany`` builds every row's parameters anew (checks, a dict per
row, each type's processor looked up): a third of a dial's cost in `dialerd
simulate`. :class:`Many` works out the SQL text and each placeholder's bind
processor once per dialect; a row is then one tuple of values in the order given,
and the driver gets it through ``exec_driver_sql`` (SQLAlchemy's events, error
wrapping and transaction kept). The values are converted by the same processors
SQLAlchemy would use, so the stored values do not change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import ARRAY, Connection, String, Table, any_, bindparam, func, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement, ColumnElement
from sqlalchemy.types import TypeEngine

from dialerd.db.types import UtcDateTime

_NAMED = re.compile(r"%\((\w+)\)s")  # psycopg's pyformat placeholders
Processor = Callable[[Any], Any] | None


Row = tuple[Any, ...]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: tuple[tuple[int, Processor], ...]  # per placeholder: index in row + constants
    constants: tuple[Any, ...]
    convert: Callable[[Row], Row]  # a row's driver parameters (see _converter)


def _converter(
    slots: Sequence[tuple[int, Processor]], constants: Sequence[Any], width: int
) -> Callable[[Row], Row]:
    """One function per statement and dialect, ``lambda r: (r[0], p1(r[1]), c[0], ...)``.

    Slot ``i`` past the row's ``width`` is constant ``i - width`` (already converted).
    A generic loop over the slots costs about twice as much per row; the text built
    holds only indexes and the names bound below.
    """
    env: dict[str, Any] = {"c": tuple(constants)}
    parts = []
    for k, (i, process) in enumerate(slots):
        value = f"r[{i}]" if i < width else f"c[{i - width}]"
        if process is not None:
            env[f"p{k}"] = process
            value = f"p{k}({value})"
        parts.append(value)
    body = f"({', '.join(parts)},)" if parts else "()"
    return cast(Callable[[Row], Row], eval(f"lambda r: {body}", env))


# A batch writes the same few moments many times (its ``now`` a dozen times a dial):
# their text is kept, keyed by the UTC value (bounded: cleared when full).
_TEXTS: dict[datetime, str] = {}
_TEXTS_MAX = 4096


def _utc_text(value: Any) -> Any:
    """SQLite's text of a UTC timestamp, as ``UtcDateTime`` writes it, without its three steps."""
    if value is not None and value.tzinfo is UTC:
        text = _TEXTS.get(value)
        if text is None:
            if len(_TEXTS) >= _TEXTS_MAX:
                _TEXTS.clear()
            text = _TEXTS[value] = value.isoformat(" ", "microseconds")[:26]  # less "+00:00"
        return text
    return _to_text(value)


_to_text = cast(Callable[[Any], Any], UtcDateTime().bind_processor(sqlite.dialect()))


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    if dialect.name == "sqlite" and isinstance(type_, UtcDateTime):
        return _utc_text
    return type_.dialect_impl(dialect).bind_processor(dialect)


def _compile(stmt: ClauseElement, names: tuple[str, ...], dialect: Dialect) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    sql = compiled.string
    if compiled.positiontup is not None:
        order = list(compiled.positiontup)
    else:  # pyformat (psycopg): the same text with positional %s
        order = _NAMED.findall(sql)
        sql = _NAMED.sub("%s", sql)
    constants: list[Any] = []
    slots = []
    for name in order:
        bind = compiled.binds[name]
        process = _processor(bind.type, dialect)
        if name in names:
            slots.append((names.index(name), process))
        else:  # a value fixed in the statement: converted once
            value = bind.effective_value
            constants.append(process(value) if process is not None else value)
            slots.append((len(names) + len(constants) - 1, None))
    return _Compiled(sql, tuple(slots), tuple(constants), _converter(slots, constants, len(names)))


class Many:
    """``stmt`` run for a list of rows, each a tuple of the values of ``names`` in that order.

    ``names`` are the statement's ``bindparam`` names; values given in the statement
    itself (``.values(status=...)``) are constants. No expanding (``IN``) parameters.
    """

    def __init__(self, stmt: ClauseElement, names: Sequence[str]) -> None:
        self._stmt = stmt
        self._names = tuple(names)
        self._by_dialect: dict[str, _Compiled] = {}

    def sql(self, dialect: Dialect) -> str:
        """The statement's text for ``dialect`` (positional placeholders)."""
        return self._compiled(dialect).sql

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _compile(self._stmt, self._names, dialect)
        return found

    def params(self, dialect: Dialect, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """The driver's parameters for ``rows``: placeholder order, values converted."""
        return list(map(self._compiled(dialect).convert, rows))

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run the statement once per row (nothing to do for no rows)."""
        if rows:
            conn.exec_driver_sql(self.sql(conn.dialect), self.params(conn.dialect, rows))


class InsertMany:
    """``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING``, rows as tuples.

    ``executemany`` returns no rows, so the rows go in multi-row ``VALUES``; the
    returned values are the driver's, unconverted (use it for integer and text columns).

    A statement holds a power of two of rows (at most ``CHUNK``, under the drivers'
    parameter limits), so a table has a few statement texts whatever the batch sizes:
    the driver prepares each once and keeps it (SQLite's statement cache, PostgreSQL's
    prepared statements). Preparing a multi-row ``VALUES`` anew costs more than
    running it: with a text per batch size most batches were prepared afresh.
    """

    CHUNK = 256  # rows per statement at most; a power of two

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        *,
        conflict: Sequence[str],
        returning: Sequence[str],
    ) -> None:
        self._table = table
        self._columns = tuple(columns)
        self._conflict = tuple(conflict)
        self._returning = tuple(returning)
        self._by_dialect: dict[str, tuple[str, str, str, Callable[[Row], Row]]] = {}

    def _parts(self, dialect: Dialect) -> tuple[str, str, str, Callable[[Row], Row]]:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            q = dialect.identifier_preparer.quote
            mark = "?" if dialect.paramstyle == "qmark" else "%s"
            head = (
                f"INSERT INTO {q(self._table.name)} ({', '.join(q(c) for c in self._columns)}) "
                "VALUES "
            )
            tail = (
                f" ON CONFLICT ({', '.join(q(c) for c in self._conflict)}) DO NOTHING"
                f" RETURNING {', '.join(q(c) for c in self._returning)}"
            )
            group = f"({', '.join([mark] * len(self._columns))})"
            slots = [
                (i, _processor(self._table.c[c].type, dialect)) for i, c in enumerate(self._columns)
            ]
            convert = _converter(slots, (), len(self._columns))
            found = self._by_dialect[dialect.name] = (head, group, tail, convert)
        return found

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Insert ``rows`` (values in the order of ``columns``); returns the rows inserted."""
        if not rows:
            return []
        head, group, tail, convert = self._parts(conn.dialect)
        returned: list[tuple[Any, ...]] = []
        for start, size in chunks(len(rows), self.CHUNK):
            params = tuple(chain.from_iterable(map(convert, rows[start : start + size])))
            sql = head + ", ".join([group] * size) + tail
            returned += [tuple(r) for r in conn.exec_driver_sql(sql, params)]
        return returned


def chunks(count: int, most: int) -> list[tuple[int, int]]:
    """``count`` rows as (start, size) pieces, each size a power of two at most ``most``."""
    pieces = []
    start = 0
    while start < count:
        size = min(most, 1 << ((count - start).bit_length() - 1))
        pieces.append((start, size))
        start += size
    return pieces


T = TypeVar("T")


class PerDialect(Generic[T]):
    """A statement built once per dialect name, on first use (``build(name)``)."""

    def __init__(self, build: Callable[[str], T]) -> None:
        self._build = build
        self._made: dict[str, T] = {}

    def __call__(self, dialect: str) -> T:
        found = self._made.get(dialect)
        if found is None:
            found = self._made[dialect] = self._build(dialect)
        return found


def in_values(column: ColumnElement[Any], name: str, dialect: str) -> ColumnElement[bool]:
    """``column IN`` a list bound as the one parameter ``name`` (see :func:`values_param`).

    SQLite reads it with ``json_each(?)``, PostgreSQL as an array (``= ANY(?)``): the
    statement's text is the same for any length, so it is prepared once and its values
    are not rendered one by one as an expanding ``IN`` does; other dialects expand.
    """
    if dialect == "sqlite":
        each = func.json_each(bindparam(name, type_=String())).table_valued("value")
        return column.in_(select(each.c.value))
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def values_param(dialect: str, values: Iterable[Any]) -> Any:
    """The parameter of :func:`in_values` for ``values`` (ints or strings)."""
    return json.dumps(list(values)) if dialect == "sqlite" else list(values)
