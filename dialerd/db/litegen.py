"""Write :mod:`dialerd.db.lite.sql` from the Core statements of :mod:`dialerd.db.statements`.

Run ``.venv/bin/python -m dialerd.db.litegen > dialerd/db/lite/sql.py`` (then
``ruff format`` it) after changing a statement; tests/unit/test_lite_sql.py fails
until then. Each statement is compiled for SQLite with named parameters, as
SQLAlchemy compiles it for ``sqlite3``; its parameters and result columns keep the
conversion their column type makes (:mod:`dialerd.db.lite.convert`).
"""

from __future__ import annotations

import sys
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Boolean
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeEngine

from dialerd.db import statements
from dialerd.db.lite.spec import Statement
from dialerd.db.statements import Named
from dialerd.db.types import Json, StrEnumText, UtcDateTime

DIALECT = sqlite.dialect(paramstyle="named")


def conversion(type_: TypeEngine[Any]) -> str:
    """The name of the conversion ``type_`` makes between Python and SQLite values."""
    if isinstance(type_, UtcDateTime):
        return "utc"
    if isinstance(type_, Json | JSON):
        return "json"
    if isinstance(type_, Boolean):
        return "bool"
    if isinstance(type_, StrEnumText):
        return f"enum:{type_.enum.__name__}"
    return ""


def _stored(value: object) -> object:
    if isinstance(value, list | tuple):
        return tuple(_stored(v) for v in value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bool | int | str | float) or value is None:
        return value
    raise TypeError(f"a value compiled into a light statement: {value!r}")


def compile_statement(statement: Named) -> Statement:
    compiled = statement.compile(dialect=DIALECT)
    params: dict[str, str] = {}
    fixed: dict[str, object] = {}
    expanding: set[str] = set()
    for bind, name in compiled.bind_names.items():
        if bind.expanding:
            expanding.add(name)
        if bind.required:
            params[name] = conversion(bind.type)
        else:
            fixed[name] = _stored(bind.value)
    selected = getattr(statement, "selected_columns", None)
    columns = (
        ()
        if selected is None
        else tuple(
            (key, conversion(column.type))
            for key, column in zip(selected.keys(), selected, strict=True)
        )
    )
    return Statement(
        sql=compiled.string,
        params=tuple(sorted(params.items())),
        fixed=tuple(sorted(fixed.items())),
        expanding=tuple(sorted(expanding)),
        columns=columns,
    )


def compile_all() -> dict[str, Statement]:
    return {name: compile_statement(s) for name, s in sorted(statements.named().items())}


def render() -> str:
    """The text of ``dialerd/db/lite/sql.py``."""
    lines = [
        "# ruff: noqa: E501",
        '"""The light verbs\' statements compiled for SQLite (:mod:`dialerd.db.statements`).',
        "",
        "Written by ``python -m dialerd.db.litegen``: do not edit by hand.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from dialerd.db.lite.spec import Statement",
        "",
        "STATEMENTS: dict[str, Statement] = {",
    ]
    for name, found in compile_all().items():
        lines.append(f"    {name!r}: {found!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
