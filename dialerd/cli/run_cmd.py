"""``dialerd run``: the daemon, in the foreground (systemd's Type=notify service)."""

from __future__ import annotations

from pathlib import Path

import click

from dialerd.cli.context import CliContext, pass_cli
from dialerd.logconfig import configure_logging


@click.command("run")
@click.option(
    "--pbx",
    type=click.Choice(["ami", "simulator"]),
    default=None,
    help="PBX to drive (default: setting pbx.kind). [env: DIALERD_PBX__KIND]",
)
@click.option(
    "--campaigns",
    "campaigns_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Campaigns folder (default: setting campaigns_dir).",
)
@pass_cli
def run(ctx: CliContext, pbx: str | None, campaigns_dir: Path | None) -> None:
    """Run the daemon: load campaigns, connect the PBX, dial until SIGTERM."""
    from dialerd.app import assemble
    from dialerd.engine.daemon import Daemon
    from dialerd.process.signals import SignalRouter

    settings = ctx.settings
    if pbx is not None:
        settings = settings.model_copy(
            update={"pbx": settings.pbx.model_copy(update={"kind": pbx})}
        )
    if campaigns_dir is not None:
        settings = settings.model_copy(update={"campaigns_dir": campaigns_dir})
    configure_logging(settings.log)
    with SignalRouter() as signals:
        status = Daemon(assemble(settings)).run(signals)
    raise SystemExit(status)
