"""The light verbs start without the heavy libraries (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade

# each test (with its fixture) starts up to five fresh interpreters importing dialerd:
# 3-6 s on an idle machine, 27 s seen with both cores busy
pytestmark = pytest.mark.timeout(180)

LIGHT_VERBS = (("status",), ("dnc", "add"), ("campaign", "pause"), ("campaign", "resume"))
HEAVY = (
    "sqlalchemy.orm",
    "sqlalchemy.engine",
    "alembic",
    "openpyxl",
    "fastapi",
    "uvicorn",
    "rich",
    "asterisk",
    "apscheduler",
    "phonenumbers",
    "holidays",
    "structlog",
    "pydantic",
    "dialerd.db.models",
    "dialerd.engine",
    "dialerd.importer",
    "dialerd.reporting",
    "dialerd.campaignfile",
)


RESOLVE = """
import json, sys
import click
from dialerd.cli import cli
verbs = json.loads(sys.argv[1])
for path in verbs:
    ctx = click.Context(cli, info_name="dialerd")
    group = cli
    for name in path:
        command = group.get_command(ctx, name)
        assert command is not None, path
        ctx = click.Context(command, info_name=name, parent=ctx)
        group = command
    command.get_help(ctx)
with click.Context(cli, info_name="dialerd") as ctx:
    cli.get_help(ctx)
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(verbs: tuple[tuple[str, ...], ...]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", RESOLVE, json.dumps(verbs)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return set(json.loads(done.stdout))


def test_importing_the_cli_and_resolving_light_verbs_loads_no_heavy_module() -> None:
    loaded = _modules_after(LIGHT_VERBS)
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == []


def test_the_check_sees_a_heavy_verb() -> None:
    loaded = _modules_after((("report",),))
    assert "dialerd.reporting" in loaded


RUN = """
import json, sys
from dialerd.cli import cli
cli.main(sys.argv[1:], prog_name="dialerd", standalone_mode=False)
print(json.dumps(sorted(sys.modules)))
"""


def test_status_checks_the_schema_without_alembic(tmp_path: Path) -> None:
    """The schema check reads ``alembic_version``; Alembic loads only to migrate."""
    url = f"sqlite:///{tmp_path / 'status.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    env = {**os.environ, "DIALERD_DATABASE__URL": url}
    env.pop("DIALERD_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", RUN, "status"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr  # standalone_mode=False: exit 3 is returned
    loaded = set(json.loads(done.stdout.splitlines()[-1]))
    assert "dialerd.db.revision" in loaded
    assert not {m for m in loaded if m == "alembic" or m.startswith("alembic.")}
    assert "dialerd.campaignfile.loader" not in loaded


DEMO = Path(__file__).resolve().parents[2] / "campaigns" / "demo"
# What a light verb's run must not load on SQLite: SQLAlchemy (it runs through
# sqlite3), the models, the settings models, logging, the daemon's parts.
HEAVY_RUN = (
    "sqlalchemy",
    "alembic",
    "pydantic",
    "pydantic_settings",
    "structlog",
    "dialerd.db.models",
    "dialerd.engine",
    "dialerd.campaignfile",
    "dialerd.settings",
    "holidays",
    "phonenumbers",
)


def _heavy(loaded: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in heavy))


def _run(args: list[str], env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture
def light_env(tmp_path: Path) -> dict[str, str]:
    """A migrated SQLite file holding the demo campaign, without its holiday calendar."""
    folder = tmp_path / "demo"
    shutil.copytree(DEMO, folder)
    toml = folder / "demo.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('holidays = { country = "CN" }', ""))
    env = {**os.environ, "DIALERD_DATABASE__URL": f"sqlite:///{tmp_path / 'light.db'}"}
    env.pop("DIALERD_CONFIG", None)
    for args in (["db", "upgrade"], ["campaign", "load", str(toml)]):
        subprocess.run(
            [sys.executable, "-m", "dialerd", *args], env=env, check=True, capture_output=True
        )
    return env


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["status"], ()),
        (["campaign", "pause", "demo"], ()),
        (["campaign", "resume", "demo"], ()),
        (["dnc", "add", "+8613912345678"], ("phonenumbers",)),  # it parses the number
        (["dnc", "add", "0755*", "--reason", "r"], ("phonenumbers",)),
    ],
)
def test_a_light_verb_runs_without_the_heavy_modules(
    light_env: dict[str, str], args: list[str], allowed: tuple[str, ...]
) -> None:
    loaded = _run(args, light_env)
    assert "dialerd.db.lite.runner" in loaded  # the check sees what the verb loaded
    assert _heavy(loaded, tuple(h for h in HEAVY_RUN if h not in allowed)) == []
    # phonenumbers to read the number, without its carrier and geocoding tables
    assert _heavy(loaded, ("phonenumbers.carrier", "phonenumbers.carrierdata")) == []


def test_a_light_verb_on_a_sqlite_url_it_cannot_read_plainly_uses_sqlalchemy(
    light_env: dict[str, str],
) -> None:
    """A query string (here SQLAlchemy's ``timeout``) keeps the SQLAlchemy path."""
    env = {**light_env, "DIALERD_DATABASE__URL": light_env["DIALERD_DATABASE__URL"] + "?timeout=5"}
    loaded = _run(["campaign", "pause", "demo"], env)
    assert "dialerd.db.corerunner" in loaded and "dialerd.db.lite.runner" not in loaded
    assert _heavy(loaded, ("sqlalchemy.orm", "pydantic", "structlog", "alembic")) == []


def test_status_loads_the_holiday_tables_only_to_work_a_warning_out(
    light_env: dict[str, str],
) -> None:
    """The shipped demo names CN: the first run works its warning out, the next reads it."""
    toml = DEMO / "demo.toml"
    subprocess.run(
        [sys.executable, "-m", "dialerd", "campaign", "load", str(toml)],
        env=light_env,
        check=True,
        capture_output=True,
    )
    first = _run(["status"], light_env)
    assert "holidays" in first
    light = ("sqlalchemy", "pydantic_settings", "structlog", "alembic")
    assert _heavy(first, light) == []
    assert _heavy(_run(["status"], light_env), HEAVY_RUN) == []  # kept in XDG_CACHE_HOME
