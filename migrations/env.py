"""Alembic environment: runs on the engine dialerd hands over (see dialerd.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from dialerd.db import models
from dialerd.db.base import Base
from dialerd.db.engine import make_engine

config = context.config
target_metadata = Base.metadata
assert models.Attempt.__table__.metadata is target_metadata  # every table is registered


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        from dialerd.settings import load_settings

        url = load_settings().database.url
    return make_engine(url)


def run_migrations_online() -> None:
    engine = _engine()
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode copies tables, so foreign keys must be off; the PRAGMA is a
            # no-op inside a transaction, hence straight on the DBAPI connection.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; use `dialerd db upgrade`")
run_migrations_online()
