"""Secrets out of anything shown to people: URL passwords, secret settings, free text.

One helper for ``config show``, the logs, ``status`` and error messages, so a
database URL reads ``postgresql://user:***@host/db`` wherever it turns up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr

MASK = "***"

# scheme://user:password@host: masked up to the last "@" of the word, so a password
# with an unencoded "@" does not leak its tail (over-masking is harmless)
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@'\"]*:)(?P<pw>[^\s'\"<>]*)@")
# ?password=... or &password=... (libpq and most drivers also take it as a parameter)
_QUERY = re.compile(r"(?P<head>[?&;](?:password|passwd|pwd|secret)=)(?P<pw>[^&\s;]*)", re.I)


def redact_text(text: str) -> str:
    """Every URL password in ``text`` replaced by ``***``; the rest unchanged."""
    text = _USERINFO.sub(lambda m: f"{m['head']}{MASK}@" if m["pw"] else m[0], text)
    return _QUERY.sub(lambda m: f"{m['head']}{MASK}" if m["pw"] else m[0], text)


def redact(value: Any) -> Any:
    """``value`` with secrets masked: strings, secret strings, and nested dicts and lists."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, tuple):
        return tuple(redact(v) for v in value)
    return value
