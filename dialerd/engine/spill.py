"""Results the writer could not hold in memory or write, kept as JSON lines until written.

Each writer appends to its own ``results-<instance>.jsonl`` in the spill folder,
holding an ``flock`` on it while open. At start-up a writer also takes every
other spill file nobody holds (a previous run's), and replays them all: results
carry the attempt key, and an attempt already done is never re-applied, so a
file replayed again after a crash changes nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.logconfig import get_logger

log = get_logger("dialerd.spill")
PATTERN = "results-*.jsonl"
_TIMES = ("answered_at", "ended_at", "callback_at")


def encode(result: DialResult) -> str:
    signals = asdict(result.signals)
    for name in _TIMES:
        if signals[name] is not None:
            signals[name] = signals[name].isoformat()
    signals["raw"] = {k: v for k, v in signals["raw"].items() if _plain(v)}
    return json.dumps({"key": result.key, "attempt_id": result.attempt_id, "signals": signals})


def decode(line: str) -> DialResult:
    doc = json.loads(line)
    signals = dict(doc["signals"])
    for name in _TIMES:
        if signals.get(name) is not None:
            signals[name] = datetime.fromisoformat(signals[name])
    return DialResult(
        key=str(doc["key"]), attempt_id=int(doc["attempt_id"]), signals=PbxSignals(**signals)
    )


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class _Source:
    """One spill file being replayed: read from ``offset``, which only grows."""

    def __init__(self, path: Path, handle: IO[bytes]) -> None:
        self.path = path
        self.handle = handle
        self.offset = 0
        if handle.seek(0, os.SEEK_END) and not _ends_with_newline(handle):
            handle.write(b"\n")  # a line cut short by a crash stays apart from the next
            handle.flush()
        handle.seek(0)
        self.lines = sum(1 for line in handle if line.endswith(b"\n"))

    def read(self, limit: int) -> tuple[list[bytes], int]:
        """Up to ``limit`` whole lines from ``offset``, and their size in bytes."""
        self.handle.seek(self.offset)
        lines: list[bytes] = []
        while len(lines) < limit:
            line = self.handle.readline()
            if not line.endswith(b"\n"):
                break  # end of file, or a line cut short by a crash
            lines.append(line)
        return lines, sum(len(line) for line in lines)


class Spill:
    """Thread-safe: ``append`` from any thread; ``take``/``consumed`` from the writer's."""

    def __init__(self, folder: Path, instance_id: str) -> None:
        self.folder = folder
        self.path = folder / f"results-{_safe(instance_id)}.jsonl"
        self._lock = threading.Lock()
        self._sources: list[_Source] = []
        self._own: _Source | None = None
        self._taken: tuple[_Source, int, int] | None = None

    def adopt_leftovers(self) -> int:
        """Take every spill file no live writer holds (this one's from a previous run too)."""
        if not self.folder.is_dir():
            return 0
        taken = 0
        with self._lock:
            held = {s.path for s in self._sources}
            for path in sorted(self.folder.glob(PATTERN)):
                if path in held:
                    continue
                handle = path.open("a+b")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    handle.close()  # another daemon's, still running
                    continue
                source = _Source(path, handle)
                if path == self.path:
                    self._own = source
                self._sources.append(source)
                taken += source.lines
        if taken:
            log.warning("results_spill_found", results=taken, folder=str(self.folder))
        return taken

    def pending(self) -> int:
        with self._lock:
            return sum(s.lines for s in self._sources)

    def append(self, results: Sequence[DialResult]) -> None:
        """Write ``results`` to this writer's file, synced to disk before returning."""
        if not results:
            return
        with self._lock:
            own = self._open_own()
            own.handle.seek(0, os.SEEK_END)
            own.handle.write("".join(encode(r) + "\n" for r in results).encode())
            own.handle.flush()
            os.fsync(own.handle.fileno())
            own.lines += len(results)

    def take(self, limit: int) -> list[DialResult]:
        """Up to ``limit`` spilled results, oldest file first; ``consumed`` removes them."""
        with self._lock:
            for source in list(self._sources):
                lines, size = source.read(limit)
                if not lines:
                    continue
                self._taken = (source, size, len(lines))
                out = []
                for line in lines:
                    try:
                        out.append(decode(line.decode()))
                    except (ValueError, KeyError, TypeError) as exc:
                        log.error("results_spill_line_bad", path=str(source.path), error=str(exc))
                if out:
                    return out
                self._consume()  # nothing readable in these lines: skip them
            return []

    def consumed(self) -> None:
        """The results the last ``take`` returned are written: drop them, and emptied files."""
        with self._lock:
            self._consume()

    def _consume(self) -> None:
        if self._taken is not None:
            (source, size, count), self._taken = self._taken, None
            source.offset += size
            source.lines -= count
            if source.lines <= 0:
                self._close(source, remove=True)

    def close(self) -> None:
        """Release the files; those with results left stay for the next start."""
        with self._lock:
            for source in list(self._sources):
                self._close(source, remove=source.lines <= 0)

    def _open_own(self) -> _Source:
        if self._own is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+b")
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._own = _Source(self.path, handle)
            self._sources.append(self._own)
        return self._own

    def _close(self, source: _Source, *, remove: bool) -> None:
        if remove:
            source.path.unlink(missing_ok=True)
        source.handle.close()
        self._sources.remove(source)
        if source is self._own:
            self._own = None


def _ends_with_newline(handle: IO[bytes]) -> bool:
    handle.seek(-1, os.SEEK_END)
    return handle.read(1) == b"\n"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
