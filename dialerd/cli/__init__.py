"""The ``dialerd`` command: operator verbs, one error boundary.

Each verb group lives in its own module and is registered in ``_register``.
Expected failures (``DialerdError``, and the database being unreachable, locked
or not migrated) end as one line on stderr and the error's exit status; a verb
that promised JSON (``CliContext.json_errors``) also prints a JSON error object
on stdout. Tracebacks only with ``-v``.
"""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from dialerd.cli.context import CliContext
from dialerd.db.failures import database_error
from dialerd.errors import DialerdError
from dialerd.redact import redact_text


class _Group(click.Group):
    """The error boundary: expected errors become one clear line and a documented status.

    Whatever is printed goes through ``redact_text``: a URL in it shows no password.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            error = exc if isinstance(exc, DialerdError) else database_error(exc)
            if error is None:
                raise
            obj = ctx.obj if isinstance(ctx.obj, CliContext) else None
            if obj is not None and obj.verbose:
                click.echo(redact_text(traceback.format_exc()), err=True, nl=False)
            message = str(error)
            if error is not exc and obj is not None:  # a database error: say which database
                message = f"{message} (database {obj.settings.database.url})"
            message = redact_text(message)
            if obj is not None and obj.json_errors:
                doc = {"error": error.code, "message": message, "exit_status": error.exit_status}
                click.echo(json.dumps(doc))
            click.echo(f"dialerd: {message}", err=True)
            sys.exit(error.exit_status)


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
        api_cmd,
        attempts_cmd,
        campaign_cmd,
        config_cmd,
        contact_cmd,
        control_cmd,
        db_cmd,
        dnc_cmd,
        import_cmd,
        recordings_cmd,
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
        recordings_cmd,
        run_cmd,
        simulate_cmd,
        api_cmd,
        top_cmd,
    ):
        module.register(cli)


_register()


def main() -> None:
    cli(prog_name="dialerd")
