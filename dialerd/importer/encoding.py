"""Opening a contact file: encoding detection and a byte counter for progress bars.

Contact lists come as UTF-8 (with or without a BOM) or, when exported by Excel on
Chinese Windows, as GBK/GB18030. The first 64 KiB are decoded as strict UTF-8; if
that fails the file is read as GB18030 (a superset of GBK and GB2312). ASCII-only
files are UTF-8 either way. ``encoding=`` forces a codec.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from pathlib import Path
from typing import IO

SAMPLE_BYTES = 64 * 1024
FALLBACK_ENCODING = "gb18030"


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` (reads files with and without a BOM alike) or ``gb18030``."""
    with path.open("rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        decoder.decode(sample, final=len(sample) < SAMPLE_BYTES)
    except UnicodeDecodeError:
        return FALLBACK_ENCODING
    return "utf-8-sig"


def canonical_encoding(name: str) -> str:
    """Check a user-given codec name; ``utf-8`` is read as ``utf-8-sig`` (BOM tolerated)."""
    try:
        found = codecs.lookup(name).name
    except LookupError:
        raise ValueError(f"unknown encoding {name!r}") from None
    return "utf-8-sig" if found == "utf-8" else found


class _CountingReader(io.RawIOBase):
    """A raw binary stream that reports every chunk it hands on."""

    def __init__(self, raw: IO[bytes], on_read: Callable[[int], None]) -> None:
        self._raw = raw
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        if size:
            self._on_read(size)
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_text(path: Path, encoding: str, on_read: Callable[[int], None] | None = None) -> IO[str]:
    """``path`` as text for the csv module (``newline=""``), reporting bytes read."""
    raw: IO[bytes] = path.open("rb")
    if on_read is not None:
        raw = io.BufferedReader(_CountingReader(raw, on_read), buffer_size=256 * 1024)
    return io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
