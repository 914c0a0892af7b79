"""The light verbs start without the heavy libraries (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade

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
