"""Which database URLs the light verbs open through ``sqlite3``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")


def sqlite_path(url: str) -> Path | None:
    """The file of a plain SQLite URL (``sqlite:///var/dialerd.db``); None for any other URL.

    Only URLs SQLAlchemy reads the same way: no query string, no ``:memory:``,
    no ``file:`` URI (those keep the SQLAlchemy path).
    """
    for prefix in _PREFIXES:
        if url.startswith(prefix):
            name = url.removeprefix(prefix)
            if not name or "?" in name or name == ":memory:" or name.startswith("file:"):
                return None
            return Path(unquote(name))
    return None
