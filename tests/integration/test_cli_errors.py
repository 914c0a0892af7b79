"""Every verb on a database it cannot use: one line on stderr, a documented exit status.

4: unreachable, 5: schema not current, 6: locked past the busy timeout;
``status --json`` also prints a JSON error object on stdout; ``-v`` adds the traceback.
"""

from __future__ import annotations

import json
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from dialerd.cli import cli
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade

VERBS = [
    ["status"],
    ["campaign", "list"],
    ["campaign", "pause", "renewals"],
    ["dnc", "list"],
    ["report", "renewals"],
    ["attempts", "renewals"],
    ["db", "current"],
    ["run"],
]


def _invoke(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


def _config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "dialerd.toml"
    path.write_text(f'campaigns_dir = "{tmp_path}"\n[database]\nurl = "{url}"\n{extra}')
    return path


def _one_line(result: Result, status: int, starts: str) -> None:
    assert result.exit_code == status, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(starts), result.stderr


@pytest.fixture
def unreachable(tmp_path: Path) -> Path:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return _config(tmp_path, f"postgresql://postgres@127.0.0.1:{port}/dialerd")


@pytest.mark.parametrize("verb", VERBS, ids=" ".join)
def test_unreachable_database_is_exit_4(unreachable: Path, verb: list[str]) -> None:
    _one_line(_invoke(unreachable, *verb), 4, "dialerd: database unavailable: ")


@pytest.mark.parametrize("verb", [v for v in VERBS if v[0] != "db"], ids=" ".join)
def test_unmigrated_database_is_exit_5(tmp_path: Path, verb: list[str]) -> None:
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}")
    result = _invoke(config, *verb)
    _one_line(result, 5, "dialerd: database schema is ")
    assert "dialerd db upgrade" in result.stderr


def test_db_current_on_an_unmigrated_database_is_exit_5(tmp_path: Path) -> None:
    result = _invoke(_config(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}"), "db", "current")
    assert result.exit_code == 5 and result.stdout.startswith("empty (latest ")


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "dialerd.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another process writing, for longer than we wait
    try:
        yield _config(tmp_path, f"sqlite:///{path}", "busy_timeout_s = 0.05\n")
    finally:
        blocker.close()


@pytest.mark.parametrize(
    "verb",
    [["campaign", "list"], ["campaign", "pause", "renewals"], ["db", "upgrade"]],
    ids=" ".join,
)
def test_locked_database_is_exit_6(locked: Path, verb: list[str]) -> None:
    _one_line(_invoke(locked, *verb), 6, "dialerd: database locked: ")


def test_status_json_prints_a_json_error_with_the_same_status(
    unreachable: Path, tmp_path: Path
) -> None:
    result = _invoke(unreachable, "status", "--json")
    assert result.exit_code == 4
    doc = json.loads(result.stdout)
    assert doc["error"] == "database_unreachable" and doc["exit_status"] == 4
    assert doc["message"].startswith("database unavailable: ")
    assert result.stderr.startswith("dialerd: database unavailable: ")

    (tmp_path / "m").mkdir()
    empty = _config(tmp_path / "m", f"sqlite:///{tmp_path / 'm' / 'empty.db'}")
    result = _invoke(empty, "status", "--json")
    assert result.exit_code == 5
    assert json.loads(result.stdout)["error"] == "schema_not_current"


def test_verbose_shows_the_traceback(unreachable: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(unreachable), "-v", "campaign", "list"])
    assert result.exit_code == 4
    assert "Traceback" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("dialerd: database unavailable: ")
