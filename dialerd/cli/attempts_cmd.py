"""``dialerd attempts``: the dial log of a campaign, one row per dial, streamed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from dialerd.cli.context import CliContext, pass_cli
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


def register(group: click.Group) -> None:
    group.add_command(attempts)
