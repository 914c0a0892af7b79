"""``dialerd top``: a live view of every campaign and daemon, with pause and resume keys.

Thin on purpose: the figures come from :func:`dialerd.actions.live.live_figures`
(database only), the keys act through :mod:`dialerd.actions.control` (audited, seen
by every daemon on its next tick). Drawn with rich's ``Live``; keys come from a
small cbreak reader on the terminal (↑/↓ or j/k select, ``p`` pause, ``r`` resume,
``q`` quit).
"""

from __future__ import annotations

import os
import select
import sys
import termios
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import click
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from dialerd.actions import control
from dialerd.actions.live import LiveFigures, live_figures
from dialerd.cli.context import CliContext, pass_cli
from dialerd.cli.control_cmd import open_db
from dialerd.db.engine import session_factory
from dialerd.domain.outcomes import info
from dialerd.errors import DialerdError

_ARROWS = {"\x1b[A": "up", "\x1b[B": "down", "k": "up", "j": "down"}


@contextmanager
def _keys() -> Iterator[int]:
    """The terminal in cbreak mode (keys one at a time, no echo), restored on exit."""
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read_key(fd: int, timeout: float) -> str | None:
    """One key (an arrow as ``up``/``down``), or None when none came within ``timeout``."""
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return None
    data = os.read(fd, 16).decode("utf-8", "replace")
    return _ARROWS.get(data, data[:1])


def render(figures: LiveFigures, selected: int, message: str) -> Group:
    """The screen: campaigns (the selected row highlighted), daemons, a help line."""
    now = figures.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    link = "PBX up" if figures.pbx_up else "PBX DOWN"
    title = f"dialerd top  {now}  {link}  (outcomes: last {figures.minutes} min)"
    campaigns = Table(title=title, title_justify="left", expand=True)
    for name, justify in (
        ("CAMPAIGN", "left"),
        ("STATE", "left"),
        ("DIALS/MIN", "right"),
        ("IN FLIGHT", "right"),
        ("DUE NOW", "right"),
        ("WINDOW", "left"),
        ("PACE SET", "left"),
        ("OUTCOMES", "left"),
    ):
        campaigns.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, c in enumerate(figures.campaigns):
        window = {True: "open", False: "closed", None: "?"}[c.window_open]
        mix = "  ".join(f"{info(o).label_zh} {n}" for o, n in c.outcomes.items()) or "-"
        pace = " ".join(f"{k}={v}" for k, v in c.pace.items()) or "-"
        campaigns.add_row(
            c.name,
            c.state,
            str(c.dials_per_minute),
            str(c.in_flight),
            str(c.due_now),
            window,
            pace,
            mix,
            style="reverse" if i == selected else None,
        )
    daemons = Table(title="daemons", title_justify="left", expand=True)
    for name in ("INSTANCE", "HOST", "STATE", "PBX", "IN FLIGHT", "DIALS/S"):
        daemons.add_column(name)
    for d in figures.daemons:
        daemons.add_row(
            d.id,
            d.hostname,
            "alive" if d.alive else "gone",
            f"{d.pbx_kind} {'up' if d.pbx_up else 'down'}",
            str(d.in_flight),
            "-" if d.dial_rate is None else str(d.dial_rate),
        )
    help_line = Text("↑/↓ select   p pause   r resume   q quit   " + message)
    return Group(campaigns, daemons, help_line)


@click.command("top")
@click.option(
    "--interval", default=2.0, show_default=True, type=click.FloatRange(0.2, 60), help="Seconds."
)
@click.option("--minutes", default=5, show_default=True, type=click.IntRange(1, 120))
@pass_cli
def top(ctx: CliContext, interval: float, minutes: int) -> None:
    """Live campaigns and daemons, refreshed every INTERVAL seconds; p/r pause and resume.

    Reads the database only (any host with its URL can run it). Pause and resume
    are the same audited actions as `dialerd campaign pause|resume`.
    """
    if not sys.stdin.isatty():
        raise click.UsageError("dialerd top needs a terminal")
    open_db(ctx)  # the schema is current
    reads = session_factory(ctx.read_engine)  # SQLite: plain BEGIN, never the write lock
    # sizes a shell exported at start-up would pin the screen: follow the terminal instead
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)
    beat_s = ctx.settings.scheduler.heartbeat_s
    selected, message = 0, ""
    with _keys() as fd, Live(auto_refresh=False, screen=True) as live:
        while True:
            with reads() as session:
                figures = live_figures(
                    session, now=datetime.now(UTC), minutes=minutes, heartbeat_s=beat_s
                )
            selected = max(0, min(selected, len(figures.campaigns) - 1))
            live.update(render(figures, selected, message), refresh=True)
            key = _read_key(fd, interval)
            if key == "q":
                return
            if key in ("up", "down"):
                selected += -1 if key == "up" else 1
            elif key in ("p", "r") and figures.campaigns:
                message = _act(ctx, figures.campaigns[selected].name, key)


def _act(ctx: CliContext, name: str, key: str) -> str:
    action: control.Action = "pause" if key == "p" else "resume"
    try:
        with ctx.sessions.begin() as session:
            change = control.change_state(
                session, name, action, who=control.actor(), now=datetime.now(UTC)
            )
    except DialerdError as exc:
        return str(exc)
    if not change.changed:
        return f"{name} is already {change.new}"
    return f"{name}: {change.old} -> {change.new}"
