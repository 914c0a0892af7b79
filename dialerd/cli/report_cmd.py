"""``dialerd report``: a campaign's figures as a table, CSV, JSON, XLSX or an HTML page."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

import click

from dialerd.cli.context import CliContext, pass_cli
from dialerd.reporting import render_csv, render_html, render_table, render_xlsx
from dialerd.reporting.queries import load_report

DAY = click.DateTime(formats=["%Y-%m-%d"])
FILE_ONLY = ("html", "xlsx")  # formats that are files, never standard output


def need_output(fmt: str, output: Path | None) -> None:
    """A usage error when ``fmt`` writes a file and no ``--output`` names it."""
    if fmt in FILE_ONLY and output is None:
        raise click.UsageError(f"--format {fmt} writes a file: give --output FILE")


@contextmanager
def open_output(path: Path | None) -> Iterator[IO[str]]:
    """The file at ``path`` (UTF-8, newline as written), else standard output."""
    if path is None:
        yield sys.stdout
        return
    with path.open("w", encoding="utf-8", newline="") as out:
        yield out


@click.command("report")
@click.argument("campaign")
@click.option("--since", type=DAY, help="First day (YYYY-MM-DD) of daily rows and outcomes.")
@click.option("--until", type=DAY, help="Last day (YYYY-MM-DD), inclusive.")
@click.option("--daily", is_flag=True, help="Add one row per local day (table); CSV of the days.")
@click.option("--weekly", is_flag=True, help="Add the weekly summary (table); CSV of the weeks.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json", "html", "xlsx"]),
    default="table",
    show_default=True,
)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write here instead of standard output (html and xlsx need it).")  # fmt: skip
@click.option("--show-numbers", is_flag=True, help="Show phone numbers unmasked.")
@click.option("--show-names", is_flag=True, help="Show contact names unmasked.")
@pass_cli
def report(
    ctx: CliContext,
    campaign: str,
    since: datetime | None,
    until: datetime | None,
    daily: bool,
    weekly: bool,
    fmt: str,
    output: Path | None,
    show_numbers: bool,
    show_names: bool,
) -> None:
    """Report CAMPAIGN's figures (docs/database.md defines each one)."""
    need_output(fmt, output)
    data = load_report(
        ctx.read_engine,
        campaign,
        since=since.date() if since else None,
        until=until.date() if until else None,
        detail=daily or weekly or fmt != "table",
        show_numbers=show_numbers,
        show_names=show_names,
    )
    if fmt == "xlsx":
        assert output is not None
        render_xlsx.write_report(data, output)
        click.echo(f"report written to {output}", err=True)
        return
    with open_output(output) as out:
        if fmt == "table":
            out.write(render_table.render(data, daily, weekly))
        elif fmt == "csv":
            render_csv.report_csv(data, out, daily, weekly)
        elif fmt == "json":
            render_csv.report_json(data, out)
        else:
            out.write(render_html.render(data))
    if output is not None:
        click.echo(f"report written to {output}", err=True)
