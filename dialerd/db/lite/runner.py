"""The light verbs' statements run by name on a ``sqlite3`` connection.

Parameters and results are converted as the Core column types convert them
(:mod:`dialerd.db.lite.convert`); a list parameter of an ``IN (...)`` is spread
into one parameter a value, named as SQLAlchemy names them (``ids_1``, ``ids_2``...).
Rows are named tuples: by position, or by column name like SQLAlchemy's rows.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Sequence
from functools import cache
from typing import Any

from dialerd.db.lite.convert import Convert, from_sqlite, to_sqlite
from dialerd.db.lite.spec import Statement
from dialerd.db.lite.sql import STATEMENTS


@cache
def _row_maker(name: str) -> tuple[type[tuple[Any, ...]], tuple[Convert, ...]]:
    columns = STATEMENTS[name].columns
    row = namedtuple(f"{name}_row", [c for c, _ in columns], rename=True)  # type: ignore[misc]
    return row, tuple(from_sqlite(kind) for _, kind in columns)


def _expand(sql: str, name: str, values: Sequence[object], params: dict[str, object]) -> str:
    if isinstance(values, str) or not values:
        raise ValueError(f"{name}: an IN (...) list needs one value or more")
    names = [f"{name}_{i}" for i in range(1, len(values) + 1)]
    params.update(zip(names, values, strict=True))
    return sql.replace(f"__[POSTCOMPILE_{name}]", ", ".join(f":{n}" for n in names))


def prepare(statement: Statement, given: dict[str, object]) -> tuple[str, dict[str, object]]:
    """The SQL text and its parameters for ``sqlite3``, converted; every parameter is required."""
    expected = {name for name, _ in statement.params}
    if set(given) != expected:
        raise TypeError(f"parameters {sorted(given)} given, {sorted(expected)} expected")
    sql, params = statement.sql, dict[str, object]()
    for name, kind in statement.params:
        convert = to_sqlite(kind)
        value = given[name]
        if name in statement.expanding:
            values = [convert(v) for v in value]  # type: ignore[attr-defined]
            sql = _expand(sql, name, values, params)
        else:
            params[name] = convert(value)
    for name, value in statement.fixed:
        if name in statement.expanding:
            sql = _expand(sql, name, value, params)  # type: ignore[arg-type]
        else:
            params[name] = value
    return sql, params


class LiteRunner:
    """Runs the statements of :data:`dialerd.db.lite.sql.STATEMENTS` in the caller's transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def rows(self, name: str, /, **params: object) -> list[Any]:
        sql, values = prepare(STATEMENTS[name], params)
        row, converts = _row_maker(name)
        cursor = self.conn.execute(sql, values)
        try:
            return [
                row(*(c(v) for c, v in zip(converts, found, strict=True)))
                for found in cursor.fetchall()
            ]
        finally:
            cursor.close()

    def execute(self, name: str, /, **params: object) -> int:
        """Run an INSERT or UPDATE; the number of rows it changed."""
        sql, values = prepare(STATEMENTS[name], params)
        cursor = self.conn.execute(sql, values)
        cursor.close()
        return cursor.rowcount
