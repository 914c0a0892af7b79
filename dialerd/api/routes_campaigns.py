"""``/v1/campaigns/{name}``: control, pace, contacts (append and history), report."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select

from dialerd.actions import control
from dialerd.actions.pace import PaceError, set_pace
from dialerd.api.auth import Caller, OpsWriter, Reader
from dialerd.api.context import ApiContext
from dialerd.api.problems import ApiError
from dialerd.api.rows import as_json, plain
from dialerd.api.schemas import REFUSALS, ContactRowIn, ContactsIn, PaceIn
from dialerd.db import tables
from dialerd.errors import CampaignNotFound
from dialerd.importer.reader import ContactFileError
from dialerd.importer.service import import_contacts
from dialerd.reporting.queries import load_report
from dialerd.reporting.render_csv import report_json

router = APIRouter(prefix="/v1/campaigns", tags=["campaigns"], responses=REFUSALS)
CampaignName = Annotated[str, Path(min_length=1, max_length=100)]
ExternalId = Annotated[str, Path(min_length=1, max_length=100)]
DEFAULT_REGION = "CN"
_COLUMNS = tuple(ContactRowIn.model_fields)
_UPLOAD = "contacts.csv"  # the name an uploaded or posted list goes by in messages


def _ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


def _who(caller: Caller) -> str:
    return f"api:{caller.name}"


def _change(request: Request, name: str, action: control.Action, caller: Caller) -> Any:
    ctx = _ctx(request)
    try:
        with ctx.sessions.begin() as session:
            change = control.change_state(session, name, action, who=_who(caller), now=ctx.now())
    except CampaignNotFound as exc:
        raise ApiError(404, str(exc), field="name") from exc
    except control.InvalidTransition as exc:
        raise ApiError(409, str(exc)) from exc
    return {"campaign": name, "from": change.old, "state": change.new, "changed": change.changed}


@router.post("/{name}/pause", summary="Start no new dials (calls in flight finish)")
def pause(name: CampaignName, request: Request, caller: OpsWriter) -> Any:
    return _change(request, name, "pause", caller)


@router.post("/{name}/resume", summary="Make a paused or stopped campaign active again")
def resume(name: CampaignName, request: Request, caller: OpsWriter) -> Any:
    return _change(request, name, "resume", caller)


@router.post("/{name}/stop", summary="Stop dialling until resumed")
def stop(name: CampaignName, request: Request, caller: OpsWriter) -> Any:
    return _change(request, name, "stop", caller)


@router.patch("/{name}", summary="Override the campaign's pace (every daemon follows it)")
def pace(
    name: CampaignName,
    body: PaceIn,
    request: Request,
    caller: OpsWriter,
) -> Any:
    ctx = _ctx(request)
    try:
        with ctx.sessions.begin() as session:
            change = set_pace(
                session, name, body.model_dump(exclude_none=True), who=_who(caller), now=ctx.now()
            )
    except CampaignNotFound as exc:
        raise ApiError(404, str(exc), field="name") from exc
    except PaceError as exc:
        raise ApiError(422, str(exc)) from exc
    return {
        "campaign": name,
        "changes": {k: {"from": a, "to": b} for k, (a, b) in change.changes.items()},
    }


@router.get("/{name}/report", summary="The figures of `dialerd report --format json`")
def report(name: CampaignName, request: Request, caller: Reader) -> Any:
    ctx = _ctx(request)
    try:
        data = load_report(ctx.reader, name, detail=True, now=ctx.now())
    except CampaignNotFound as exc:
        raise ApiError(404, str(exc), field="name") from exc
    out = io.StringIO()
    report_json(data, out)
    return json.loads(out.getvalue())


@router.get("/{name}/contacts/{external_id}", summary="A contact: its numbers, dials and next step")
def contact(
    name: CampaignName,
    external_id: ExternalId,
    request: Request,
    caller: Reader,
) -> Any:
    ctx = _ctx(request)
    cp, ct, pn, at = tables.campaigns, tables.contacts, tables.phone_numbers, tables.attempts
    with ctx.reader.connect() as conn:
        campaign_id = conn.execute(select(cp.c.id).where(cp.c.name == name)).scalar()
        if campaign_id is None:
            raise ApiError(404, f"no campaign named {name!r}", field="name")
        row = conn.execute(
            select(ct).where(ct.c.campaign_id == campaign_id, ct.c.external_id == external_id)
        ).first()
        if row is None:
            raise ApiError(404, f"{name}: no contact {external_id!r}", field="external_id")
        numbers = conn.execute(
            select(pn).where(pn.c.contact_id == row.id).order_by(pn.c.position)
        ).all()
        dials = conn.execute(select(at).where(at.c.contact_id == row.id).order_by(at.c.id)).all()
    queued = [n for n in numbers if n.next_dial_at is not None]
    nxt = None
    if queued:
        q = queued[0]
        nxt = {
            "position": q.position,
            "at": plain(q.next_dial_at),
            "round": q.next_round,
            "try": q.next_try,
            "appointment": q.next_is_appointment,
        }
    return {
        "campaign": name,
        **as_json(
            row,
            ("external_id", "name", "state", "closed_reason", "result", "refusals"),
        ),
        "rounds_started": row.rounds_started,
        "appointment_at": plain(row.appointment_at),
        "numbers": [
            as_json(
                n,
                ("position", "e164", "carrier", "state", "dial_count", "last_outcome"),
            )
            | {"last_dialed_at": plain(n.last_dialed_at), "next_dial_at": plain(n.next_dial_at)}
            for n in numbers
        ],
        "attempts": [
            as_json(
                a,
                ("id", "round", "position", "try_no", "status", "started_at", "answered_at"),
            )
            | as_json(a, ("ended_at", "outcome", "treatment", "next_dial_at"))
            for a in dials
        ],
        "next": nxt,
    }


_CONTACTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ContactsIn"}},
            "text/csv": {"schema": {"type": "string", "description": "a contact CSV"}},
        },
    }
}


@router.post(
    "/{name}/contacts",
    summary="Append contacts (JSON rows or a CSV) through the importer",
    openapi_extra=_CONTACTS_BODY,
)
async def add_contacts(name: CampaignName, request: Request, caller: OpsWriter) -> Any:
    """Rows already in the campaign are skipped; refused rows come back with their reasons."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if ctype == "text/csv":
        kind: Literal["csv", "json"] = "csv"
        data = raw
    elif ctype in ("application/json", ""):
        kind = "json"
        try:
            rows = ContactsIn.model_validate_json(raw or b"{}")
        except ValidationError as exc:
            raise RequestValidationError(
                [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
            ) from exc
        data = _as_csv(rows.contacts)
    else:
        raise ApiError(415, "send application/json rows or a text/csv file", field="content-type")
    return await run_in_threadpool(_import, _ctx(request), name, data, kind, _who(caller))


def _as_csv(rows: list[ContactRowIn]) -> bytes:
    used = [c for c in _COLUMNS if any(getattr(r, c) is not None for r in rows)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(used)
    for r in rows:
        writer.writerow(["" if getattr(r, c) is None else str(getattr(r, c)) for c in used])
    return out.getvalue().encode("utf-8")


def _import(ctx: ApiContext, name: str, data: bytes, kind: str, who: str) -> Any:
    cp, ct = tables.campaigns, tables.contacts
    with ctx.reader.connect() as conn:
        found = conn.execute(
            select(cp.c.id, cp.c.config, cp.c.timezone).where(cp.c.name == name)
        ).first()
    if found is None:
        raise ApiError(404, f"no campaign named {name!r}", field="name")
    config = found.config or {}
    with tempfile.TemporaryDirectory(prefix="dialerd-api-") as folder:
        path = FsPath(folder) / _UPLOAD
        path.write_bytes(data)
        rejects_path = FsPath(folder) / "rejects.csv"
        try:
            summary = import_contacts(
                ctx.database,
                campaign_id=found.id,
                path=path,
                region=str(config.get("region") or DEFAULT_REGION),
                default_timezone=str(config.get("timezone") or found.timezone),
                rejects_path=rejects_path,
                now=ctx.now(),
                actor=who,
            )
        except ContactFileError as exc:
            problem = exc.problem
            raise ApiError(422, f"{_UPLOAD}:{problem.line}: {problem.field}: {problem.message}",
                           field=problem.field) from exc  # fmt: skip
        rejected = _rejects(rejects_path, json_rows=kind == "json")
    with ctx.reader.connect() as conn:
        loaded = conn.execute(
            select(ct.c.external_id).where(ct.c.import_id == summary.import_id).order_by(ct.c.id)
        ).scalars()
        ids = list(loaded)
    doc = summary.as_dict()
    doc.pop("rejects_file", None)
    return {"campaign": name, **doc, "loaded_ids": ids, "rejected_rows": rejected}


def _rejects(path: FsPath, *, json_rows: bool) -> list[dict[str, Any]]:
    """Each refusal: its line (or JSON row index), external id, field, reason and detail."""
    if not path.exists():
        return []
    out: list[dict[str, Any]] = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        for rec in csv.DictReader(f):
            line = int(rec.get("line") or 0)
            where: dict[str, Any] = {"row": line - 2} if json_rows else {"line": line}
            out.append(
                where
                | {
                    "external_id": rec.get("external_id") or None,
                    "field": rec.get("field") or None,
                    "reason": rec.get("reason"),
                    "detail": rec.get("detail") or "",
                }
            )
    return out
