"""The few settings the light CLI verbs use, read without pydantic: same sources, same order.

``dialerd status``, ``dnc add`` and ``campaign pause|resume`` need the database URL,
its busy timeout and the heartbeat period. :func:`read_basic` reads them from the
sources :class:`dialerd.settings.Settings` reads, in its order (environment, then
``.env``, then the TOML file, then the defaults written here and used there), with
the same names (``DIALERD_DATABASE__URL``, any case). What it cannot read exactly as
pydantic-settings does (a whole section as JSON in one variable, a value that is
not a plain positive number, an unreadable file) it leaves to ``Settings``: it
returns None. tests/unit/test_settings_basic.py compares the two.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dialerd.errors import ConfigError

DEFAULT_CONFIG_FILE = Path("/etc/dialerd/dialerd.toml")
ENV_PREFIX = "dialerd_"
ENV_FILE = ".env"
BUSY_TIMEOUT_S = 30.0  # database.busy_timeout_s
HEARTBEAT_S = 5.0  # scheduler.heartbeat_s
_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?")
_KEYS = {"database": ("url", "busy_timeout_s"), "scheduler": ("heartbeat_s",)}


def state_directory() -> Path:
    """systemd's ``$STATE_DIRECTORY`` (its first entry), else ``./var``."""
    state_dir = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state_dir) if state_dir else Path("var")


def default_database_url() -> str:
    """An SQLite file in systemd's ``$STATE_DIRECTORY``, else ``./var/dialerd.db``."""
    return f"sqlite:///{state_directory() / 'dialerd.db'}"


def resolve_config_file(explicit: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    env = os.environ.get("DIALERD_CONFIG")
    if env:
        return Path(env)
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def config_path(explicit: Path | None) -> Path | None:
    """The settings file in effect; one given (or named by ``DIALERD_CONFIG``) must exist."""
    path = resolve_config_file(explicit)
    if path is not None and not path.is_file():
        raise ConfigError(f"{path}: settings file not found")
    return path


@dataclass(frozen=True)
class DatabaseBasics:
    url: str
    busy_timeout_s: float


@dataclass(frozen=True)
class SchedulerBasics:
    heartbeat_s: float


@dataclass(frozen=True)
class BasicSettings:
    """``database.url``, ``database.busy_timeout_s`` and ``scheduler.heartbeat_s``."""

    database: DatabaseBasics
    scheduler: SchedulerBasics


Layer = dict[tuple[str, str], object]


class _Undecided(Exception):
    """Only pydantic-settings can tell this value: leave it to ``Settings``."""


def read_basic(config_file: Path | None = None) -> BasicSettings | None:
    """The basic settings, or None when only the full ``Settings`` can tell them."""
    path = config_path(config_file)
    try:
        layers = [_variables(os.environ)]
        if Path(ENV_FILE).is_file():
            from dotenv import dotenv_values

            layers.append(_variables(dotenv_values(ENV_FILE, encoding="utf-8")))
        if path is not None:
            layers.append(_toml(path))
        found: Layer = {}
        for layer in reversed(layers):  # the highest layer last: it wins
            found.update(layer)
        busy = found.get(("database", "busy_timeout_s"), BUSY_TIMEOUT_S)
        beat = found.get(("scheduler", "heartbeat_s"), HEARTBEAT_S)
        database = DatabaseBasics(_text(found.get(("database", "url"))), _positive(busy))
        return BasicSettings(database, SchedulerBasics(_positive(beat)))
    except _Undecided:
        return None


def _variables(variables: Mapping[str, str | None]) -> Layer:
    """``DIALERD_DATABASE__URL`` and the like, names in any case (as pydantic-settings)."""
    lowered = {name.lower(): value for name, value in variables.items()}
    layer: Layer = {}
    for section, keys in _KEYS.items():
        name = ENV_PREFIX + section
        if any(n == name or (n.startswith(name + "__") and n.count("__") > 1) for n in lowered):
            raise _Undecided  # the section as JSON, or nested deeper than a key
        for key in keys:
            value = lowered.get(f"{name}__{key}", _MISSING)
            if value is None:
                raise _Undecided  # a name without a value in .env
            if value is not _MISSING:
                layer[(section, key)] = value
    return layer


_MISSING = object()


def _toml(path: Path) -> Layer:
    import tomllib

    try:
        with path.open("rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _Undecided from exc
    layer: Layer = {}
    for section, keys in _KEYS.items():
        if any(k.lower() == section and k != section for k in data):
            raise _Undecided
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise _Undecided
        for key in keys:
            if any(k.lower() == key and k != key for k in table):
                raise _Undecided
            if key in table:
                layer[(section, key)] = table[key]
    return layer


def _text(value: object) -> str:
    if value is None:
        return default_database_url()
    if not isinstance(value, str):
        raise _Undecided
    return value


def _positive(value: object) -> float:
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        number = float(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        raise _Undecided
    if not (math.isfinite(number) and number > 0):
        raise _Undecided  # Settings refuses it with its own message
    return number
