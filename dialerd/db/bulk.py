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

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any, cast

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

from dialerd.db.types import UtcDateTime

_NAMED = re.compile(r"%\((\w+)\)s")  # psycopg's pyformat placeholders
Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    slots: tuple[tuple[int, Processor], ...]  # per placeholder: index in row + constants
    constants: tuple[Any, ...]


def _utc_text(value: Any) -> Any:
    """SQLite's text of a UTC timestamp, as ``UtcDateTime`` writes it, without its three steps."""
    if value is not None and value.tzinfo is UTC:
        return value.isoformat(" ", "microseconds")[:26]  # less the "+00:00"
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
    return _Compiled(sql, tuple(slots), tuple(constants))


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
        c = self._compiled(dialect)
        slots, constants = c.slots, c.constants
        if constants:
            rows = [r + constants for r in rows]
        return [tuple([r[i] if p is None else p(r[i]) for i, p in slots]) for r in rows]

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        """Run the statement once per row (nothing to do for no rows)."""
        if rows:
            conn.exec_driver_sql(self.sql(conn.dialect), self.params(conn.dialect, rows))


class InsertMany:
    """``INSERT ... VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING``, rows as tuples.

    ``executemany`` returns no rows, so the rows go in one multi-row ``VALUES`` (in
    chunks, under the drivers' parameter limits); the returned values are the
    driver's, unconverted (use it for integer and text columns).
    """

    CHUNK = 500  # rows per statement

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
        self._by_dialect: dict[str, tuple[str, str, str, tuple[Processor, ...]]] = {}

    def _parts(self, dialect: Dialect) -> tuple[str, str, str, tuple[Processor, ...]]:
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
            processors = tuple(_processor(self._table.c[c].type, dialect) for c in self._columns)
            found = self._by_dialect[dialect.name] = (head, group, tail, processors)
        return found

    def execute(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Insert ``rows`` (values in the order of ``columns``); returns the rows inserted."""
        if not rows:
            return []
        head, group, tail, processors = self._parts(conn.dialect)
        slots = tuple(enumerate(processors))
        returned: list[tuple[Any, ...]] = []
        for start in range(0, len(rows), self.CHUNK):
            chunk = rows[start : start + self.CHUNK]
            params = tuple([r[i] if p is None else p(r[i]) for r in chunk for i, p in slots])
            sql = head + ", ".join([group] * len(chunk)) + tail
            returned += [tuple(r) for r in conn.exec_driver_sql(sql, params)]
        return returned
