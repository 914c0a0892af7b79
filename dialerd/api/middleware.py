"""ASGI wrappers: bodies over the size limit get 413; every request is logged once.

The access line names the token (``token``), never the token itself, and no body.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dialerd.api.problems import body
from dialerd.logconfig import get_logger

log = get_logger("dialerd.api")


DRAIN_BYTES = 32 << 20  # a refused body is read (and dropped) up to this much


async def _discard(receive: Receive, most: int) -> None:
    seen = 0
    while seen <= most:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _refuse(send: Send, status: int, message: str) -> None:
    payload = json.dumps(body(status, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse a body over ``limit`` bytes (``csv_limit`` for ``text/csv``) with 413.

    The declared length is checked first; a body sent without one is counted as it
    arrives, so an endless upload stops at the limit too.
    """

    def __init__(self, app: ASGIApp, *, limit: int, csv_limit: int) -> None:
        self.app = app
        self.limit = limit
        self.csv_limit = csv_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        limit = self.csv_limit if ctype == b"text/csv" else self.limit
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _discard(receive, DRAIN_BYTES)  # so the client reads the answer, not a reset
            await _refuse(send, 413, f"body over {limit} bytes")
            return
        seen = 0
        over = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:  # the body was cut short: the app sees its end, its answer is replaced
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def replaced(message: Message) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":
                await _refuse(send, 413, f"body over {limit} bytes")

        await self.app(scope, counted, replaced)


class AccessLog:
    """One ``api_request`` line per request: method, path, status, token name, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status: dict[str, Any] = {"code": 500}

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noted)
        finally:
            state = scope.get("state") or {}
            log.info(
                "api_request",
                method=scope.get("method"),
                path=scope.get("path"),
                status=status["code"],
                token=state.get("token_name"),
                ms=round((time.monotonic() - started) * 1000, 1),
            )
