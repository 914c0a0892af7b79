"""``/v1/dnc``: add a do-not-call entry (number, prefix or contact) or remove one by id."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy import select

from dialerd.actions import dnc
from dialerd.actions.requeue import requeue_all
from dialerd.api.auth import OpsWriter
from dialerd.api.context import ApiContext
from dialerd.api.problems import ApiError
from dialerd.api.schemas import REFUSALS, DncIn
from dialerd.db import tables
from dialerd.db.models import DncEntry
from dialerd.errors import CampaignNotFound

router = APIRouter(prefix="/v1/dnc", tags=["dnc"], responses=REFUSALS)


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def _target(body: DncIn) -> tuple[str, dnc.Target]:
    given = [(f, v) for f, v in (("number", body.number), ("prefix", body.prefix),
             ("contact", body.contact)) if v is not None]  # fmt: skip
    if len(given) != 1:
        raise ApiError(422, "give exactly one of number, prefix, contact", field="number")
    field, value = given[0]
    try:
        if field == "contact":
            return field, dnc.contact_target(value)
        if field == "prefix":
            if not value.rstrip().endswith(("*", "＊")):
                raise dnc.DncInputError(dnc.prefix_hint(value, body.region))
            return field, dnc.prefix_target(value, body.region)
        return field, dnc.number_target(value, body.region)
    except dnc.DncInputError as exc:
        raise ApiError(422, f"{field}: {exc}", field=field) from exc


@router.post("", summary="Add a do-not-call entry; its numbers leave every queue at once")
def add(body: DncIn, request: Request, caller: OpsWriter) -> Any:
    ctx = _ctx(request)
    _, target = _target(body)
    now = ctx.now()
    try:
        with ctx.sessions.begin() as session:
            change = dnc.add(
                session,
                target,
                campaign=body.campaign,
                reason=body.reason,
                source=body.source or "api",
                who=f"api:{caller.name}",
                now=now,
            )
    except CampaignNotFound as exc:
        raise ApiError(404, str(exc), field="campaign") from exc
    requeue_all(ctx.sessions, change.contacts, now=now)
    entry_id = _entry_id(ctx, target, body.campaign)
    return {
        "id": entry_id,
        "kind": target.kind,
        "value": target.value,
        "campaign": body.campaign,
        "added": bool(change.entries),
        "numbers": change.numbers,
    }


def _entry_id(ctx: ApiContext, target: dnc.Target, campaign: str | None) -> int | None:
    d, cp = tables.dnc_entries, tables.campaigns
    q = select(d.c.id).where(d.c.kind == target.kind, d.c.value == target.value)
    if campaign is None:
        q = q.where(d.c.campaign_id.is_(None))
    else:
        q = q.join(cp, cp.c.id == d.c.campaign_id).where(cp.c.name == campaign)
    with ctx.reader.connect() as conn:
        found = conn.execute(q.order_by(d.c.id).limit(1)).scalar()
    return int(found) if found is not None else None


@router.delete("/{entry_id}", summary="Remove an entry; numbers nothing else blocks dial again")
def remove(
    entry_id: Annotated[int, Path(ge=1, le=2**62)],
    request: Request,
    caller: OpsWriter,
) -> Any:
    ctx = _ctx(request)
    now = ctx.now()
    with ctx.sessions.begin() as session:
        entry = session.get(DncEntry, entry_id)
        if entry is None:
            raise ApiError(404, f"no do-not-call entry {entry_id}", field="entry_id")
        campaign = None
        if entry.campaign_id is not None:
            campaign = session.scalar(
                select(tables.campaigns.c.name).where(tables.campaigns.c.id == entry.campaign_id)
            )
        target = dnc.Target(entry.kind, entry.value)
        change = dnc.remove(session, target, campaign=campaign, who=f"api:{caller.name}", now=now)
    requeue_all(ctx.sessions, change.contacts, now=now)
    return {"id": entry_id, "kind": target.kind, "value": target.value, "numbers": change.numbers}
