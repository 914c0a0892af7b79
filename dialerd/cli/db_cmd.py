"""``dialerd db``: schema migrations."""

from __future__ import annotations

import click

from dialerd.cli.context import CliContext, pass_cli
from dialerd.db import migrate
from dialerd.errors import SchemaOutOfDate


@click.group("db")
def db() -> None:
    """Database schema: upgrade and inspect."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@pass_cli
def upgrade(ctx: CliContext, revision: str) -> None:
    """Bring the schema up to date (safe to run on every deploy)."""
    migrate.upgrade(ctx.engine, revision)
    click.echo(f"schema at {migrate.current_revision(ctx.engine)}")


@db.command("current")
@pass_cli
def current(ctx: CliContext) -> None:
    """Print the schema revision; exit 5 when it is not the latest."""
    rev, head = migrate.current_revision(ctx.engine), migrate.head_revision()
    click.echo(f"{rev or 'empty'} (latest {head})")
    if rev != head:
        raise SystemExit(SchemaOutOfDate.exit_status)
