"""Settings: defaults, the TOML file, .env and DIALERD_* variables, and `config show`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dialerd.cli import cli
from dialerd.errors import ConfigError
from dialerd.settings import load_settings
from dialerd.settings_sources import describe


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.database.url == "sqlite:///var/dialerd.db"
    assert (s.pbx.kind, s.ami.port, s.agi.port, s.log.mask_numbers) == (
        "simulator",
        5038,
        4573,
        True,
    )
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/dialerd")
    assert load_settings().database.url == "sqlite:////var/lib/dialerd/dialerd.db"


def test_layers_file_then_dotenv_then_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "dialerd.toml"
    toml.write_text(
        '[ami]\nhost = "pbx1"\nport = 6000\nsecret = "from-file"\n[pbx]\nkind = "ami"\n',
        encoding="utf-8",
    )
    (tmp_path / ".env").write_text("DIALERD_AMI__PORT=6001\nOTHER_TOOL=x\n", encoding="utf-8")
    monkeypatch.setenv("DIALERD_AMI__HOST", "pbx2")
    s = load_settings(toml)
    assert (s.ami.host, s.ami.port, s.pbx.kind) == ("pbx2", 6001, "ami")
    assert s.ami.secret.get_secret_value() == "from-file"
    assert "from-file" not in repr(s)
    sources = {key: source for key, _, source in describe(s, toml)}
    assert sources["ami.host"] == "env"
    assert sources["ami.port"] == ".env"
    assert sources["pbx.kind"] == str(toml)
    assert sources["scheduler.tick_s"] == "default"


def test_a_missing_settings_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings file not found"):
        load_settings(tmp_path / "nope.toml")


def test_config_show_masks_secrets_and_names_sources(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "d.toml"
    toml.write_text('[ami]\nsecret = "s3cret-value"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(toml), "config", "show"])
    assert result.exit_code == 0, result.output
    assert "s3cret-value" not in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("ami.secret"))
    assert "***" in line and f"[{toml}]" in line
    bad = CliRunner().invoke(cli, ["--config", str(tmp_path / "x.toml"), "config", "show"])
    assert bad.exit_code == 1 and "settings file not found" in bad.output
    assert "Traceback" not in bad.output


def test_config_show_masks_the_database_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIALERD_DATABASE__URL", "postgresql://dialerd:s3cret-pw@db1:5432/dialerd")
    for args in ([], ["--json"]):
        result = CliRunner().invoke(cli, ["config", "show", *args])
        assert result.exit_code == 0, result.output
        assert "s3cret-pw" not in result.output
        assert "postgresql://dialerd:***@db1:5432/dialerd" in result.output
    rows = {key: value for key, value, _ in describe(load_settings(), None)}
    assert rows["database.url"] == "postgresql://dialerd:***@db1:5432/dialerd"
    assert rows["ami.secret"] == "(empty)"


def test_the_default_recording_prefix_names_the_host_and_the_database() -> None:
    import socket

    from dialerd.settings import default_recording_prefix

    host = socket.gethostname()
    assert default_recording_prefix("sqlite:////var/lib/dialerd/shop a.db") == f"{host}-shop_a-"
    pg = "postgresql+psycopg://u:secret@db1.example:5432/campaigns"
    assert default_recording_prefix(pg) == "db1.example-campaigns-"
    assert "secret" not in default_recording_prefix(pg)


def test_a_recording_prefix_unsafe_for_a_file_name_is_refused() -> None:
    import pydantic

    from dialerd.settings import PbxSettings

    with pytest.raises(pydantic.ValidationError):
        PbxSettings(recording_prefix="../x")
    assert PbxSettings(recording_prefix="site-a.").recording_prefix == "site-a."
