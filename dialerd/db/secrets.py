"""Secrets shared by every daemon of one database, made once by the first that asks."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Engine, Table, insert, select
from sqlalchemy.exc import IntegrityError

from dialerd.db.models import SharedSecret

_ss = cast(Table, SharedSecret.__table__)


def shared_secret(engine: Engine, name: str) -> str:
    """The secret called ``name``; the first caller makes it (random, 256 bits)."""
    with engine.begin() as conn:
        value = conn.execute(select(_ss.c.value).where(_ss.c.name == name)).scalar()
    if value is not None:
        return str(value)
    made = secrets.token_hex(32)
    try:
        with engine.begin() as conn:
            conn.execute(insert(_ss).values(name=name, value=made, created_at=datetime.now(UTC)))
        return made
    except IntegrityError:  # another daemon made it first: use theirs
        with engine.begin() as conn:
            return str(conn.execute(select(_ss.c.value).where(_ss.c.name == name)).scalar_one())
