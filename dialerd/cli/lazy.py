"""Subcommands imported on first use, so a verb loads only the modules it needs.

A ``LazyGroup`` maps each name to ``"module:attr"`` and its one-line help. Listing
(``--help``) prints the stored help and imports nothing; running or asking for the
help of a verb imports its module then. Commands added with ``add_command`` work as
in any click group.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import click


class Lazy(NamedTuple):
    """Where a command lives (``"package.module:attr"``) and its one-line help."""

    target: str
    help: str


class LazyGroup(click.Group):
    """A click group whose ``lazy`` commands are imported when first resolved."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Lazy] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            self.add_command(load(self.lazy[cmd_name].target), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Like click's, from the stored help of commands not imported yet."""
        shown: list[click.Command] = []
        for name in self.list_commands(ctx):
            command = self.commands.get(name)
            if command is None:  # a stand-in with the stored help: nothing is imported
                command = click.Command(name, help=self.lazy[name].help)
            if not command.hidden:
                shown.append(command)
        if not shown:
            return
        limit = formatter.width - 6 - max(len(c.name or "") for c in shown)
        rows = [(c.name or "", c.get_short_help_str(limit)) for c in shown]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def load(target: str) -> click.Command:
    """The command at ``"package.module:attr"``."""
    module_name, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} is not a click command")
    return command
