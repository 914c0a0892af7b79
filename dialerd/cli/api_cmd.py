"""``dialerd api token add|list|revoke``: the HTTP API's tokens (docs/api.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from dialerd.actions.api_tokens import SCOPES, TokenRefused, add_token, list_tokens, revoke_token
from dialerd.actions.control import actor
from dialerd.cli.context import CliContext, pass_cli
from dialerd.cli.control_cmd import format_time, open_db, render_table
from dialerd.errors import DialerdError


@click.group("api")
def api_group() -> None:
    """The HTTP API (api.enabled): its tokens and scopes."""


@api_group.group("token")
def token_group() -> None:
    """Tokens: agent (dispositions), ops (control, contacts, DNC, pace), read (status, reports)."""


@token_group.command("add")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), required=True, help="What the token may do.")
@pass_cli
def add(ctx: CliContext, name: str, scope: str) -> None:
    """Make a token NAME and print it once (only its hash is kept)."""
    sessions = open_db(ctx)
    try:
        with sessions.begin() as session:
            token = add_token(session, name, scope, who=actor(), now=datetime.now(UTC))
    except TokenRefused as exc:
        raise DialerdError(str(exc)) from exc
    click.echo(token)
    click.echo(f"token {name} ({scope}) made; it is shown only now: keep it safe", err=True)


@token_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
@pass_cli
def list_(ctx: CliContext, as_json: bool) -> None:
    """Tokens by name, with their scope and state (the tokens themselves are never shown)."""
    sessions = open_db(ctx)
    with sessions() as session:
        rows = list_tokens(session)
    if as_json:
        doc = [
            {
                "name": r.name,
                "scope": r.scope,
                "created_at": r.created_at.isoformat(),
                "created_by": r.created_by,
                "revoked_at": r.revoked_at.isoformat() if r.revoked_at else None,
            }
            for r in rows
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    table = [
        (r.name, r.scope, format_time(r.created_at), r.created_by, format_time(r.revoked_at))
        for r in rows
    ]
    click.echo(render_table(("name", "scope", "created", "by", "revoked"), table))


@token_group.command("revoke")
@click.argument("name")
@pass_cli
def revoke(ctx: CliContext, name: str) -> None:
    """Revoke NAME: every daemon refuses it from its next request."""
    sessions = open_db(ctx)
    try:
        with sessions.begin() as session:
            done = revoke_token(session, name, now=datetime.now(UTC))
    except TokenRefused as exc:
        raise DialerdError(str(exc)) from exc
    click.echo(f"token {name} revoked" if done else f"token {name} was already revoked")
