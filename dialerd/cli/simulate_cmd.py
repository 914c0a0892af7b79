"""``dialerd simulate``: preview a campaign's whole life before it dials anyone."""

from __future__ import annotations

import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from sqlalchemy import Engine, func, select

from dialerd.cli.context import CliContext, pass_cli
from dialerd.db.engine import make_engine
from dialerd.db.migrate import upgrade
from dialerd.db.models import Attempt, Round
from dialerd.logconfig import configure_logging
from dialerd.pbx.scenario import Scenario
from dialerd.redact import redact_text


@click.command("simulate")
@click.argument("campaign_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--database",
    "database_url",
    default=None,
    help="Where to write the simulated history (default: a new temporary SQLite file).",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Callee behaviour by number pattern and probability (TOML).",
)
@click.option("--seed", type=int, default=None, help="Random seed for the behaviour mix.")
@pass_cli
def simulate(
    ctx: CliContext,
    campaign_file: Path,
    database_url: str | None,
    scenario_file: Path | None,
    seed: int | None,
) -> None:
    """Run the real scheduler on a virtual clock against the simulated PBX; print the timeline."""
    from dialerd.app import assemble
    from dialerd.campaignfile.loader import check_file
    from dialerd.domain.clock import VirtualClock
    from dialerd.engine.simulation import simulate as run_simulation
    from dialerd.engine.simulation import simulation_settings, start_of
    from dialerd.pbx.virtual import VirtualPbx
    from dialerd.reporting.queries import load_report
    from dialerd.reporting.render_table import render

    configure_logging(ctx.settings.log.model_copy(update={"level": "warning"}))
    loaded, problems = check_file(campaign_file, lists_dirs=ctx.settings.lists_dirs)
    for p in problems:
        click.echo(f"{p.path}:{p.line}: {p.field}: {p.message}", err=True)
    if loaded is None:
        raise SystemExit(1)
    if database_url is None:
        folder = Path(tempfile.mkdtemp(prefix="dialerd-simulate-"))
        database_url = f"sqlite:///{folder / 'simulation.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    scenario = Scenario.load(scenario_file, seed) if scenario_file else Scenario(seed=seed)
    clock = VirtualClock(start_of(loaded))
    pbx = VirtualPbx(clock, scenario)
    parts = assemble(
        simulation_settings(ctx.settings, loaded),
        clock=clock,
        telephony=pbx,
        database=engine,
        monotonic=lambda: clock.now().timestamp(),
    )
    sim = run_simulation(parts, loaded, clock=clock, pbx=pbx)
    tz = ZoneInfo(loaded.model.timezone)
    click.echo(
        f"campaign {loaded.name}: {sim.dials} dials from "
        f"{sim.started.astimezone(tz):%Y-%m-%d %H:%M} to "
        f"{sim.finished.astimezone(tz):%Y-%m-%d %H:%M} ({loaded.model.timezone}); "
        f"{sim.stopped_because}"
    )
    click.echo("\ndials per hour")
    for hour, n in sorted(sim.hourly.items()):
        click.echo(f"  {hour.astimezone(tz):%Y-%m-%d %H:00}  {n:>6}  {'#' * min(n, 60)}")
    click.echo("\nround by round")
    for line in _rounds(engine, sim.campaign_id):
        click.echo(line)
    click.echo("")
    click.echo(render(load_report(engine, loaded.name), daily=False))
    click.echo(f"\nhistory written to {redact_text(database_url)}")


def _rounds(engine: Engine, campaign_id: int) -> list[str]:
    with engine.connect() as conn:
        dials = dict(
            conn.execute(
                select(Attempt.round, func.count())
                .where(Attempt.campaign_id == campaign_id, Attempt.started_at.is_not(None))
                .group_by(Attempt.round)
            ).all()
        )
        started = dict(
            conn.execute(
                select(Round.round, func.count())
                .where(Round.campaign_id == campaign_id)
                .group_by(Round.round)
            ).all()
        )
        results = conn.execute(
            select(Round.round, Round.result, func.count())
            .where(Round.campaign_id == campaign_id)
            .group_by(Round.round, Round.result)
            .order_by(Round.round)
        ).all()
    by_round: dict[int, list[str]] = {}
    for rnd, result, n in results:
        by_round.setdefault(rnd, []).append(f"{result or 'open'} {n}")
    lines = [f"  {'round':>5}  {'contacts':>8}  {'dials':>6}  results"]
    for rnd in sorted(started):
        lines.append(
            f"  {rnd:>5}  {started[rnd]:>8}  {dials.get(rnd, 0):>6}  "
            + ", ".join(by_round.get(rnd, []))
        )
    return lines


def register(group: click.Group) -> None:
    group.add_command(simulate)
