"""``dialerd dnc add|remove|import|list``: the do-not-call list, shared by every daemon.

Each verb imports the database layers in its body: resolving one loads only click.
``add`` runs on the light verbs' database (``sqlite3`` on SQLite, else a Core
connection); SQLAlchemy and the ORM load only when contacts need requeueing.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dialerd.cli.context import CliContext, pass_cli
from dialerd.cli.control_cmd import format_time, open_db, open_light, render_table
from dialerd.errors import DialerdError

if TYPE_CHECKING:
    from dialerd.actions.dnc_targets import Target

_region = click.option(
    "--region",
    default="CN",
    show_default=True,
    help="Where numbers without a country code are dialled from (ISO 3166).",
)
_campaign = click.option(
    "--campaign", metavar="NAME", help="Only this campaign (default: every campaign)."
)
_contact = click.option(
    "--contact", "contact", metavar="EXTERNAL_ID", help="A contact id instead of a number."
)


@click.group("dnc")
def dnc_group() -> None:
    """Do-not-call list: numbers, prefixes (+86755*) and contact ids."""


def _target(value: str | None, contact: str | None, region: str) -> Target:
    from dialerd.actions import dnc_targets as dnc

    if (value is None) == (contact is None):
        raise click.UsageError("give a NUMBER, a PREFIX* or --contact EXTERNAL_ID (one of them)")
    try:
        if contact is not None:
            return dnc.contact_target(contact)
        assert value is not None
        return dnc.parse_target(value, region)
    except dnc.DncInputError as exc:
        raise DialerdError(f"{contact or value}: {exc}") from exc


@dnc_group.command("add")
@click.argument("target", metavar="[NUMBER|PREFIX*]", required=False)
@_contact
@_campaign
@click.option("--reason", default="", help="Why (kept with the entry).")
@_region
@pass_cli
def add(
    ctx: CliContext,
    target: str | None,
    contact: str | None,
    campaign: str | None,
    reason: str,
    region: str,
) -> None:
    """Never dial this number, prefix or contact; matching numbers leave the queue at once."""
    from dialerd.actions import dnc_add
    from dialerd.actions.control import actor

    entry = _target(target, contact, region)
    db = open_light(ctx)
    with db.writing() as run:
        change = dnc_add.add(
            run,
            entry,
            campaign=campaign,
            reason=reason,
            source="cli",
            who=actor(),
            now=datetime.now(UTC),
        )
    now, moved = db.now(), 0
    if change.contacts:  # the engine's rules (and the ORM) load only for these
        from dialerd.actions.requeue import requeue_all

        moved = requeue_all(ctx.sessions, change.contacts, now=now)
    what = "added" if change.entries else "already present"
    click.echo(
        f"{entry}: {what}; {change.numbers} number(s) taken out of the queue, "
        f"{moved} contact(s) moved on to another number"
    )


@dnc_group.command("remove")
@click.argument("target", metavar="[NUMBER|PREFIX*]", required=False)
@_contact
@_campaign
@_region
@pass_cli
def remove(
    ctx: CliContext, target: str | None, contact: str | None, campaign: str | None, region: str
) -> None:
    """Remove an entry; numbers no other entry blocks become dialable again."""
    from dialerd.actions import dnc
    from dialerd.actions.control import actor
    from dialerd.actions.requeue import requeue_all

    entry = _target(target, contact, region)
    sessions = open_db(ctx)
    with sessions.begin() as session:
        change = dnc.remove(session, entry, campaign=campaign, who=actor(), now=datetime.now(UTC))
    if not change.entries:
        raise DialerdError(
            f"{entry}: not on the do-not-call list"
            + (f" of campaign {campaign!r}" if campaign else " (for every campaign)")
        )
    queued = requeue_all(sessions, change.contacts, now=ctx.now())
    click.echo(
        f"{entry}: removed; {change.numbers} number(s) dialable again, "
        f"{queued} contact(s) queued again"
    )


@dnc_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_region
@pass_cli
def import_(ctx: CliContext, path: Path, region: str) -> None:
    """Add entries from a CSV (columns: number|prefix|contact, reason, campaign).

    Rejected rows are printed as path:line: field: message; the others are added.
    """
    from dialerd.actions.control import actor
    from dialerd.actions.dnc_import import import_file
    from dialerd.actions.requeue import requeue_all

    sessions = open_db(ctx)
    with sessions.begin() as session:
        summary = import_file(session, path, region=region, who=actor(), now=datetime.now(UTC))
    moved = requeue_all(sessions, summary.contacts, now=ctx.now())
    for line in summary.rejects:
        click.echo(line, err=True)
    click.echo(
        f"{path}: {summary.rows} rows, {summary.added} added, {summary.already} already present, "
        f"{len(summary.rejects)} rejected; {summary.numbers} number(s) taken out of the queue, "
        f"{moved} contact(s) moved on to another number"
    )


@dnc_group.command("list")
@_campaign
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@pass_cli
def list_(ctx: CliContext, campaign: str | None, fmt: str) -> None:
    """The entries (with --campaign: that campaign's and the global ones)."""
    from dialerd.actions import dnc
    from dialerd.reporting.csvfile import write_rows
    from dialerd.reporting.labels import DNC_KIND_ZH

    sessions = open_db(ctx)
    with sessions() as session:
        rows = dnc.entries(session, campaign=campaign)
    fields = ("kind", "value", "campaign", "reason", "source", "created_at")
    records = [
        (r.kind, r.value, r.campaign or "", r.reason, r.source, r.created_at.isoformat())
        for r in rows
    ]
    if fmt == "json":
        click.echo(
            json.dumps(
                [dict(zip(fields, r, strict=True)) for r in records], indent=2, ensure_ascii=False
            )
        )
    elif fmt == "csv":  # the shared writer: BOM, formula escaping; kinds labelled in Chinese
        write_rows(
            sys.stdout,
            (*fields[:1], "kind_zh", *fields[1:]),
            ((r[0], DNC_KIND_ZH.get(r[0], ""), *r[1:]) for r in records),
        )
    else:
        table = [
            (r.kind, r.value, r.campaign or "*", r.reason, r.source, format_time(r.created_at))
            for r in rows
        ]
        click.echo(render_table([f.upper() for f in fields], table))
