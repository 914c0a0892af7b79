"""``/v1/status``: the daemons (and their PBX links) and the campaigns."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session

from dialerd.actions import overview
from dialerd.api.auth import Reader
from dialerd.api.context import ApiContext
from dialerd.api.schemas import REFUSALS
from dialerd.process import heartbeat
from dialerd.redact import redact

router = APIRouter(prefix="/v1", tags=["status"], responses=REFUSALS)
RECENT = timedelta(days=1)


@router.get("/status", summary="Daemons, their PBX links, and campaigns")
def status(request: Request, caller: Reader) -> Any:
    ctx: ApiContext = request.app.state.ctx
    now = ctx.now()
    beat_s = ctx.settings.scheduler.heartbeat_s
    with Session(ctx.reader) as session:
        daemons = heartbeat.instances(session, since=now - RECENT)
        campaigns = overview.summaries(session, now=now)
    return {
        "daemons": [
            {
                "id": d.id,
                "alive": heartbeat.is_alive(d, now=now, heartbeat_s=beat_s),
                "hostname": d.hostname,
                "version": d.version,
                "heartbeat_at": d.heartbeat_at.isoformat(),
                "stopped_at": d.stopped_at.isoformat() if d.stopped_at else None,
                "pbx_kind": d.pbx_kind,
                "pbx_up": d.pbx_up,
                "in_flight": d.in_flight,
                "status": redact(d.status or {}),
            }
            for d in daemons
        ],
        "campaigns": [
            {
                "name": c.name,
                "state": c.state,
                "due_now": c.due_now,
                "in_flight": c.in_flight,
                "contacts": c.contacts,
            }
            for c in campaigns
        ],
    }
