"""The light verbs' settings reader gives what ``Settings`` gives, from every source, or None."""

from __future__ import annotations

from pathlib import Path

import pytest

from dialerd.cli.context import CliContext
from dialerd.errors import ConfigError
from dialerd.settings import load_settings
from dialerd.settings_basic import BasicSettings, read_basic

TOML = """
[database]
url = "sqlite:////srv/file.db"
busy_timeout_s = 12
[scheduler]
heartbeat_s = 2.5
[ami]
port = 5039
"""


def _both(config: Path | None) -> tuple[tuple[str, float, float], tuple[str, float, float]]:
    basic = read_basic(config)
    assert basic is not None, "read_basic left plain values to Settings"
    full = load_settings(config)
    return _values(basic), (
        full.database.url,
        full.database.busy_timeout_s,
        full.scheduler.heartbeat_s,
    )


def _values(s: BasicSettings) -> tuple[str, float, float]:
    return (s.database.url, s.database.busy_timeout_s, s.scheduler.heartbeat_s)


def test_the_defaults_as_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    light, full = _both(None)
    assert light == full == ("sqlite:///var/dialerd.db", 30.0, 5.0)
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/dialerd:/other")
    light, full = _both(None)
    assert light == full == ("sqlite:////var/lib/dialerd/dialerd.db", 30.0, 5.0)


def test_each_source_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "dialerd.toml"
    toml.write_text(TOML, encoding="utf-8")
    light, full = _both(toml)
    assert light == full == ("sqlite:////srv/file.db", 12.0, 2.5)

    monkeypatch.setenv("DIALERD_CONFIG", str(toml))  # the file named by the environment
    light, full = _both(None)
    assert light == full == ("sqlite:////srv/file.db", 12.0, 2.5)
    monkeypatch.delenv("DIALERD_CONFIG")

    (tmp_path / ".env").write_text(
        "DIALERD_DATABASE__URL=sqlite:////srv/dotenv.db\ndialerd_scheduler__heartbeat_s=7\n"
        "OTHER_TOOL=x\n",
        encoding="utf-8",
    )
    light, full = _both(None)
    assert light == full == ("sqlite:////srv/dotenv.db", 30.0, 7.0)
    (tmp_path / ".env").unlink()

    monkeypatch.setenv("Dialerd_Database__Busy_Timeout_S", "0.25")  # any case, as pydantic
    monkeypatch.setenv("DIALERD_DATABASE__URL", "")  # empty is a value too
    light, full = _both(None)
    assert light == full == ("", 0.25, 5.0)


def test_the_layers_key_by_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Environment over .env over the file over the defaults, each key on its own."""
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "dialerd.toml"
    toml.write_text(TOML, encoding="utf-8")
    (tmp_path / ".env").write_text(
        "DIALERD_DATABASE__BUSY_TIMEOUT_S=3\nDIALERD_SCHEDULER__HEARTBEAT_S=8\n", encoding="utf-8"
    )
    monkeypatch.setenv("DIALERD_SCHEDULER__HEARTBEAT_S", "9.5")
    light, full = _both(toml)
    assert light == full == ("sqlite:////srv/file.db", 3.0, 9.5)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DIALERD_DATABASE", '{"url": "sqlite:////srv/json.db"}'),  # a section as JSON
        ("DIALERD_DATABASE__BUSY_TIMEOUT_S", "1e1"),  # a number only pydantic reads
        ("DIALERD_SCHEDULER__HEARTBEAT_S", " 4"),
    ],
)
def test_what_only_settings_can_read_is_left_to_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str, value: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(variable, value)
    assert read_basic(None) is None
    ctx = CliContext()
    full = load_settings()
    assert ctx.basic.database.url == full.database.url
    assert ctx.basic.database.busy_timeout_s == full.database.busy_timeout_s
    assert ctx.basic.scheduler.heartbeat_s == full.scheduler.heartbeat_s


@pytest.mark.parametrize(
    "text",
    [
        "[database]\nurl = 5\n",  # Settings refuses it with its own message
        "[database]\nbusy_timeout_s = 0\n",
        "[database]\nbusy_timeout_s = true\n",
        "[Database]\nurl = 'sqlite:////srv/case.db'\n",
        "database = 'x'\n",
        "[database\n",  # not TOML: Settings raises its own error
    ],
)
def test_a_file_it_cannot_read_exactly_is_left_to_settings(tmp_path: Path, text: str) -> None:
    toml = tmp_path / "dialerd.toml"
    toml.write_text(text, encoding="utf-8")
    assert read_basic(toml) is None


def test_a_missing_settings_file_is_the_same_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        read_basic(tmp_path / "nope.toml")


def test_the_context_reads_without_pydantic_when_it_can(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALERD_DATABASE__URL", "sqlite:////srv/ctx.db")
    assert isinstance(CliContext().basic, BasicSettings)
    overridden = CliContext(overrides={"database": {"url": "sqlite:////srv/override.db"}})
    assert overridden.basic.database.url == "sqlite:////srv/override.db"
