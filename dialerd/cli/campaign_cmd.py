"""``dialerd campaign``: check campaign files and load them into the database.

``set`` and ``reset`` change a campaign's pace through the database. The other
verbs of the group (list, status, pause, resume, stop) live in ``control_cmd`` and
are imported when used; every verb imports its layers inside its body.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dialerd.cli.context import CliContext, pass_cli
from dialerd.cli.lazy import Lazy, LazyGroup

if TYPE_CHECKING:
    from dialerd.campaignfile.loader import LoadedCampaign

_FILES = click.Path(exists=False, path_type=Path)
_CONTROL = "dialerd.cli.control_cmd"


@click.group(
    "campaign",
    cls=LazyGroup,
    lazy={
        "list": Lazy(
            f"{_CONTROL}:list_campaigns",
            "Every campaign: state, contacts by state, numbers due now, calls in flight.",
        ),
        "status": Lazy(
            f"{_CONTROL}:campaign_status",
            "One campaign in detail: state, rounds funnel, outcomes so far, queue.",
        ),
        "pause": Lazy(
            f"{_CONTROL}:pause",
            "Start no new dials; calls in flight finish. Every daemon sees it on its next tick.",
        ),
        "resume": Lazy(f"{_CONTROL}:resume", "Make a paused or stopped campaign active again."),
        "stop": Lazy(
            f"{_CONTROL}:stop",
            "Stop dialling for good (until resumed); contacts are left as they are.",
        ),
    },
)
def campaign() -> None:
    """Campaigns: validate files, load them, and control them."""


def _expand(paths: Iterable[Path]) -> list[Path]:
    """Files as given; a folder stands for its ``*.toml`` files."""
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob("*.toml")) if path.is_dir() else [path])
    return out


def _report(problems: Iterable[object]) -> tuple[int, int]:
    """Print each problem; return (errors, warnings)."""
    from dialerd.campaignfile.errors import Problem

    errors = warnings = 0
    for problem in problems:
        click.echo(str(problem))
        if isinstance(problem, Problem) and problem.severity == "warning":
            warnings += 1
        else:
            errors += 1
    return errors, warnings


def _check(
    files: Sequence[Path], lists_dirs: Sequence[Path]
) -> tuple[list[LoadedCampaign], int, int]:
    from dialerd.engine import registry

    loaded, file_problems = registry.load_files(_expand(files), lists_dirs=lists_dirs)
    errors, warnings = _report(p for fp in file_problems for p in fp.problems)
    return loaded, errors, warnings


@campaign.command("validate")
@click.argument("files", nargs=-1, required=True, type=_FILES)
@pass_cli
def validate(ctx: CliContext, files: tuple[Path, ...]) -> None:
    """Check campaign FILES (or folders of them) and their contact lists; write nothing.

    Prints every problem as ``path:line: field: message``; exits 1 on any error.
    """
    from dialerd.importer import check_file as check_contacts

    loaded, errors, warnings = _check(files, ctx.settings.lists_dirs)
    rows = 0
    for item in loaded:
        for contacts in item.contact_paths:
            found = check_contacts(
                contacts, region=item.model.region, columns=item.model.column_map()
            )
            rows += _report(found)[0]
    click.echo(
        f"campaign files: {len(loaded)} valid, {errors} error(s), {warnings} warning(s); "
        f"contact lists: {rows} problem(s)",
        err=True,
    )
    if errors or rows:
        raise SystemExit(1)


@campaign.command("load")
@click.argument("files", nargs=-1, required=True, type=_FILES)
@click.option(
    "--skip-contacts", is_flag=True, help="Register the campaigns only; import no contact list."
)
@pass_cli
def load(ctx: CliContext, files: tuple[Path, ...], skip_contacts: bool) -> None:
    """Register or update the campaigns in FILES, then import their contact lists.

    Nothing is written when any file has an error. A campaign keeps its state
    (active, paused...) across reloads; contacts already loaded are skipped.
    """
    loaded, errors, _ = _check(files, ctx.settings.lists_dirs)
    if errors:
        click.echo(f"{errors} error(s): nothing loaded", err=True)
        raise SystemExit(1)
    try:
        _load(ctx, loaded, skip_contacts)
    finally:
        ctx.engine.dispose()  # pooled connections closed now, not at garbage collection


def _load(ctx: CliContext, loaded: Sequence[LoadedCampaign], skip_contacts: bool) -> None:
    from dialerd.actions import pace
    from dialerd.db.revision import require_current
    from dialerd.engine import registry
    from dialerd.engine.campaigns import import_lists

    require_current(ctx.engine)
    now, actor = datetime.now(UTC), _actor()
    for item in loaded:
        with ctx.sessions.begin() as session:
            row, kind = registry.register(session, item, now=now, actor=actor)
            campaign_id = row.id
        click.echo(f"{item.name}: {kind.removeprefix('campaign_')} ({item.path})")
        with ctx.sessions.begin() as session:
            for name, key in pace.drop_stale(session, who=actor, now=now):
                click.echo(f"  {name}: the file changed {key}: its `campaign set` override ends")
        if skip_contacts:
            continue
        for contacts, summary in import_lists(ctx.engine, item, campaign_id, now=now, actor=actor):
            if summary is None:
                click.echo(f"  {contacts}: unchanged since its last import")
                continue
            click.echo(
                f"  {contacts}: {summary.loaded} contact(s), {summary.numbers} number(s) loaded, "
                f"{summary.already_loaded} already loaded, {summary.contacts_rejected} "
                f"contact(s) and {summary.numbers_rejected} number(s) rejected, "
                f"{summary.duplicates} duplicate(s), {summary.dnc_suppressed} do-not-call"
                + (f" (rejects: {summary.rejects_file})" if summary.rejects_file else "")
            )


@campaign.command("set")
@click.argument("name")
@click.argument("assignments", nargs=-1, required=True, metavar="KEY=VALUE...")
@pass_cli
def set_pace(ctx: CliContext, name: str, assignments: tuple[str, ...]) -> None:
    """Set campaign NAME's pace without editing its file, for every daemon.

    Keys: max_concurrent, calls_per_second, priority, weight; values are checked
    like the file's. Daemons apply it on their next tick. It holds until
    `dialerd campaign reset NAME KEY` or until the file's value of that key changes.
    """
    from dialerd.actions import control, pace
    from dialerd.db.revision import require_current

    values = pace.parse_assignments(assignments)
    require_current(ctx.engine)
    with ctx.sessions.begin() as session:
        change = pace.set_pace(session, name, values, who=control.actor(), now=datetime.now(UTC))
    for key, (before, after) in change.changes.items():
        click.echo(f"campaign {name}: {key} {before} -> {after}")


@campaign.command("reset")
@click.argument("name")
@click.argument("keys", nargs=-1)
@pass_cli
def reset_pace(ctx: CliContext, name: str, keys: tuple[str, ...]) -> None:
    """Drop campaign NAME's `campaign set` overrides of KEYS (all when none): the file rules."""
    from dialerd.actions import control, pace
    from dialerd.db.revision import require_current

    require_current(ctx.engine)
    with ctx.sessions.begin() as session:
        change = pace.reset_pace(session, name, keys, who=control.actor(), now=datetime.now(UTC))
    for key, (before, after) in change.changes.items():
        click.echo(f"campaign {name}: {key} {before} -> {after} (the file's value)")
    if not change.changes:
        click.echo(f"campaign {name}: no override to reset")


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):
        return "cli"
