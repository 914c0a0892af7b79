"""Bearer tokens and scopes: 401 without a live token, 403 outside its scope, 429 over rate."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from dialerd.actions.api_tokens import GRANTS, authenticate
from dialerd.api.context import ApiContext
from dialerd.api.problems import ApiError

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dialerd"'}


@dataclass(frozen=True)
class Caller:
    """The token a request came with: its name (logged) and scope; never the token itself."""

    name: str
    scope: str


def _caller(request: Request) -> Caller:
    ctx: ApiContext = request.app.state.ctx
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send Authorization: Bearer TOKEN", headers=_CHALLENGE)
    found = authenticate(ctx.reader, token.strip())
    if found is None:
        raise ApiError(401, "unknown or revoked token", headers=_CHALLENGE)
    caller = Caller(*found)
    request.state.token_name = caller.name
    return caller


def need(scope: str, *, write: bool = False) -> Callable[[Request], Caller]:
    """A dependency admitting tokens whose scope grants ``scope``; writes spend a bucket token."""

    def check(request: Request) -> Caller:
        caller = _caller(request)
        if scope not in GRANTS.get(caller.scope, frozenset()):
            raise ApiError(403, f"token {caller.name!r} (scope {caller.scope}) may not {scope}")
        if write:
            ctx: ApiContext = request.app.state.ctx
            wait = ctx.buckets.take(caller.name)
            if wait > 0:
                retry = str(max(1, int(wait + 0.999)))
                raise ApiError(
                    429, f"too many writes; retry in {retry} s", headers={"Retry-After": retry}
                )
        return caller

    return check


# The callers each kind of endpoint admits (parameters typed with these need no default).
Reader = Annotated[Caller, Depends(need("read"))]
AgentWriter = Annotated[Caller, Depends(need("agent", write=True))]
OpsWriter = Annotated[Caller, Depends(need("ops", write=True))]
