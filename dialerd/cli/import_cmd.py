"""``dialerd import CAMPAIGN FILE.csv``: load a contact list into a campaign (or preview it)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError
from sqlalchemy import select

from dialerd.campaignfile.convert import to_calendar, to_relative_times
from dialerd.campaignfile.loader import check_file
from dialerd.campaignfile.models import CampaignFile
from dialerd.cli.context import CliContext, pass_cli
from dialerd.db.models import Campaign
from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.workdays import RelativeTimes
from dialerd.errors import CampaignNotFound
from dialerd.importer.ported import PortedCarriers
from dialerd.importer.preview import PreviewCounts, preview_lines
from dialerd.importer.reader import ContactFileError
from dialerd.importer.service import ImportSummary, import_contacts

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

DEFAULT_REGION = "CN"


@click.command("import")
@click.argument("campaign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--rejects",
    "rejects_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write refused rows. Default: <file>.rejects.csv next to FILE.",
)
@click.option("--encoding", help="Force the file's encoding (default: UTF-8, else GB18030).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option(
    "--preview",
    is_flag=True,
    help="Show the first rows as dialerd reads them (numbers, carriers, refusals); write nothing."
    " CAMPAIGN may then also be a campaign file.",
)
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="With --preview: how many rows to show.",
)
@pass_cli
def import_(
    ctx: CliContext,
    campaign: str,
    file: Path,
    rejects_path: Path | None,
    encoding: str | None,
    as_json: bool,
    preview: bool,
    rows: int,
) -> None:
    """Import contacts from FILE.csv into CAMPAIGN (rows already loaded are skipped).

    The campaign's [columns] table maps the list's own headers to dialerd's fields.
    """
    click.get_current_context().call_on_close(ctx.engine.dispose)
    if preview and campaign.endswith(".toml") and Path(campaign).is_file():
        model = _campaign_file(ctx, Path(campaign))
        _preview(file, model.region, model.timezone, model.column_map(), encoding, rows)
        return
    with ctx.sessions() as session:
        found = session.execute(
            select(Campaign.id, Campaign.config, Campaign.timezone).where(Campaign.name == campaign)
        ).first()
    if found is None:
        raise CampaignNotFound(f"no campaign named {campaign!r}")
    campaign_id, config, timezone = found
    region = str((config or {}).get("region") or DEFAULT_REGION)
    timezone = str((config or {}).get("timezone") or timezone)
    columns = _column_map(config or {})
    if preview:
        _preview(file, region, timezone, columns, encoding, rows)
        return
    bar = _progress(file)
    try:
        summary = import_contacts(
            ctx.engine,
            campaign_id=campaign_id,
            path=file,
            region=region,
            default_timezone=timezone,
            rejects_path=rejects_path,
            encoding=encoding,
            now=datetime.now(UTC),
            progress=bar.update if bar is not None else None,
            columns=columns,
            ported=_ported(ctx.settings.carriers.ported_file),
            relative=_relative(config),
        )
    except ContactFileError as exc:
        click.echo(str(exc.problem), err=True)
        sys.exit(1)
    finally:
        if bar is not None:
            bar.render_finish()
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False))
    else:
        _print(summary)


def _column_map(config: dict[str, Any]) -> dict[str, tuple[str, ...]] | None:
    """The ``[columns]`` table as the campaigns table stores it (field -> headers)."""
    table = config.get("columns")
    if not isinstance(table, dict):
        return None
    return {str(f): tuple(str(h) for h in names) for f, names in table.items() if names}


def _campaign_file(ctx: CliContext, path: Path) -> CampaignFile:
    loaded, problems = check_file(path, lists_dirs=ctx.settings.lists_dirs)
    for problem in problems:
        click.echo(str(problem), err=True)
    if loaded is None:
        sys.exit(1)
    return loaded.model


def _preview(
    file: Path,
    region: str,
    timezone: str,
    columns: dict[str, tuple[str, ...]] | None,
    encoding: str | None,
    rows: int,
) -> None:
    counts = PreviewCounts()
    try:
        for line in preview_lines(
            file,
            region=region,
            default_timezone=timezone,
            columns=columns,
            encoding=encoding,
            rows=rows,
            counts=counts,
        ):
            click.echo(line)
    except ContactFileError as exc:
        click.echo(str(exc.problem), err=True)
        sys.exit(1)
    click.echo(
        f"first {counts.rows} row(s): {counts.would_load} would load with {counts.numbers} "
        f"number(s), {counts.refused} refused, {counts.numbers_dropped} number(s) dropped "
        "(nothing written; the database's contacts and do-not-call list not checked)"
    )


def _progress(file: Path) -> ProgressBar[int] | None:
    """A bytes-read progress bar on stderr, only when stderr is a terminal."""
    if not sys.stderr.isatty():
        return None
    return click.progressbar(length=file.stat().st_size, label="importing", file=sys.stderr)


def _print(summary: ImportSummary) -> None:
    click.echo(f"loaded:            {summary.loaded} contacts, {summary.numbers} numbers")
    if summary.already_loaded:
        click.echo(f"already loaded:    {summary.already_loaded} (skipped)")
    numbers = summary.rejected_numbers
    click.echo(f"rejected contacts: {summary.contacts_rejected} (rows not loaded)")
    for reason, count in sorted(summary.rejected.items()):
        if count > numbers.get(reason, 0):
            click.echo(f"  {reason}: {count - numbers.get(reason, 0)}")
    click.echo(f"rejected numbers:  {summary.numbers_rejected} (dropped from their rows)")
    for reason, count in sorted(numbers.items()):
        click.echo(f"  {reason}: {count}")
    click.echo(f"duplicates:        {summary.duplicates}")
    click.echo(f"dnc suppressed:    {summary.dnc_suppressed}")
    click.echo(f"rejects file:      {summary.rejects_file or '-'}")


def _ported(path: Path | None) -> PortedCarriers | None:
    """The ported-numbers lookup (``carriers.ported_file``), when set."""
    return PortedCarriers(path) if path is not None else None


def _relative(config: dict[str, object] | None) -> tuple[RelativeTimes, CallingCalendar] | None:
    """The stored campaign file's reminder / callback_within rules and calendar, when set."""
    try:
        model = CampaignFile.model_validate(config or {})
    except ValidationError:
        return None  # an older stored format: no relative times
    rules = to_relative_times(model)
    return None if rules is None else (rules, to_calendar(model))
