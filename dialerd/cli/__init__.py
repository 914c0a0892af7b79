"""The ``dialerd`` command: operator verbs, one error boundary.

Each verb group lives in its own module and is registered in ``_register``.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from dialerd.cli.context import CliContext
from dialerd.errors import DialerdError
from dialerd.redact import redact_text


class _Group(click.Group):
    """Turns expected errors into one clear line and exit status 1 (traceback with -v).

    Whatever is printed goes through ``redact_text``: a URL in it shows no password.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DialerdError as exc:
            self._fail(ctx, str(exc))
        except OperationalError as exc:  # the database is unreachable or refused us
            obj = ctx.obj if isinstance(ctx.obj, CliContext) else None
            url = obj.settings.database.url if obj is not None else "the database"
            self._fail(ctx, f"{url}: {str(exc.orig or exc).splitlines()[0]}")

    @staticmethod
    def _fail(ctx: click.Context, message: str) -> None:
        obj = ctx.obj if isinstance(ctx.obj, CliContext) else None
        if obj is not None and obj.verbose:
            click.echo(redact_text(traceback.format_exc()), err=True, nl=False)
        click.echo(f"dialerd: {redact_text(message)}", err=True)
        sys.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DIALERD_CONFIG",
    help="Settings file (TOML). Default: /etc/dialerd/dialerd.toml when present. "
    "[env: DIALERD_CONFIG]",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks on errors.")
@click.version_option(package_name="dialerd")
@click.pass_context
def cli(ctx: click.Context, config_file: Path | None, verbose: bool) -> None:
    """dialerd: outbound dialing campaigns for Asterisk."""
    ctx.obj = CliContext(config_file=config_file, verbose=verbose)


def _register() -> None:
    from dialerd.cli import (
        attempts_cmd,
        campaign_cmd,
        config_cmd,
        contact_cmd,
        control_cmd,
        db_cmd,
        dnc_cmd,
        import_cmd,
        report_cmd,
        run_cmd,
        simulate_cmd,
        top_cmd,
    )

    for module in (
        config_cmd,
        db_cmd,
        campaign_cmd,
        control_cmd,
        contact_cmd,
        dnc_cmd,
        import_cmd,
        report_cmd,
        attempts_cmd,
        run_cmd,
        simulate_cmd,
        top_cmd,
    ):
        module.register(cli)


_register()


def main() -> None:
    cli(prog_name="dialerd")
