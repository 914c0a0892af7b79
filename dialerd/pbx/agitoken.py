"""Per-attempt FastAGI tokens: HMAC-SHA256 of the attempt id, truncated hex.

The dispatcher sends ``DIALERD_TOKEN=<token>`` with each Originate; the dialplan
passes it back to the FastAGI server, which accepts a request only with the
token of its attempt (constant-time compare). The secret is ``agi.secret``;
without one the daemon uses the database's shared secret ``agi``
(``db.secrets``), so every daemon of one database, before and after a restart,
signs alike. ``AgiTokens()`` with no secret at all makes a random one (tests,
``dialerd simulate``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

TOKEN_VARIABLE = "DIALERD_TOKEN"
TOKEN_HEX = 32  # 128 bits


class AgiTokens:
    """Signs and checks attempt ids with one secret (never logged, never repr'd)."""

    __slots__ = ("_key", "_source")

    def __init__(self, secret: str | bytes | Callable[[], str] | None = None) -> None:
        """``secret`` may be a callable, asked once at the first use (the database's secret)."""
        self._source = secret if callable(secret) else None
        self._key = b"" if callable(secret) else _raw(secret) or secrets.token_bytes(32)

    def _secret(self) -> bytes:
        if not self._key and self._source is not None:
            self._key = _raw(self._source()) or secrets.token_bytes(32)
        return self._key

    def __repr__(self) -> str:
        return "AgiTokens(<secret>)"

    def token(self, attempt_id: int) -> str:
        """The token of one attempt."""
        digest = hmac.new(self._secret(), str(attempt_id).encode("ascii"), hashlib.sha256)
        return digest.hexdigest()[:TOKEN_HEX]

    def variables(self, attempt_id: int) -> dict[str, str]:
        """The Originate variables that carry the token."""
        return {TOKEN_VARIABLE: self.token(attempt_id)}

    def verify(self, attempt_id: int, token: str | None) -> bool:
        """True when ``token`` is the attempt's (compared in constant time)."""
        if not token:
            return False
        given = token.strip().lower().encode("utf-8", "replace")
        return hmac.compare_digest(self.token(attempt_id).encode("ascii"), given)


def _raw(secret: str | bytes | None) -> bytes | None:
    return secret.encode("utf-8") if isinstance(secret, str) else secret
