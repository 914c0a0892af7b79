"""``dialerd simulate``: preview a campaign's whole life before it dials anyone."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine, case, event, func, make_url, select

from dialerd.cli.context import CliContext, pass_cli
from dialerd.db.engine import is_sqlite, make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, Contact, Round
from dialerd.logconfig import configure_logging
from dialerd.pbx.scenario import DEFAULT_PRESET, PRESETS, Scenario
from dialerd.redact import redact_text

BAR = 60


@click.command("simulate")
@click.argument("campaign_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--database",
    "database_url",
    default=None,
    help="Where to write the simulated history (default: a new temporary SQLite file).",
)
@click.option(
    "--start",
    "start_day",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Start the preview on this day at 00:00, campaign time (default: now).",
)
@click.option(
    "--scenario",
    default=DEFAULT_PRESET,
    show_default=True,
    help=f"Callee behaviour: a preset ({', '.join(PRESETS)}) or a scenario file (TOML).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the behaviour mix.")
@click.option("--contact", "contact_id", default=None, help="Also print this contact's timeline.")
@pass_cli
def simulate(
    ctx: CliContext,
    campaign_file: Path,
    database_url: str | None,
    start_day: datetime | None,
    scenario: str,
    seed: int,
    contact_id: str | None,
) -> None:
    """Run the real scheduler on a virtual clock against the simulated PBX; print the plan.

    The default callee mix is "typical" (60 % answered by a person; docs/operations.md);
    "--scenario last-digit" lets each number's last digit choose, as the test dialplan does.
    """
    from dialerd.app import assemble
    from dialerd.campaignfile.loader import check_file
    from dialerd.domain.clock import VirtualClock
    from dialerd.engine.simulation import (
        drop_report_indexes,
        restore_indexes,
        simulation_settings,
        start_of,
    )
    from dialerd.engine.simulation import simulate as run_simulation
    from dialerd.pbx.virtual import VirtualPbx
    from dialerd.reporting.queries import load_report
    from dialerd.reporting.render_table import render

    configure_logging(ctx.settings.log.model_copy(update={"level": "warning"}))
    loaded, problems = check_file(campaign_file, lists_dirs=ctx.settings.lists_dirs)
    for p in problems:
        click.echo(f"{p.path}:{p.line}: {p.field}: {p.message}", err=True)
    if loaded is None:
        raise SystemExit(1)
    behaviour = Scenario.named_or_file(scenario, seed)
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="dialerd-simulate-"))
        database_url = f"sqlite:///{folder / 'simulation.db'}"
    created = _new_sqlite_file(database_url)
    # LIFO: the loop runs on one thread, so it keeps reusing the connection it just wrote
    # with, whose page cache is current; the importer opens a second one, and taking turns
    # (the FIFO default) would make each transaction reread its pages.
    engine = make_engine(database_url, pool_use_lifo=True)
    if is_sqlite(engine):  # a preview's history needs no durability: no fsync
        event.listen(engine, "connect", _no_sync)
    upgrade(engine)
    # a history of its own is throwaway until the report: the reporting indexes are
    # built once at the end rather than kept up to date on every result
    dropped = drop_report_indexes(engine) if created else []
    day = start_day.date() if start_day else None
    clock = VirtualClock(start_of(loaded, day, now=datetime.now(UTC)))
    end = loaded.model.end
    if end is not None and clock.now().astimezone(ZoneInfo(loaded.model.timezone)).date() > end:
        click.echo(
            f"{campaign_file}: the campaign ended on {end}, before the preview starts: "
            "nothing will be dialled (choose an earlier day with --start)",
            err=True,
        )
    pbx = VirtualPbx(clock, behaviour, keep_requests=False)
    parts = assemble(
        simulation_settings(ctx.settings, loaded),
        clock=clock,
        telephony=pbx,
        database=engine,
        monotonic=lambda: clock.now().timestamp(),
    )
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        sim = run_simulation(parts, loaded, clock=clock, pbx=pbx)
    finally:
        restore_indexes(engine, dropped)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tz = ZoneInfo(loaded.model.timezone)
    click.echo(
        f"campaign {loaded.name}: {sim.dials} dials from "
        f"{_when(sim.started, tz)} to {_when(sim.finished, tz)} ({loaded.model.timezone}); "
        f"{sim.stopped_because}; callees: {scenario} (seed {seed})"
    )
    click.echo("\ndials per hour")
    for line in _hours(sim.hourly, tz):
        click.echo(line)
    click.echo("\nround by round")
    for line in _rounds(engine, sim.campaign_id, loaded.model.dialing.max_rounds):
        click.echo(line)
    click.echo("")
    click.echo(render(load_report(engine, loaded.name), daily=False))
    if contact_id is not None:
        click.echo("")
        max_rounds = loaded.model.dialing.max_rounds
        for line in _timeline(engine, sim.campaign_id, contact_id, tz, max_rounds):
            click.echo(line)
    click.echo(
        f"\nsimulated in {wall:.1f} s ({cpu:.1f} s CPU, {sim.ticks} ticks); "
        f"history written to {redact_text(database_url)}"
    )


def _new_sqlite_file(url: str) -> bool:
    """Whether ``url`` is a SQLite file that does not exist yet (the simulation creates it)."""
    parsed = make_url(url)
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:":
        return False
    return not Path(path).exists()


def _no_sync(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _when(moment: datetime, tz: ZoneInfo) -> str:
    return f"{moment.astimezone(tz):%a %Y-%m-%d %H:%M}"


def _hours(hourly: dict[datetime, int], tz: ZoneInfo) -> Iterator[str]:
    """Each day from the first dial to the last: every hour between its first and last
    dialling hour (empty ones too), and days without a dial as one line."""
    by_day: dict[date, dict[int, int]] = {}
    for hour, n in hourly.items():
        local = hour.astimezone(tz)
        by_day.setdefault(local.date(), {})[local.hour] = (
            by_day.get(local.date(), {}).get(local.hour, 0) + n
        )
    if not by_day:
        yield "  (no dials)"
        return
    day, last = min(by_day), max(by_day)
    peak = max(n for hours in by_day.values() for n in hours.values())
    while day <= last:
        hours = by_day.get(day)
        if not hours:
            yield f"  {day:%a %Y-%m-%d}        no dials"
        else:
            for h in range(min(hours), max(hours) + 1):
                n = hours.get(h, 0)
                bar = "#" * (n * BAR // peak if n else 0)
                yield f"  {day:%a %Y-%m-%d} {h:02d}:00  {n:>6}  {bar}".rstrip()
        day += timedelta(days=1)


def _labels(rows: list[tuple[int, int, bool]], max_rounds: int) -> dict[tuple[int, int], str]:
    """(contact, round) -> "2 of 4" or "appointment": appointment rounds take a round
    number but do not count against max_rounds, so ordinary rounds are counted apart."""
    labels: dict[tuple[int, int], str] = {}
    contact, ordinary = None, 0
    for contact_id, rnd, appointment in sorted(rows):
        if contact_id != contact:
            contact, ordinary = contact_id, 0
        if appointment:
            labels[(contact_id, rnd)] = "appointment"
        else:
            ordinary += 1
            labels[(contact_id, rnd)] = f"{ordinary} of {max_rounds}"
    return labels


def _rounds(engine: Engine, campaign_id: int, max_rounds: int) -> list[str]:
    """Contacts, dials and round results per round; appointment rounds on a row of their own.

    Appointment rounds take a round number but do not count against max_rounds, so
    a contact's ordinary rounds are counted apart (a window sum; 0: an appointment).
    """
    ordinary = case((Round.is_appointment.is_(True), 0), else_=1)
    ranked = (
        select(
            Round.contact_id,
            Round.round,
            Round.result,
            case(
                (Round.is_appointment.is_(True), 0),
                else_=func.sum(ordinary).over(partition_by=Round.contact_id, order_by=Round.round),
            ).label("nth"),
        )
        .where(Round.campaign_id == campaign_id)
        .subquery()
    )
    with engine.connect() as conn:
        results = conn.execute(
            select(ranked.c.nth, ranked.c.result, func.count()).group_by(
                ranked.c.nth, ranked.c.result
            )
        ).all()
        dials = conn.execute(
            select(ranked.c.nth, func.count())
            .select_from(Attempt)
            .join(
                ranked,
                (ranked.c.contact_id == Attempt.contact_id) & (ranked.c.round == Attempt.round),
            )
            .where(Attempt.campaign_id == campaign_id, Attempt.started_at.is_not(None))
            .group_by(ranked.c.nth)
        ).all()
    rows: dict[int, list[int]] = {}
    outcomes: dict[int, dict[str, int]] = {}
    for nth, result, n in results:
        rows.setdefault(int(nth), [0, 0])[0] += n
        counts = outcomes.setdefault(int(nth), {})
        counts[result or "open"] = counts.get(result or "open", 0) + n
    for nth, n in dials:
        rows.setdefault(int(nth), [0, 0])[1] += n
    lines = [f"  {'round':>11}  {'contacts':>8}  {'dials':>6}  results"]
    for nth in sorted(rows, key=lambda k: (k == 0, k)):
        contacts, n = rows[nth]
        label = f"{nth} of {max_rounds}" if nth else "appointment"
        shown = ", ".join(f"{r} {c}" for r, c in sorted(outcomes.get(nth, {}).items()))
        lines.append(f"  {label:>11}  {contacts:>8}  {n:>6}  {shown}")
    return lines


def _timeline(
    engine: Engine, campaign_id: int, external_id: str, tz: ZoneInfo, max_rounds: int
) -> list[str]:
    """One contact's dials in order: when, which round, which number, what came of it."""
    with engine.connect() as conn:
        contact = conn.execute(
            select(Contact.id, Contact.name, Contact.state, Contact.result).where(
                Contact.campaign_id == campaign_id, Contact.external_id == external_id
            )
        ).first()
        if contact is None:
            return [f"contact {external_id}: not in the campaign (refused at import?)"]
        attempts = conn.execute(
            select(
                Attempt.started_at,
                Attempt.round,
                Attempt.is_appointment,
                Attempt.position,
                Attempt.number,
                Attempt.outcome,
                Attempt.treatment,
                Attempt.next_dial_at,
            )
            .where(Attempt.contact_id == contact.id)
            .order_by(Attempt.id)
        ).all()
    labels = _labels(sorted({(0, a.round, bool(a.is_appointment)) for a in attempts}), max_rounds)
    head = f"contact {external_id}" + (f" {contact.name}" if contact.name else "")
    lines = [f"{head}: {len(attempts)} dial(s), ends {contact.state} ({contact.result or '-'})"]
    for a in attempts:
        when = _when(a.started_at, tz) if a.started_at else "not dialled"
        label = labels[(0, a.round)]
        what = label if a.is_appointment else f"round {label}"
        after = f", next {_when(a.next_dial_at, tz)}" if a.next_dial_at else ""
        lines.append(
            f"  {when}  {what:<12}  phone{a.position} {a.number}  "
            f"{a.outcome or '-'} -> {a.treatment or '-'}{after}"
        )
    return lines
