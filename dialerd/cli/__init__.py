"""The ``dialerd`` command: operator verbs, one error boundary.

Each verb group lives in its own module and is registered in ``COMMANDS``: one
line naming where it lives and its one-line help. A verb's module is imported only
when that verb runs (``dialerd --help`` imports none), so a light verb starts fast.
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
from dialerd.cli.lazy import Lazy, LazyGroup
from dialerd.errors import DialerdError

COMMANDS = {
    "api": Lazy(
        "dialerd.cli.api_cmd:api_group", "The HTTP API (api.enabled): its tokens and scopes."
    ),
    "attempts": Lazy(
        "dialerd.cli.attempts_cmd:attempts_group",
        "The dial log: export a campaign's dials (attempts CAMPAIGN), correct an outcome.",
    ),
    "campaign": Lazy(
        "dialerd.cli.campaign_cmd:campaign",
        "Campaigns: validate files, load them, and control them.",
    ),
    "config": Lazy("dialerd.cli.config_cmd:config", "Settings: show what is in effect."),
    "contact": Lazy(
        "dialerd.cli.contact_cmd:contact",
        "Every dial of one contact (outcome, 中文 label, caller ID, channel, round) and its "
        "next step with why it waits.",
    ),
    "db": Lazy("dialerd.cli.db_cmd:db", "Database schema: upgrade and inspect."),
    "dnc": Lazy(
        "dialerd.cli.dnc_cmd:dnc_group",
        "Do-not-call list: numbers, prefixes (+86755*) and contact ids.",
    ),
    "import": Lazy(
        "dialerd.cli.import_cmd:import_",
        "Import contacts from FILE.csv into CAMPAIGN (rows already loaded are skipped).",
    ),
    "recordings": Lazy(
        "dialerd.cli.recordings_cmd:group", "Call recordings: the supervisors' spot checks."
    ),
    "report": Lazy(
        "dialerd.cli.report_cmd:report",
        "Report CAMPAIGN's figures (docs/database.md defines each one).",
    ),
    "run": Lazy(
        "dialerd.cli.run_cmd:run",
        "Run the daemon: load campaigns, connect the PBX, dial until SIGTERM.",
    ),
    "simulate": Lazy(
        "dialerd.cli.simulate_cmd:simulate",
        "Run the real scheduler on a virtual clock against the simulated PBX; print the plan.",
    ),
    "status": Lazy(
        "dialerd.cli.control_cmd:status",
        "Daemons alive and campaigns; exit status 3 when no daemon is alive.",
    ),
    "top": Lazy(
        "dialerd.cli.top_cmd:top",
        "Live campaigns and daemons, refreshed every INTERVAL seconds; p/r pause and resume.",
    ),
}


class _Group(LazyGroup):
    """The error boundary: expected errors become one clear line and a documented status.

    Whatever is printed goes through ``redact_text``: a URL in it shows no password.
    """

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            error = exc if isinstance(exc, DialerdError) else _database_error(exc)
            if error is None:
                raise
            obj = ctx.obj if isinstance(ctx.obj, CliContext) else None
            from dialerd.redact import redact_text

            if obj is not None and obj.verbose:
                click.echo(redact_text(traceback.format_exc()), err=True, nl=False)
            message = str(error)
            if error is not exc and obj is not None:  # a database error: say which database
                message = f"{message} (database {obj.basic.database.url})"
            message = redact_text(message)
            if obj is not None and obj.json_errors:
                doc = {"error": error.code, "message": message, "exit_status": error.exit_status}
                click.echo(json.dumps(doc))
            click.echo(f"dialerd: {message}", err=True)
            sys.exit(error.exit_status)


def _database_error(exc: Exception) -> DialerdError | None:
    """``database_error``, importing SQLAlchemy only when a verb has loaded it already.

    A ``sqlite3`` error comes from the light verbs' database (:mod:`dialerd.db.lite`).
    """
    if "sqlite3" in sys.modules:
        from dialerd.db.lite.errors import database_error as lite_error

        found = lite_error(exc)
        if found is not None:
            return found
    if "sqlalchemy" not in sys.modules:
        return None  # no verb touched the database: this is no database error
    from dialerd.db.failures import database_error

    return database_error(exc)


@click.group(cls=_Group, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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


def main() -> None:
    cli(prog_name="dialerd")
