"""``dialerd contact CAMPAIGN EXTERNAL_ID``: one contact's dials, numbers and next step."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import click

from dialerd.actions.history import ContactHistory, contact_history
from dialerd.cli.context import CliContext, pass_cli
from dialerd.cli.control_cmd import open_db, render_table
from dialerd.db.engine import session_factory


@click.command("contact")
@click.argument("campaign")
@click.argument("external_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (times in UTC).")
@pass_cli
def contact(ctx: CliContext, campaign: str, external_id: str, as_json: bool) -> None:
    """Every dial of one contact (outcome, 中文 label, caller ID, channel, round) and its
    next step with why it waits. Times are the contact's local time."""
    open_db(ctx)  # the schema is current
    with session_factory(ctx.read_engine)() as session:
        history = contact_history(session, campaign, external_id, now=datetime.now(UTC))
    if as_json:
        click.echo(json.dumps(history.as_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(render(history))


def render(h: ContactHistory) -> str:
    zone = ZoneInfo(h.timezone)

    def local(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S") if value else "-"

    lines = [
        f"contact    {h.external_id}" + (f" ({h.name})" if h.name else ""),
        f"campaign   {h.campaign} ({h.campaign_state})",
        f"state      {h.state}" + (f" ({h.closed_reason})" if h.closed_reason else ""),
        f"rounds     {h.rounds_started} of {h.max_rounds}; refusals {h.refusals}; "
        f"result {h.result or '-'}",
        f"timezone   {h.timezone}",
        "numbers",
    ]
    numbers = [
        (
            n.position,
            n.number,
            n.state + (" (dialling)" if n.in_flight else ""),
            n.dials,
            n.last_outcome or "-",
            local(n.next_dial_at),
        )
        for n in h.numbers
    ]
    table = render_table(("#", "NUMBER", "STATE", "DIALS", "LAST", "QUEUED FOR"), numbers)
    lines += ["  " + line for line in table.splitlines()]
    lines.append(f"dials      {len(h.dials)}")
    if h.dials:
        rows = [
            (
                d.attempt_id,
                d.round,
                d.try_no,
                d.position,
                local(d.started_at),
                local(d.ended_at),
                d.caller_id or "-",
                d.channel or "-",
                d.treatment or "-",
                (d.outcome or d.status) + (" (appointment)" if d.is_appointment else ""),
                d.label_zh or "-",
            )
            for d in h.dials
        ]
        headers = (
            "ATTEMPT",
            "ROUND",
            "TRY",
            "#",
            "STARTED",
            "ENDED",
            "CALLER ID",
            "CHANNEL",
            "NEXT STEP",
            "OUTCOME",
            "结果",
        )
        lines += ["  " + line for line in render_table(headers, rows).splitlines()]
    lines.append(f"next       {h.next_text}")
    return "\n".join(lines)
