"""``dialerd config``: the effective settings."""

from __future__ import annotations

import json

import click

from dialerd.cli.context import CliContext, pass_cli
from dialerd.settings import resolve_config_file
from dialerd.settings_sources import describe


@click.group("config")
def config() -> None:
    """Settings: show what is in effect."""


@config.command("show")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per setting.")
@pass_cli
def show(ctx: CliContext, as_json: bool) -> None:
    """Print every setting, secrets masked, with the source it came from."""
    rows = describe(ctx.settings, resolve_config_file(ctx.config_file))
    if as_json:
        for key, value, source in rows:
            click.echo(json.dumps({"key": key, "value": value, "source": source}))
        return
    width = max(len(k) for k, _, _ in rows)
    for key, value, source in rows:
        click.echo(f"{key:<{width}}  {value}  [{source}]")
