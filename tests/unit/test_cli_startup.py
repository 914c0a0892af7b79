"""The lazy verb listing: what ``--help`` prints without importing is what the verbs say."""

from __future__ import annotations

import click
import pytest

from dialerd.cli import COMMANDS, cli
from dialerd.cli.lazy import Lazy, LazyGroup, load


def _groups() -> list[tuple[click.Context, LazyGroup]]:
    """Every lazy group with a context, the top one and those under it."""
    root = click.Context(cli, info_name="dialerd")
    found: list[tuple[click.Context, LazyGroup]] = [(root, cli)]
    for name in COMMANDS:
        command = cli.get_command(root, name)
        if isinstance(command, LazyGroup):
            found.append((click.Context(command, info_name=name, parent=root), command))
    return found


def _listing(group: click.Group, ctx: click.Context) -> str:
    formatter = ctx.make_formatter()
    group.format_commands(ctx, formatter)
    return formatter.getvalue()


@pytest.mark.parametrize("index", range(2))
def test_the_listing_without_imports_is_the_one_the_commands_give(index: int) -> None:
    ctx, group = _groups()[index]
    for name, entry in group.lazy.items():
        assert load(entry.target).name == name, entry.target
    unloaded = LazyGroup(group.name, lazy=group.lazy)
    eager = click.Group(group.name, commands=[load(e.target) for e in group.lazy.values()])
    for width in (60, 80, 120, 200):
        ctx.terminal_width = ctx.max_content_width = width
        assert _listing(unloaded, ctx) == _listing(eager, ctx)
        assert all(f"\n  {name} " in _listing(unloaded, ctx) for name in group.lazy)


def test_a_lazy_command_is_imported_once_and_then_kept() -> None:
    group = LazyGroup("g", lazy={"db": Lazy("dialerd.cli.db_cmd:db", "Database schema.")})
    ctx = click.Context(group, info_name="g")
    first = group.get_command(ctx, "db")
    assert first is not None and first.name == "db"
    assert group.get_command(ctx, "db") is first
    assert group.get_command(ctx, "nothing") is None
    assert group.list_commands(ctx) == ["db"]


def test_a_target_that_is_no_command_is_refused() -> None:
    with pytest.raises(TypeError, match=r"dialerd\.cli\.lazy:load is not a click command"):
        load("dialerd.cli.lazy:load")
