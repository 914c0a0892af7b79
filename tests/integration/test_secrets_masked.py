"""Secrets never reach an operator's screen: ``status``, error messages and logs mask them."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, insert

from dialerd.cli import cli
from dialerd.db.models import Instance

LEAKY = "postgresql://report:hunter2@db.example:5432/dialerd"


def test_status_masks_urls_in_a_daemons_status(engine: Engine, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            insert(Instance),
            [
                {
                    "id": "a-1",
                    "hostname": "h",
                    "pid": 1,
                    "version": "0",
                    "started_at": now,
                    "heartbeat_at": now,
                    "pbx_kind": "ami",
                    "pbx_up": False,
                    "in_flight": 0,
                    "status": {"pbx": f"AMI settings refused: {LEAKY}", "dial_rate": 0.0},
                }
            ],
        )
    config = tmp_path / "d.toml"
    url = engine.url.render_as_string(hide_password=False)
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    (daemon,) = json.loads(result.stdout)["daemons"]
    assert daemon["status"]["pbx"] == (
        "AMI settings refused: postgresql://report:***@db.example:5432/dialerd"
    )
    assert "hunter2" not in result.output


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again when the block ends: nobody listens


@pytest.mark.parametrize("verbose", [False, True])
def test_database_errors_name_the_url_without_its_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, verbose: bool
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"postgresql://report:hunter2@127.0.0.1:{_closed_port()}/dialerd"
    monkeypatch.setenv("DIALERD_DATABASE__URL", url)
    args = ["-v"] if verbose else []
    result = CliRunner().invoke(cli, [*args, "report", "c1"])
    assert result.exit_code == 4  # the database is unreachable
    assert "hunter2" not in result.output
    last = result.stderr.strip().splitlines()[-1]
    masked = url.replace("hunter2", "***")
    assert last.startswith("dialerd: database unavailable: connection failed")
    assert last.endswith(f"(database {masked})")
    assert ("Traceback" in result.stderr) is verbose


def test_an_unparsable_url_is_one_masked_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALERD_DATABASE__URL", "postgresql://report:hunter2@db:port/x")
    result = CliRunner().invoke(cli, ["attempts", "c1"])
    assert result.exit_code == 1
    assert result.stderr.startswith("dialerd: database.url postgresql://report:***@db:port/x: ")
    assert "hunter2" not in result.output
