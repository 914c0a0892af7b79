"""The SQLite file, watched: deleted, replaced or made unwritable under a running daemon.

SQLite keeps writing to a deleted file through its open descriptor, so nothing
fails and every write after is lost with the process. ``DatabaseFileWatch.check``
compares the path's inode with the one it first saw, and its write permission.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_file(url: str) -> Path | None:
    """The file behind an SQLite URL, or None (PostgreSQL, in-memory, URI filenames)."""
    parsed = make_url(url)
    name = parsed.database
    if parsed.get_backend_name() != "sqlite" or not name or name == ":memory:":
        return None
    if name.startswith("file:"):
        return None
    return Path(name).absolute()


class DatabaseFileWatch:
    """``check()`` returns why the database file can no longer be trusted, or None."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity: tuple[int, int] | None = None

    def arm(self) -> None:
        """Remember the file as it is now (the daemon calls this once it has opened it)."""
        st = os.stat(self.path)
        self._identity = (st.st_dev, st.st_ino)

    def check(self) -> str | None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"{self.path}: the database file was deleted"
        except OSError as exc:
            return f"{self.path}: the database file cannot be read: {exc.strerror}"
        if self._identity is None:
            self._identity = (st.st_dev, st.st_ino)
        elif (st.st_dev, st.st_ino) != self._identity:
            return f"{self.path}: the database file was replaced by another file"
        if not os.access(self.path, os.W_OK) or not os.access(self.path.parent, os.W_OK):
            return f"{self.path}: the database file or its folder is not writable"
        return None
