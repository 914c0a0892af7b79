"""The light verbs start without the heavy libraries (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

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
