"""The schema comes from migrations: one head, no drift from the models, up and down."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

import dialerd.db.models  # noqa: F401  (registers every table on Base.metadata)
from dialerd.db import revision
from dialerd.db.base import Base
from dialerd.db.migrate import alembic_config, current_revision, downgrade, head_revision, upgrade
from dialerd.errors import SchemaOutOfDate


def test_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_the_schema_check_knows_the_newest_migration() -> None:
    """The start-up check compares with a constant, not Alembic: it must be the real head."""
    assert revision.HEAD == head_revision()


def test_the_schema_check_reads_what_alembic_wrote(engine: Engine) -> None:
    with engine.connect() as conn:
        assert current_revision(engine) == MigrationContext.configure(conn).get_current_revision()
    revision.require_current(engine)


def test_models_match_migrations(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, Base.metadata) == []


def test_upgrade_downgrade_round_trip(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert "attempts" not in inspect(engine).get_table_names()
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert "attempts" in inspect(engine).get_table_names()


def test_the_schema_check_refuses_an_older_schema(engine: Engine) -> None:
    downgrade(engine, "-1")
    older = current_revision(engine)
    assert older is not None and older != revision.HEAD
    with pytest.raises(SchemaOutOfDate, match=f"at {older}, this dialerd needs {revision.HEAD}"):
        revision.require_current(engine)
    upgrade(engine)
