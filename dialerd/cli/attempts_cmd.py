"""``dialerd attempts``: the dial log of a campaign, one row per dial, streamed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from dialerd.actions.corrections import correct_outcome
from dialerd.cli.context import CliContext, pass_cli
from dialerd.cli.control_cmd import open_db
from dialerd.cli.report_cmd import DAY, need_output, open_output
from dialerd.reporting import attempts as export


@click.command("attempts")
@click.argument("campaign")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "json", "xlsx"]),
    default="csv",
    show_default=True,
)
@click.option("--since", type=DAY, help="First day (YYYY-MM-DD, campaign time zone).")
@click.option("--until", type=DAY, help="Last day (YYYY-MM-DD, campaign time zone), inclusive.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output (xlsx needs it).")  # fmt: skip
@click.option("--show-numbers", is_flag=True, help="Show phone numbers unmasked.")
@pass_cli
def attempts(
    ctx: CliContext,
    campaign: str,
    fmt: str,
    since: datetime | None,
    until: datetime | None,
    output: Path | None,
    show_numbers: bool,
) -> None:
    """Export CAMPAIGN's dials with their times, outcome and raw PBX signals."""
    need_output(fmt, output)
    rows = export.iter_attempts(
        ctx.read_engine,
        campaign,
        since=since.date() if since else None,
        until=until.date() if until else None,
        show_numbers=show_numbers,
    )
    if fmt == "xlsx":
        assert output is not None
        count = export.write_xlsx_file(
            rows, output, export.campaign_zone(ctx.read_engine, campaign)
        )
    else:
        with open_output(output) as out:
            count = (export.write_csv if fmt == "csv" else export.write_json)(rows, out)
    if output is not None:
        click.echo(f"{count} dials written to {output}", err=True)


class _AttemptsGroup(click.Group):
    """``attempts CAMPAIGN ...`` exports; ``attempts correct ...`` is a subcommand."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["export", *args]
        return super().parse_args(ctx, args)


attempts_group = _AttemptsGroup(
    "attempts",
    help="The dial log: export a campaign's dials (attempts CAMPAIGN), correct an outcome.",
    options_metavar="",
    subcommand_metavar="CAMPAIGN [OPTIONS] | correct ATTEMPT CODE --by NAME",
)
attempts_group.add_command(attempts, "export")


@attempts_group.command("correct")
@click.argument("attempt_id", metavar="ATTEMPT", type=int)
@click.argument("code")
@click.option("--by", "by", required=True, metavar="NAME", help="Who corrects (audit log).")
@click.option("--note", metavar="TEXT", help="Why (audit log).")
@pass_cli
def correct(ctx: CliContext, attempt_id: int, code: str, by: str, note: str | None) -> None:
    """Correct ATTEMPT's outcome to CODE (a code or its Chinese label); its treatment follows."""
    open_db(ctx)
    done = correct_outcome(ctx.engine, attempt_id, code, by=by, note=note, now=ctx.now())
    if not done.changed:
        click.echo(f"attempt {done.attempt_id} already has outcome {done.after}; nothing changed")
        return
    nxt = done.next_dial_at.isoformat() if done.next_dial_at else "none"
    click.echo(
        f"attempt {done.attempt_id} ({done.campaign}, contact {done.contact}): "
        f"{done.before} -> {done.after}; treatment {done.treatment}; next dial {nxt}"
    )
