"""What the endpoints run on: the database, the clock, settings and the write buckets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dialerd.api.ratelimit import TokenBuckets
from dialerd.domain.ports import Clock
from dialerd.settings import Settings


@dataclass
class ApiContext:
    settings: Settings
    database: Engine  # writes
    reader: Engine  # reads: on SQLite deferred transactions, so they never hold the write lock
    clock: Clock
    buckets: TokenBuckets = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        api = self.settings.api
        self.buckets = TokenBuckets(api.writes_per_second, api.write_burst)
        self.sessions = sessionmaker(self.database, expire_on_commit=False)

    def now(self) -> datetime:
        return self.clock.now()
