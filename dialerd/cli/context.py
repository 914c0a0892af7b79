"""What every CLI verb shares: settings, logging and the database, made on first use.

Light to import: SQLAlchemy and the settings models load when a verb first asks for them.
The database comes from ``basic`` (:mod:`dialerd.settings_basic`, no pydantic), so a
verb that needs no other setting never loads pydantic-settings; ``light_db`` serves
the light verbs on SQLite without SQLAlchemy (:mod:`dialerd.app_light`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dialerd.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session, sessionmaker

    from dialerd.actions.port import Database
    from dialerd.settings import Settings
    from dialerd.settings_basic import BasicSettings


def _make_engine(url: str, *, read_only: bool = False, busy_timeout_s: float) -> Engine:
    """``make_engine``; a URL it cannot parse is a ConfigError naming it, password masked."""
    from sqlalchemy.exc import ArgumentError

    from dialerd.db.engine import make_engine

    try:
        return make_engine(url, read_only=read_only, busy_timeout_s=busy_timeout_s)
    except (ArgumentError, ValueError) as exc:
        from dialerd.redact import redact_text  # pydantic: only on this error

        raise ConfigError(f"database.url {redact_text(url)}: {exc}") from None


@dataclass
class CliContext:
    config_file: Path | None = None
    verbose: bool = False
    overrides: dict[str, object] = field(default_factory=dict)
    json_errors: bool = False  # a verb printing JSON sets it: errors then come as JSON too

    @cached_property
    def settings(self) -> Settings:
        from dialerd.settings import load_settings

        return load_settings(self.config_file, **self.overrides)

    @cached_property
    def basic(self) -> BasicSettings | Settings:
        """The database and heartbeat settings: read without pydantic when that gives
        the same values (:func:`dialerd.settings_basic.read_basic`), else ``settings``."""
        if not self.overrides and "settings" not in self.__dict__:
            from dialerd.settings_basic import read_basic

            found = read_basic(self.config_file)
            if found is not None:
                return found
        return self.settings

    @cached_property
    def engine(self) -> Engine:
        """The database, closed when the command ends (no connection outlives it)."""
        database = self.basic.database
        engine = _make_engine(database.url, busy_timeout_s=database.busy_timeout_s)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.find_root().call_on_close(engine.dispose)
        return engine

    @cached_property
    def read_engine(self) -> Engine:
        """The database for commands that only read (reports, exports, status)."""
        database = self.basic.database
        engine = _make_engine(database.url, read_only=True, busy_timeout_s=database.busy_timeout_s)
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.find_root().call_on_close(engine.dispose)
        return engine

    @cached_property
    def light_db(self) -> Database:
        """The light verbs' database (:func:`dialerd.app_light.open_database`: ``sqlite3`` on
        an SQLite file, else SQLAlchemy), closed when the command ends."""
        from dialerd.app_light import open_database

        database = self.basic.database
        found = open_database(
            database.url, busy_timeout_s=database.busy_timeout_s, engine=lambda: self.engine
        )
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.find_root().call_on_close(found.close)
        return found

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from dialerd.db.engine import session_factory

        return session_factory(self.engine)

    def now(self) -> datetime:
        """The database's time: the clock the daemons use for due times, spacing and leases."""
        from dialerd.db.clock import sample_database_now

        return sample_database_now(self.engine)


pass_cli = click.make_pass_decorator(CliContext)
