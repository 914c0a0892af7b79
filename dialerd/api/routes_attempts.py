"""``/v1/attempts``: an attempt's record, and the agent's call summary (disposition)."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, cast

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.exc import IntegrityError

from dialerd.actions.corrections import CorrectionRefused
from dialerd.actions.summaries import SummaryRefused, summarise
from dialerd.api.auth import AgentWriter, Caller, Reader
from dialerd.api.context import ApiContext
from dialerd.api.problems import ApiError
from dialerd.api.rows import as_json
from dialerd.api.schemas import REFUSALS, DispositionIn
from dialerd.db import tables
from dialerd.db.models import ApiIdempotencyKey, AttemptSummary
from dialerd.domain.outcomes import info

router = APIRouter(prefix="/v1/attempts", tags=["attempts"], responses=REFUSALS)
AttemptId = Annotated[int, Path(ge=1, le=2**62)]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128)]
_keys = cast(Table, ApiIdempotencyKey.__table__)
_summaries = cast(Table, AttemptSummary.__table__)
_STATUS = {"not_found": 404}  # every other refusal is a conflict (409)
_ATTEMPT_FIELDS = (
    "id",
    "key",
    "status",
    "round",
    "position",
    "try_no",
    "number",
    "instance_id",
    "is_appointment",
    "planned_at",
    "started_at",
    "answered_at",
    "ended_at",
    "outcome",
    "bucket",
    "treatment",
    "next_dial_at",
    "disposition",
)


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def _stored(conn: Connection, caller: Caller, key: str, digest: str) -> JSONResponse | None:
    row = conn.execute(
        select(_keys.c.request_sha256, _keys.c.status_code, _keys.c.response).where(
            _keys.c.token_name == caller.name, _keys.c.key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_sha256 != digest:
        raise ApiError(422, "Idempotency-Key was used for another request", field="Idempotency-Key")
    return JSONResponse(row.response, row.status_code, headers={"Idempotent-Replayed": "true"})


@router.post("/{attempt_id}/disposition", summary="Record the agent's call summary, once")
def disposition(
    attempt_id: AttemptId,
    body: DispositionIn,
    request: Request,
    caller: AgentWriter,
    idempotency_key: IdemKey = None,
) -> Any:
    """Apply the summary's outcome once (409 when not answered, in flight or already summarised).

    A retry with the same ``Idempotency-Key`` and body gets the first response again.
    """
    ctx = _ctx(request)
    digest = hashlib.sha256(f"{attempt_id}\n{body.model_dump_json()}".encode()).hexdigest()
    agent = body.agent or caller.name
    try:
        with ctx.database.begin() as conn:
            if idempotency_key and (replay := _stored(conn, caller, idempotency_key, digest)):
                return replay
            done = summarise(
                conn,
                attempt_id,
                body.code,
                agent=agent,
                note=body.note,
                callback_at=body.callback_at,
                token_name=caller.name,
                now=ctx.now(),
            )
            c = done.correction
            doc = {
                "attempt_id": attempt_id,
                "campaign": c.campaign,
                "contact": c.contact,
                "from": c.before,
                "outcome": c.after.value,
                "outcome_zh": info(c.after).label_zh,
                "treatment": c.treatment,
                "next_dial_at": c.next_dial_at.isoformat() if c.next_dial_at else None,
                "agent": agent,
            }
            if idempotency_key:
                conn.execute(
                    insert(_keys).values(
                        token_name=caller.name,
                        key=idempotency_key,
                        request_sha256=digest,
                        status_code=200,
                        response=doc,
                        created_at=ctx.now(),
                    )
                )
            return doc
    except SummaryRefused as exc:
        if idempotency_key and exc.reason == "already_summarised":
            with ctx.reader.connect() as conn:  # a concurrent retry committed first
                if replay := _stored(conn, caller, idempotency_key, digest):
                    return replay
        raise ApiError(_STATUS.get(exc.reason, 409), str(exc), code=exc.reason) from exc
    except CorrectionRefused as exc:  # the code names no outcome
        raise ApiError(422, str(exc), field="code") from exc
    except IntegrityError as exc:  # the same summary raced in and won
        with ctx.reader.connect() as conn:
            if idempotency_key and (replay := _stored(conn, caller, idempotency_key, digest)):
                return replay
        msg = f"attempt {attempt_id}: already summarised"
        raise ApiError(409, msg, code="already_summarised") from exc


@router.get("/{attempt_id}", summary="One dial: its state, outcome and summary")
def attempt(attempt_id: AttemptId, request: Request, caller: Reader) -> Any:
    ctx = _ctx(request)
    at, cp, ct = tables.attempts, tables.campaigns, tables.contacts
    with ctx.reader.connect() as conn:
        row = conn.execute(
            select(at, cp.c.name.label("campaign"), ct.c.external_id.label("contact"))
            .join(cp, cp.c.id == at.c.campaign_id)
            .join(ct, ct.c.id == at.c.contact_id)
            .where(at.c.id == attempt_id)
        ).first()
        if row is None:
            raise ApiError(404, f"attempt {attempt_id}: no such attempt", field="attempt_id")
        summary = conn.execute(
            select(_summaries).where(_summaries.c.attempt_id == attempt_id)
        ).first()
    doc = as_json(row, ("campaign", "contact", *_ATTEMPT_FIELDS))
    doc["summary"] = as_json(summary) if summary is not None else None
    return doc
