"""Who works on the database: daemon instances and their shared secrets, API tokens and
what the API stores (idempotency keys, agents' call summaries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from dialerd.db.base import Base, Id
from dialerd.db.types import JsonType, UtcDateTime


class Instance(Base):
    """A daemon process: its heartbeat is how `dialerd status` sees it alive.

    ``lease_until`` (the database's clock) is how peers tell whether it still owns
    its dials in flight; see docs/database.md.
    """

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # the database's time until which this daemon owns its dials in flight
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pbx_kind: Mapped[str] = mapped_column(String(16))
    pbx_up: Mapped[bool] = mapped_column(Boolean, default=False)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class QueueAgentHour(Base):
    """One daemon's view of one agent queue in one UTC hour: its agents' seconds by state.

    Added to at every heartbeat (migration 0010); several daemons on one PBX each
    see the same agents, so readers take the largest row of an hour, not the sum.
    """

    __tablename__ = "queue_agent_hours"

    queue: Mapped[str] = mapped_column(String(80), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ready_s: Mapped[float] = mapped_column(Float)
    ringing_s: Mapped[float] = mapped_column(Float)
    talking_s: Mapped[float] = mapped_column(Float)
    wrap_up_s: Mapped[float] = mapped_column(Float)
    paused_s: Mapped[float] = mapped_column(Float)
    wrap_ups: Mapped[int] = mapped_column(Integer)


class SharedSecret(Base):
    """A secret every daemon of this database shares (``agi``: the FastAGI token key).

    Made by the first daemon that needs it; never logged, never shown by the CLI.
    """

    __tablename__ = "shared_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """An HTTP API token: only its SHA-256 is kept; ``scope`` is agent | ops | read.

    Made by ``dialerd api token add`` (which prints the token once); a revoked
    token keeps its row (``revoked_at``) so its name stays in the audit trail.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiIdempotencyKey(Base):
    """A write request's ``Idempotency-Key`` with the response it got, per token.

    A retry with the same key and body gets the stored response; the same key with
    another body is refused. ``request_sha256`` covers the method, path and body.
    """

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_name", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AttemptSummary(Base):
    """An agent's call summary (电话小结) of an answered dial: at most one per attempt."""

    __tablename__ = "attempt_summaries"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    token_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
