"""What a report may show of a person: numbers and names masked unless asked otherwise."""

from __future__ import annotations

from dialerd.logconfig import mask_number

__all__ = ["mask_name", "mask_number", "maybe_mask_name", "maybe_mask_number"]


def mask_name(name: str) -> str:
    """``张三丰`` → ``张**``, ``Alice Smith`` → ``A**********``: the first character only."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else name


def maybe_mask_number(number: str | None, show: bool) -> str:
    if number is None:
        return ""
    return number if show else mask_number(number)


def maybe_mask_name(name: str | None, show: bool) -> str:
    if name is None:
        return ""
    return name if show else mask_name(name)
