"""Values between Python and SQLite as the Core column types convert them (:mod:`dialerd.db.types`).

``utc``: an aware datetime, stored as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``
(``UtcDateTime`` on SQLite); ``json``: ``json.dumps`` / ``json.loads`` (SQLAlchemy's
``JSON``: ``None`` is stored as ``null``); ``bool``: 0/1; ``enum:NAME``: a
:mod:`dialerd.domain.states` member as its value (an unknown value raises ``ValueError``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from dialerd.domain import states

Convert = Callable[[Any], Any]


def utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def utc_datetime(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json_loads(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _same(value: Any) -> Any:
    return value


def _enum(name: str) -> type[StrEnum]:
    found = getattr(states, name)
    if not (isinstance(found, type) and issubclass(found, StrEnum)):
        raise LookupError(f"{name} is no state enum")
    return found


@cache
def to_sqlite(kind: str) -> Convert:
    """The conversion of a parameter of this kind into what ``sqlite3`` stores."""
    if kind.startswith("enum:"):
        enum = _enum(kind.removeprefix("enum:"))
        return lambda value: None if value is None else enum(value).value
    simple: dict[str, Convert] = {"": _same, "utc": utc_text, "json": json.dumps, "bool": _same}
    return simple[kind]


@cache
def from_sqlite(kind: str) -> Convert:
    """The conversion of a column of this kind as ``sqlite3`` returns it."""
    if kind.startswith("enum:"):
        enum = _enum(kind.removeprefix("enum:"))
        return lambda value: None if value is None else enum(value)
    simple: dict[str, Convert] = {
        "": _same,
        "utc": utc_datetime,
        "json": _json_loads,
        "bool": lambda value: None if value is None else bool(value),
    }
    return simple[kind]
