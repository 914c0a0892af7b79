"""The FastAPI application: routes, JSON errors, the body limit and the access log."""

from __future__ import annotations

from fastapi import FastAPI

from dialerd.api import problems, routes_attempts, routes_campaigns, routes_dnc, routes_status
from dialerd.api.context import ApiContext
from dialerd.api.middleware import AccessLog, BodyLimit

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
    return app
