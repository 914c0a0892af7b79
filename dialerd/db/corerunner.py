"""The light verbs' statements (:mod:`dialerd.db.statements`) run by name through SQLAlchemy.

For PostgreSQL, for any SQLite URL the standard library path does not take, and
for callers holding an ORM session or a Core connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from dialerd.db.statements import named

if TYPE_CHECKING:
    from dialerd.db.coretables import Db

_STATEMENTS = named()


class CoreRunner:
    def __init__(self, db: Db) -> None:
        self.db = db

    def rows(self, name: str, /, **params: object) -> list[Any]:
        return list(self.db.execute(_STATEMENTS[name], params).all())

    def execute(self, name: str, /, **params: object) -> int:
        result = self.db.execute(_STATEMENTS[name], params)
        return int(result.rowcount)  # type: ignore[attr-defined]


class CoreDatabase:
    """A verb's database on an engine; ``close`` disposes of its pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def require_current(self) -> None:
        from dialerd.db.revision import require_current

        require_current(self.engine)

    def now(self) -> datetime:
        from dialerd.db.clock import sample_database_now

        return sample_database_now(self.engine)

    @contextmanager
    def reading(self) -> Iterator[CoreRunner]:
        with self.engine.connect() as conn:
            yield CoreRunner(conn)

    @contextmanager
    def writing(self) -> Iterator[CoreRunner]:
        with self.engine.begin() as conn:
            yield CoreRunner(conn)

    def close(self) -> None:
        self.engine.dispose()
