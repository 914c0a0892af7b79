"""Column types that behave the same on SQLite and PostgreSQL.

Light to import: the PostgreSQL dialect (``JSONB``) loads only when a JSON column
meets PostgreSQL, or when the models ask for ``JsonType``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from dialerd.db.lite.convert import utc_text


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp.

    PostgreSQL stores ``timestamptz``; SQLite stores naive ISO text, so values are
    converted to UTC on the way in and get ``tzinfo=UTC`` back on the way out.
    Naive datetimes are refused: every time in dialerd is aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)

    # On SQLite each direction is one function instead of three (ours, the decorator's
    # wrapper, the dialect's): 14 timestamps are written per dial. Same text, same values.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # SQLite's DATETIME storage format: "YYYY-MM-DD HH:MM:SS.ffffff"
        return utc_text

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def from_text(value: str | None) -> datetime | None:
            if value is None:
                return None
            moment = datetime.fromisoformat(value)
            return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

        return from_text


def __getattr__(name: str) -> Any:
    """``JsonType``: JSON, JSONB on PostgreSQL (the models' type; made on first use)."""
    if name == "JsonType":
        from sqlalchemy.dialects.postgresql import JSONB

        json_type = JSON().with_variant(JSONB(), "postgresql")
        globals()["JsonType"] = json_type
        return json_type
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Json(TypeDecorator[Any]):
    """JSON, JSONB on PostgreSQL, like ``JsonType``; the dialect is imported only there."""

    impl = JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())


E = TypeVar("E", bound=StrEnum)


class StrEnumText(TypeDecorator[E]):
    """A ``StrEnum`` stored as its value in a ``VARCHAR(length)``: the schema keeps plain text.

    Values read back become members (an unknown value raises ``ValueError``); any
    ``str`` with a member's value may be written.
    """

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int = 16) -> None:
        super().__init__(length)
        self.enum = enum
        # a dict lookup: calling the enum costs ~2 µs, several times a row on the hot paths
        self._members: dict[Any, E] = dict(enum._value2member_map_)

    def _member(self, value: Any) -> E:
        member = self._members.get(value) if isinstance(value, str) else None
        return member if member is not None else self.enum(value)

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self._member(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        return None if value is None else self._member(value)
