"""`dialerd db upgrade|current` on both backends, and the start-up refusal on an old schema."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dialerd.cli import cli
from dialerd.db.engine import make_engine
from dialerd.db.migrate import head_revision, require_current
from dialerd.errors import SchemaOutOfDate


def test_upgrade_then_current(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALERD_DATABASE__URL", db_url)
    runner = CliRunner()
    before = runner.invoke(cli, ["db", "current"])
    assert before.exit_code == 5 and before.output.startswith("empty")
    engine = make_engine(db_url)
    with pytest.raises(SchemaOutOfDate, match="dialerd db upgrade"):
        require_current(engine)
    engine.dispose()
    up = runner.invoke(cli, ["db", "upgrade"])
    assert up.exit_code == 0, up.output
    assert up.output.strip() == f"schema at {head_revision()}"
    after = runner.invoke(cli, ["db", "current"])
    assert after.exit_code == 0 and after.output.startswith(head_revision())
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0  # safe on every deploy


def test_run_refuses_an_old_schema(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALERD_DATABASE__URL", db_url)
    result = CliRunner().invoke(cli, ["run"])
    assert result.exit_code == 5  # schema not current
    assert "run `dialerd db upgrade`" in result.output
    assert "Traceback" not in result.output
