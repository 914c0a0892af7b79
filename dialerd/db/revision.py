"""The schema check every verb and daemon makes, without importing Alembic.

``HEAD`` is the newest migration's revision id, written here with each new
migration (tests/integration/test_migrations.py checks it against Alembic's own
head). The database's revision is one SELECT from ``alembic_version``; Alembic
itself (a quarter of a light verb's start-up) loads only to migrate
(:mod:`dialerd.db.migrate`). SQLAlchemy loads only when an engine is checked:
the light verbs on SQLite check through :mod:`dialerd.db.lite` with ``check_revision``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dialerd.errors import SchemaOutOfDate

if TYPE_CHECKING:
    from sqlalchemy import Engine

HEAD = "0011_agent_times"
VERSION_TABLE = "alembic_version"


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it was never migrated.

    A database with several heads (dialerd's history has one) shows them joined by
    ``,``: never equal to ``HEAD``, so :func:`require_current` refuses it.
    """
    from sqlalchemy import text

    with engine.connect() as conn:
        if not conn.dialect.has_table(conn, VERSION_TABLE):
            return None
        found = conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    return ",".join(sorted(found)) or None


def require_current(engine: Engine) -> None:
    """Refuse to run on a schema that is not at head."""
    check_revision(current_revision(engine))


def check_revision(current: str | None) -> None:
    """Refuse ``current`` (a database's revision, None when never migrated) unless it is head."""
    if current != HEAD:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, this dialerd needs {HEAD}: "
            "run `dialerd db upgrade`"
        )
