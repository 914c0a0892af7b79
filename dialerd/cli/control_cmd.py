"""``dialerd campaign list|status|pause|resume|stop`` and ``dialerd status``, through the database.

They work with any number of daemons sharing the database: daemons read each
campaign's state on every tick and report themselves in the ``instances`` table.
The ``campaign`` group (in ``campaign_cmd``) names these commands; the database
layers are imported inside the verbs, so resolving one loads only click.
``status`` and ``pause|resume|stop`` run on the light verbs' database (:func:`open_light`):
on SQLite through ``sqlite3``, no SQLAlchemy; elsewhere on a Core connection, no ORM;
no pydantic either way (tests/integration/test_cli_startup.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from dialerd.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from dialerd.actions import overview
    from dialerd.actions.control import Action
    from dialerd.actions.port import Database

EXIT_NO_DAEMON = 3  # `dialerd status`: no daemon has a recent heartbeat
RECENT = timedelta(days=1)  # `dialerd status` lists instances seen this recently


def open_engine(ctx: CliContext) -> Engine:
    """Check the schema is current; the engine's pool is closed when the command ends."""
    from dialerd.db.revision import require_current

    click.get_current_context().call_on_close(ctx.engine.dispose)
    require_current(ctx.engine)
    return ctx.engine


def open_light(ctx: CliContext) -> Database:
    """The light verbs' database (:attr:`CliContext.light_db`), its schema checked."""
    ctx.light_db.require_current()
    return ctx.light_db


def open_db(ctx: CliContext) -> sessionmaker[Session]:
    """``open_engine``, then ORM sessions on it."""
    open_engine(ctx)
    return ctx.sessions


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns, two spaces apart; numbers right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(list(headers)), *(line(r) for r in cells)])


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return format_time(value)
    return str(value)


def format_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _ago(value: datetime, now: datetime) -> str:
    seconds = max(0, int((now - value).total_seconds()))
    if seconds < 120:
        return f"{seconds}s ago"
    if seconds < 7200:
        return f"{seconds // 60}m ago"
    return f"{seconds // 3600}h ago"


def _contacts(counts: dict[str, int]) -> str:
    return " ".join(f"{state}={n}" for state, n in counts.items()) or "-"


@click.command("list")
@pass_cli
def list_campaigns(ctx: CliContext) -> None:
    """Every campaign: state, contacts by state, numbers due now, calls in flight."""
    from dialerd.actions import overview

    sessions = open_db(ctx)
    now = datetime.now(UTC)
    with sessions() as session:
        rows = overview.summaries(session, now=now)
    if not rows:
        click.echo("no campaigns: load one with `dialerd campaign load FILE`")
        return
    headers = ("NAME", "STATE", "CONTACTS", "DUE NOW", "IN FLIGHT", "LAST DIAL", "BY STATE")
    click.echo(
        render_table(
            headers,
            [
                (
                    r.name,
                    r.state,
                    r.contacts_total,
                    r.due_now,
                    r.in_flight,
                    r.last_activity,
                    _contacts(r.contacts),
                )
                for r in rows
            ],
        )
    )


@click.command("status")
@click.argument("name")
@pass_cli
def campaign_status(ctx: CliContext, name: str) -> None:
    """One campaign in detail: state, rounds funnel, outcomes so far, queue."""
    from dialerd.actions import overview, pace

    sessions = open_db(ctx)
    now = datetime.now(UTC)
    with sessions() as session:
        d = overview.detail(session, name, now=now)
        overrides = pace.overrides_of(session, d.summary.id)
    s = d.summary
    echo = click.echo
    echo(f"campaign   {s.name}")
    echo(f"state      {s.state}")
    echo(f"timezone   {d.timezone}")
    echo(f"contacts   {s.contacts_total} ({_contacts(s.contacts)})")
    echo(f"numbers    {_contacts(d.numbers)}")
    echo(f"due now    {s.due_now}")
    echo(f"later      {d.scheduled_later} (next due {format_time(d.next_due)})")
    echo(f"in flight  {s.in_flight}")
    echo(f"last dial  {format_time(s.last_activity)}")
    hours = overview.calling_hours(d.config, now=now)
    if hours is not None:
        opens = "open now" if hours.open_now else f"closed, opens {format_time(hours.next_open)}"
        echo(f"windows    {', '.join(hours.windows)} ({d.timezone}); {opens}")
    for o in overrides:
        state = "in force" if o.applies else "ended: the file changed it"
        echo(
            f"override   {o.key} = {o.value} (file {o.file_value}; "
            f"{o.set_by}, {format_time(o.set_at)}; {state})"
        )
    echo(f"rounds     (at most {d.max_rounds})")
    for step in d.rounds:
        results = " ".join(f"{k}={v}" for k, v in sorted(step.results.items()))
        echo(
            f"  round {step.number}: started {step.started}, ended {step.ended}  {results}".rstrip()
        )
    if not d.rounds:
        echo("  none started")
    echo("outcomes")
    for code, n in d.outcomes.items():
        echo(f"  {code:<22} {n}")
    if not d.outcomes:
        echo("  none yet")


def _state_command(action: Action, help_text: str) -> click.Command:
    @click.command(action, help=help_text)
    @click.argument("name")
    @pass_cli
    def command(ctx: CliContext, name: str) -> None:
        from dialerd.actions import control

        db = open_light(ctx)
        now = db.now()  # a resume queues by the database's clock, as the daemons dial
        with db.writing() as run:
            change = control.change_state(run, name, action, who=control.actor(), now=now)
        if change.changed:
            click.echo(f"campaign {name}: {change.old} -> {change.new}")
        else:
            click.echo(f"campaign {name} is already {change.new}")

    return command


pause = _state_command(
    "pause", "Start no new dials; calls in flight finish. Every daemon sees it on its next tick."
)
resume = _state_command("resume", "Make a paused or stopped campaign active again.")
stop = _state_command(
    "stop", "Stop dialling for good (until resumed); contacts are left as they are."
)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of tables.")
@pass_cli
def status(ctx: CliContext, as_json: bool) -> None:
    """Daemons alive and campaigns; exit status 3 when no daemon is alive."""
    from dialerd.actions import overview
    from dialerd.cli.notices import NoticeCache, cache_file
    from dialerd.domain.liveness import is_alive

    ctx.json_errors = as_json
    db = open_light(ctx)
    now = db.now()  # heartbeats are written with the database's clock
    beat_s = ctx.basic.scheduler.heartbeat_s
    notices = NoticeCache(cache_file(), now=now, work_out=overview.holiday_notice)
    with db.reading() as run:
        daemons = overview.daemons(run, since=now - RECENT)
        campaigns = overview.summaries(run, now=now)
        warnings = overview.calendar_warnings(run, now=now, notice=notices.notice)
    notices.save()
    alive = [is_alive(d, now=now, heartbeat_s=beat_s) for d in daemons]
    if as_json:
        from dialerd.redact import redact

        doc = {
            "daemons": [
                {
                    "id": d.id,
                    "alive": ok,
                    "hostname": d.hostname,
                    "pid": d.pid,
                    "version": d.version,
                    "heartbeat_at": d.heartbeat_at.isoformat(),
                    "stopped_at": d.stopped_at.isoformat() if d.stopped_at else None,
                    "pbx_kind": d.pbx_kind,
                    "pbx_up": d.pbx_up,
                    "in_flight": d.in_flight,
                    "status": redact(d.status or {}),
                }
                for d, ok in zip(daemons, alive, strict=True)
            ],
            "campaigns": [
                {"name": c.name, "state": c.state, "due_now": c.due_now, "in_flight": c.in_flight}
                for c in campaigns
            ],
            "warnings": [{"campaign": k, "message": v} for k, v in sorted(warnings.items())],
        }
        click.echo(json.dumps(doc, indent=2))
    else:
        _print_status(daemons, alive, campaigns, now)
        for name, message in sorted(warnings.items()):
            click.echo(f"warning: {name}: {message}")
    if not any(alive):
        click.get_current_context().exit(EXIT_NO_DAEMON)


def _print_status(
    daemons: Sequence[Any],
    alive: Sequence[bool],
    campaigns: Sequence[overview.CampaignSummary],
    now: datetime,
) -> None:
    click.echo(f"daemons: {sum(alive)} alive")
    if daemons:
        rows = [
            (
                d.id,
                "alive" if ok else ("stopped" if d.stopped_at else "gone"),
                _ago(d.heartbeat_at, now),
                f"{d.pbx_kind} {'up' if d.pbx_up else 'down'}",
                d.in_flight,
                (d.status or {}).get("dial_rate", "-") if ok else "-",
                d.version,
            )
            for d, ok in zip(daemons, alive, strict=True)
        ]
        headers = ("INSTANCE", "STATE", "HEARTBEAT", "PBX", "IN FLIGHT", "DIALS/S", "VERSION")
        click.echo(render_table(headers, rows))
    _print_agents(daemons, alive)
    click.echo("")
    click.echo(f"campaigns: {len(campaigns)}")
    if campaigns:
        click.echo(
            render_table(
                ("NAME", "STATE", "DUE NOW", "IN FLIGHT"),
                [(c.name, c.state, c.due_now, c.in_flight) for c in campaigns],
            )
        )


def _print_agents(daemons: Sequence[Any], alive: Sequence[bool]) -> None:
    """Agents per queue, as each live daemon last reported them (none: nothing printed)."""
    from dialerd.domain.agents import QueueCounts

    rows = []
    for d, ok in zip(daemons, alive, strict=True):
        reported = (d.status or {}).get("agents") if ok else None
        if not isinstance(reported, list):
            continue
        for doc in reported:
            if isinstance(doc, dict):
                q = QueueCounts.from_dict(doc)
                counts = (q.ready, q.talking, q.ringing, q.wrap_up, q.paused, q.unavailable)
                occupancy = "-" if q.occupancy is None else f"{q.occupancy * 100:.0f} %"
                rows.append((d.id, q.queue, *counts, q.waiting, occupancy))
    if rows:
        click.echo("")
        click.echo("agents:")
        headers = ("INSTANCE", "QUEUE", "READY", "ON CALL", "RINGING", "WRAP-UP", "PAUSED")
        click.echo(render_table((*headers, "UNAVAILABLE", "WAITING", "OCCUPANCY (HOUR)"), rows))
