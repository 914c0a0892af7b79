"""Database rows as JSON: datetimes in ISO 8601 (UTC), everything else as stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any


def plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def as_json(row: Any, names: Iterable[str] | None = None) -> dict[str, Any]:
    mapping = row._mapping
    return {k: plain(mapping[k]) for k in (names or mapping.keys())}
