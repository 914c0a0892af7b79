"""HTTP API tokens: made once and shown once, kept as a SHA-256, looked up per request.

A token is ``dlr_`` and 32 random bytes (URL-safe base64); the database holds
only its hash, so a copy of the database lets nobody in. Scopes (docs/api.md):
``read`` (status, reports, histories), ``agent`` (dispositions, plus what
``read`` may), ``ops`` (control, contacts, DNC, pace, plus everything else).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dialerd.db.models import ApiToken
from dialerd.errors import DialerdError

Scope = Literal["agent", "ops", "read"]
SCOPES: tuple[Scope, ...] = ("agent", "ops", "read")
# scope -> the scopes whose endpoints it may call
GRANTS: dict[str, frozenset[str]] = {
    "read": frozenset({"read"}),
    "agent": frozenset({"agent", "read"}),
    "ops": frozenset({"ops", "agent", "read"}),
}
PREFIX = "dlr_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


class TokenRefused(DialerdError):
    """The token cannot be made or changed."""


@dataclass(frozen=True)
class TokenInfo:
    name: str
    scope: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_token(session: Session, name: str, scope: str, *, who: str, now: datetime) -> str:
    """Store a new token's hash under ``name``; returns the token (shown once, never stored)."""
    if not _NAME.match(name):
        raise TokenRefused(f"{name!r}: a token name is 1-64 letters, digits, '.', '_', '@', '-'")
    if scope not in SCOPES:
        raise TokenRefused(f"{scope!r}: the scope is one of {', '.join(SCOPES)}")
    if session.scalars(select(ApiToken.id).where(ApiToken.name == name)).first() is not None:
        raise TokenRefused(f"{name!r}: a token of that name exists (revoke it or pick another)")
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            name=name,
            scope=scope,
            token_sha256=digest(token),
            created_at=now,
            created_by=who[:100],
            revoked_at=None,
        )
    )
    return token


def revoke_token(session: Session, name: str, *, now: datetime) -> bool:
    """Revoke ``name``; False when it was already revoked. Unknown names are refused."""
    row = session.scalars(select(ApiToken).where(ApiToken.name == name)).one_or_none()
    if row is None:
        raise TokenRefused(f"{name!r}: no such token")
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    return True


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.scalars(select(ApiToken).order_by(ApiToken.name)).all()
    return [TokenInfo(r.name, r.scope, r.created_at, r.created_by, r.revoked_at) for r in rows]


def authenticate(engine: Engine, token: str) -> tuple[str, str] | None:
    """(name, scope) of a live token, else None (unknown, revoked or malformed)."""
    if not token.startswith(PREFIX) or len(token) > 128:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(ApiToken.name, ApiToken.scope, ApiToken.token_sha256).where(
                ApiToken.token_sha256 == digest(token), ApiToken.revoked_at.is_(None)
            )
        ).first()
    if row is None or not secrets.compare_digest(row.token_sha256, digest(token)):
        return None
    return str(row.name), str(row.scope)
