"""One compiled statement: its SQLite text and how its values are converted."""

from __future__ import annotations

from typing import NamedTuple


class Statement(NamedTuple):
    """What :mod:`dialerd.db.litegen` keeps of a Core statement compiled for SQLite.

    Conversions name a column type's (:mod:`dialerd.db.lite.convert`): ``""`` none,
    ``utc``, ``json``, ``bool``, or ``enum:NAME`` (a :mod:`dialerd.domain.states` enum).
    """

    sql: str  # named parameters (``:name``); ``__[POSTCOMPILE_name]`` for an IN list
    params: tuple[tuple[str, str], ...]  # the caller's parameters: (name, conversion)
    fixed: tuple[tuple[str, object], ...]  # values compiled with the statement, as stored
    expanding: tuple[str, ...]  # parameters that are lists (``IN (...)``)
    columns: tuple[tuple[str, str], ...]  # the result's columns: (name, conversion)
