"""The FastAPI application: routes, JSON errors, the body limit and the access log."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from dialerd.api import problems, routes_attempts, routes_campaigns, routes_dnc, routes_status
from dialerd.api.context import ApiContext
from dialerd.api.middleware import AccessLog, BodyLimit
from dialerd.api.schemas import ContactsIn

OPENAPI_URL = "/v1/openapi.json"


def make_app(ctx: ApiContext) -> FastAPI:
    """The API over ``ctx``; its OpenAPI document is at ``/v1/openapi.json``."""

    app = FastAPI(
        title="dialerd",
        version="1",
        summary="Outbound dialing campaigns: summaries, control, contacts, DNC, status",
        openapi_url=OPENAPI_URL,
        docs_url="/v1/docs",
        redoc_url=None,
    )
    app.state.ctx = ctx
    problems.install(app)
    for module in (routes_attempts, routes_campaigns, routes_dnc, routes_status):
        app.include_router(module.router)
    api = ctx.settings.api
    app.add_middleware(BodyLimit, limit=api.max_body_bytes, csv_limit=api.max_csv_bytes)
    app.add_middleware(AccessLog)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, plus the schemas of bodies a route reads by hand (contacts)."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        schemas = doc.setdefault("components", {}).setdefault("schemas", {})
        extra = ContactsIn.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(extra.pop("$defs", {}))
        schemas["ContactsIn"] = extra
        app.openapi_schema = doc
    return app.openapi_schema
