"""A contact file's physical lines, read and decoded one at a time, for the csv module.

Each line is decoded on its own, so a byte that is not valid in the file's encoding
costs only its line (:class:`LineFault`, with that line's true number) and never a
read-ahead chunk of the file. A line longer than :data:`MAX_LINE_BYTES` is skipped
in bounded memory. A record (one CSV row, possibly spanning lines inside quotes) may
span at most :data:`MAX_RECORD_LINES` lines: :class:`RecordTooLong` says when it
would take more (an unclosed quote, most likely), and :meth:`Lines.push_back`
gives the lines taken back to be read again as records of their own.

Lines end at ``\\n`` (a ``\\r`` before it stays, the csv module strips it); a file
with ``\\r`` alone as line ends (old Mac Excel) is read with ``\\r`` as the line end.
A UTF-8 byte-order mark at the start is dropped whatever the encoding.
"""

from __future__ import annotations

import codecs
import io
from collections import deque
from collections.abc import Callable
from typing import IO

MAX_LINE_BYTES = 1 << 20
MAX_RECORD_LINES = 64
_SKIP_CHUNK = 64 * 1024
BOM = codecs.BOM_UTF8


class LineFault(Exception):
    """A line that cannot be read; ``field`` and ``reason`` go to the rejects file."""

    def __init__(self, line: int, field: str, reason: str, message: str, text: str) -> None:
        super().__init__(message)
        self.line = line
        self.field = field
        self.reason = reason
        self.message = message
        self.text = text  # what can be shown of the line (undecodable bytes replaced)


class RecordTooLong(Exception):
    """The record being read would span more than :data:`MAX_RECORD_LINES` lines."""


class _RawLines(io.RawIOBase):
    """The file's bytes, reported to ``on_read``; ``\\r`` turned into ``\\n`` when asked."""

    def __init__(
        self, raw: IO[bytes], on_read: Callable[[int], None] | None, cr_only: bool
    ) -> None:
        self._raw = raw
        self._on_read = on_read
        self._cr_only = cr_only

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        size = len(data)
        if self._cr_only:
            data = data.replace(b"\r", b"\n")
        buffer[:size] = data
        if size and self._on_read is not None:
            self._on_read(size)
        return size

    def close(self) -> None:
        self._raw.close()
        super().close()


class Lines:
    """Iterator of decoded lines for ``csv.reader``; :attr:`taken` holds ``(number, text)``
    of every line handed out since the last :meth:`mark`."""

    def __init__(
        self,
        raw: IO[bytes],
        encoding: str,
        *,
        cr_only: bool = False,
        on_read: Callable[[int], None] | None = None,
    ) -> None:
        self._file = io.BufferedReader(_RawLines(raw, on_read, cr_only), buffer_size=256 * 1024)
        self._decode = codecs.getdecoder(encoding)
        self._shown = encoding.removesuffix("-sig").upper()
        self._pending: deque[tuple[int, str]] = deque()
        self.number = 0  # the last line read from the file
        self.taken: list[tuple[int, str]] = []
        self.ended_in_record = False  # the file ended while a record was being read
        if self._file.peek(len(BOM))[: len(BOM)] == BOM:
            self._file.read(len(BOM))

    def close(self) -> None:
        self._file.close()

    def mark(self) -> None:
        """A record starts: forget the lines taken so far."""
        self.taken = []
        self.ended_in_record = False

    def push_back(self, lines: list[tuple[int, str]]) -> None:
        """Read these lines again, before the rest of the file."""
        self._pending.extendleft(reversed(lines))

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        if len(self.taken) >= MAX_RECORD_LINES:
            raise RecordTooLong
        item = self._pending.popleft() if self._pending else self._read()
        if item is None:
            self.ended_in_record = bool(self.taken)
            raise StopIteration
        self.taken.append(item)
        return item[1]

    def _read(self) -> tuple[int, str] | None:
        data = self._file.readline(MAX_LINE_BYTES + 1)
        if not data:
            return None
        self.number += 1
        if len(data) > MAX_LINE_BYTES and not data.endswith(b"\n"):
            head, _ = self._decode(data[:200], "replace")
            while (more := self._file.readline(_SKIP_CHUNK)) and not more.endswith(b"\n"):
                pass
            raise LineFault(
                self.number,
                "row",
                "line_too_long",
                f"line longer than {MAX_LINE_BYTES} bytes",
                head,
            )
        try:
            text, _ = self._decode(data)
        except UnicodeDecodeError as exc:
            shown, _ = self._decode(data, "replace")
            raise LineFault(
                self.number,
                "encoding",
                "encoding",
                f"not valid {self._shown} text (byte 0x{data[exc.start]:02x}, the line's "
                f"byte {exc.start + 1}); save the file as UTF-8 or give --encoding",
                shown,
            ) from None
        return self.number, text
