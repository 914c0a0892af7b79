"""Durations as campaign files write them: ``"6h"``, ``"30s"``, ``"1h30m"``, ``"90m"``, ``"2d"``.

A bare number is refused: ``30`` could mean seconds, minutes or rings.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer
from pydantic_core import PydanticCustomError

_UNITS = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
_PATTERN = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def parse_duration(text: str) -> timedelta:
    """``"1h30m"`` → 5400 s. Raises ``ValueError`` for anything else."""
    compact = text.strip().lower().replace(" ", "")
    match = _PATTERN.fullmatch(compact)
    if not compact or match is None:
        raise ValueError(f'"{text}" is not a duration like "30s", "6h" or "1h30m"')
    seconds = sum(
        int(part) * unit for part, unit in zip(match.groups(), _UNITS.values(), strict=True) if part
    )
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: 5400 s → ``"1h30m"``, 0 → ``"0s"``."""
    left = int(value.total_seconds())
    if left <= 0:
        return "0s"
    parts = []
    for suffix, unit in _UNITS.items():
        count, left = divmod(left, unit)
        if count:
            parts.append(f"{count}{suffix}")
    return "".join(parts)


def _coerce(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or isinstance(value, int | float):
        raise PydanticCustomError(
            "duration_unitless",
            '{value} is not a duration like "{value}s": write the unit (s, m, h or d)',
            {"value": value},
        )
    if not isinstance(value, str):
        raise PydanticCustomError(
            "duration_type",
            'expected a duration string like "30s", got {kind}',
            {"kind": type(value).__name__},
        )
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise PydanticCustomError("duration_format", str(exc)) from None


Duration = Annotated[
    timedelta,
    BeforeValidator(_coerce),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
"""A pydantic field type: parses duration strings, serialises back to the same form."""
