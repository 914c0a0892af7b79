"""One daemon per instance id on a host: an exclusive ``flock`` held for the daemon's life.

The lock file lives in the state directory and is named after the instance id,
so two daemons started with the same id (the default one derives from the host
and the state directory) cannot both run; the kernel releases the lock when the
process dies, kill -9 included, so a restart never waits for a stale lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import IO

from dialerd.errors import ConfigError


class InstanceLocked(ConfigError):
    """Another running daemon already uses this instance id."""


def lock_path(state_dir: Path, instance_id: str) -> Path:
    digest = hashlib.sha256(instance_id.encode()).hexdigest()[:12]
    return state_dir / f"dialerd-instance-{digest}.lock"


class InstanceLock:
    """Held from ``acquire()`` until ``release()`` or the process's end."""

    def __init__(self, state_dir: Path, instance_id: str) -> None:
        self.path = lock_path(state_dir, instance_id)
        self.instance_id = instance_id
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`InstanceLocked` naming the holder's pid."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise InstanceLocked(
                f"{self.path}: instance id {self.instance_id!r} is in use by another "
                f"daemon (pid {holder}); stop it, or give this one its own "
                "instance_id (DIALERD_INSTANCE_ID) or state directory"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        handle, self._file = self._file, None
        if handle is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()
