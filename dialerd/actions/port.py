"""What the light operator actions need of a database: its statements, run by name.

``status``, ``dnc add`` and ``campaign pause|resume|stop`` are written once against
``Runner``: the statements of :mod:`dialerd.db.statements` through SQLAlchemy
(:class:`dialerd.db.corerunner.CoreRunner`, any database), or their SQLite text
through ``sqlite3`` (:class:`dialerd.db.lite.runner.LiteRunner`). ``Database`` is
what a CLI verb opens: the schema check, the database's clock, transactions.
An action given an ORM session or a Core connection wraps it (:func:`as_runner`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from dialerd.db.coretables import Db


@runtime_checkable
class Runner(Protocol):
    """Runs one named statement inside the caller's transaction."""

    def rows(self, name: str, /, **params: object) -> list[Any]:
        """The result rows (by position, or by column name)."""
        ...

    def execute(self, name: str, /, **params: object) -> int:
        """Run an INSERT or UPDATE; the number of rows it changed."""
        ...


class Database(Protocol):
    """One verb's database."""

    def require_current(self) -> None:
        """Raise ``SchemaOutOfDate`` unless the schema is at head."""
        ...

    def now(self) -> datetime:
        """The database's clock, read outside any transaction."""
        ...

    def reading(self) -> AbstractContextManager[Runner]: ...

    def writing(self) -> AbstractContextManager[Runner]:
        """A transaction committed at the end, rolled back on an error."""
        ...

    def close(self) -> None: ...


def as_runner(db: Db | Runner) -> Runner:
    """``db`` itself, or an ORM session or Core connection wrapped as a ``Runner``."""
    if isinstance(db, Runner):
        return db
    from dialerd.db.corerunner import CoreRunner

    return CoreRunner(db)
