"""``dialerd recordings sample``: the supervisors' recording spot-check list."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from dialerd.cli.context import CliContext, pass_cli
from dialerd.cli.control_cmd import render_table
from dialerd.cli.report_cmd import DAY, open_output
from dialerd.reporting import recordings


@click.group("recordings")
def group() -> None:
    """Call recordings: the supervisors' spot checks."""


@group.command("sample")
@click.argument("campaign")
@click.option("--day", type=DAY, help="The local day (YYYY-MM-DD): daily check, 10 %.")
@click.option("--week", type=DAY, help="A date in the Monday-Sunday week: weekly check, 5 %.")
@click.option("--percent", type=click.FloatRange(0, 100, min_open=True),
              help="Share of valid recordings to list (default 10 daily, 5 weekly).")  # fmt: skip
@click.option(
    "--seed", default="", help="Another seed draws another sample; the same seed, the same."
)
@click.option("--format", "fmt", type=click.Choice(["table", "csv"]), default="table",
              show_default=True)  # fmt: skip
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output.")  # fmt: skip
@pass_cli
def sample(
    ctx: CliContext,
    campaign: str,
    day: datetime | None,
    week: datetime | None,
    percent: float | None,
    seed: str,
    fmt: str,
    output: Path | None,
) -> None:
    """List CAMPAIGN's recordings to spot-check for one day or one week (reproducible)."""
    if (day is None) == (week is None):
        raise click.UsageError("give exactly one of --day DATE and --week DATE")
    if day is not None:
        period = recordings.Period.day(day.date())
        share = recordings.DAILY_PERCENT if percent is None else percent
    else:
        assert week is not None
        period = recordings.Period.week(week.date())
        share = recordings.WEEKLY_PERCENT if percent is None else percent
    checks, total, zone = recordings.sample(
        ctx.read_engine, campaign, period, percent=share, seed=seed
    )
    with open_output(output) as out:
        if fmt == "csv":
            recordings.write_csv(out, checks, zone)
        else:
            rows = [tuple("" if v is None else v for v in c.row(zone)) for c in checks]
            out.write(render_table([h.upper() for h in recordings.HEADER], rows) + "\n")
    click.echo(
        f"{campaign} {period.label}: {len(checks)} of {total} valid recording(s) ({share:g} %)",
        err=True,
    )
