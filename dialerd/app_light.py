"""The composition root of the light CLI verbs: their database, chosen by its URL.

``dialerd status``, ``dnc add`` and ``campaign pause|resume|stop`` run their actions
on a :class:`dialerd.actions.port.Database`: on a plain SQLite file the standard
library's ``sqlite3`` (:mod:`dialerd.db.lite`, no SQLAlchemy: it alone takes longer
to import than these verbs' budget), on any other URL SQLAlchemy
(:class:`dialerd.db.corerunner.CoreDatabase` on the engine ``engine`` makes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dialerd.db.lite.url import sqlite_path

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from dialerd.actions.port import Database


def open_database(url: str, *, busy_timeout_s: float, engine: Callable[[], Engine]) -> Database:
    """The database at ``url``; ``engine`` is called only when SQLAlchemy serves it."""
    path = sqlite_path(url)
    if path is not None:
        from dialerd.db.lite.database import LiteDatabase

        return LiteDatabase(path, busy_timeout_s=busy_timeout_s)
    from dialerd.db.corerunner import CoreDatabase

    return CoreDatabase(engine())
