"""Right before the dial: the calling window and DNC checked, each dial's claim built."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Connection, select, update

from dialerd.db import tables
from dialerd.domain.due import fit_window
from dialerd.domain.phones import render_channel
from dialerd.domain.states import NumberState
from dialerd.engine import claims
from dialerd.engine.dnc import DncCheck
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.schedule import reschedule_contacts
from dialerd.engine.ticks import TickReport
from dialerd.errors import UnsafeDialInput
from dialerd.logconfig import get_logger

log = get_logger("dialerd.dispatcher")
_pn = tables.phone_numbers
# built once: is there any DNC entry at all? (one row read; with none, nothing to match)
_ANY_DNC = select(tables.dnc_entries.c.id).limit(1)


def screen(
    conn: Connection,
    rt: CampaignRuntime,
    rows: list[claims.DueRow],
    now: datetime,
    report: TickReport,
    *,
    dnc: DncCheck,
    carriers: Callable[[], Mapping[str, str]] | None,
) -> list[claims.Claim]:
    """Window and DNC checks right before the dial; builds the claims that pass."""
    # an empty DNC table blocks nothing: its one-row read is cheaper than the match query
    listed = bool(rows) and conn.execute(_ANY_DNC).first() is not None
    blocked = dnc.blocked(conn, rt.id, rows) if listed else {}
    if blocked:
        take_out(conn, rt, [r for r in rows if r.number_id in blocked], blocked, now)
        report.dnc_blocked += len(blocked)
    todo = []
    ported = carriers() if carriers is not None and rows else {}
    for row in rows:
        if row.number_id in blocked:
            continue
        # the same dial, at the first instant from now where it fits the window
        at = fit_window(now, calendar=rt.calendar, tz=row.contact_tz, policy=rt.policy)
        if at != now:
            report.pushed_to_window += 1
            conn.execute(update(_pn).where(_pn.c.id == row.number_id).values(next_dial_at=at))
            continue
        todo.append(claim_of(rt, row, ported.get(row.e164) or row.carrier))
    return todo


def take_out(
    conn: Connection,
    rt: CampaignRuntime,
    rows: list[claims.DueRow],
    rules: Mapping[int, str],
    now: datetime,
) -> None:
    """Numbers a DNC entry forbids leave the queue; their contacts move on."""
    conn.execute(
        update(_pn)
        .where(_pn.c.id.in_([r.number_id for r in rows]))
        .values(state=NumberState.dnc, next_dial_at=None)
    )
    reschedule_contacts(conn, [r.contact_id for r in rows], runtime=rt, now=now)
    for row in rows:
        log.info(
            "dial_blocked_dnc",
            campaign=rt.name,
            contact_id=row.contact_id,
            number=row.e164,
            rule=rules[row.number_id],
        )


def claim_of(rt: CampaignRuntime, row: claims.DueRow, carrier: str | None) -> claims.Claim:
    """The dial of ``row``, its caller ID and trunk by ``carrier``: the one it is on now."""
    key = claims.attempt_key(rt.id, row)
    caller_id, template = rt.caller_ids.choose(row.e164, carrier)
    try:
        channel = render_channel(template, row.e164, rt.dial_prefix)
    except UnsafeDialInput as exc:
        return claims.Claim(row=row, key=key, caller_id=caller_id, channel="", refused=exc)
    return claims.Claim(row=row, key=key, caller_id=caller_id, channel=channel)
