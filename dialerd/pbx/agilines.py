"""Bounded line framing for FastAGI: no line, and no buffer, grows past a limit."""

from __future__ import annotations


class LineTooLong(Exception):
    """A line (or an unterminated tail) longer than the limit arrived."""


class LineBuffer:
    """Bytes in, ``\\n``-terminated lines out (``\\r`` stripped, UTF-8 with replacement).

    ``feed`` raises :class:`LineTooLong` as soon as the unterminated tail passes
    the limit, so one connection holds at most ``limit`` plus one read.
    """

    __slots__ = ("_buf", "_limit")

    def __init__(self, limit: int) -> None:
        self._buf = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> None:
        self._buf += data
        tail = len(self._buf) - (self._buf.rfind(b"\n") + 1)
        if tail > self._limit:
            self._buf.clear()
            raise LineTooLong(f"a line longer than {self._limit} bytes")

    def next_line(self) -> str | None:
        """The next complete line, or None until one has arrived."""
        end = self._buf.find(b"\n")
        if end < 0:
            return None
        if end > self._limit:
            self._buf.clear()
            raise LineTooLong(f"a line longer than {self._limit} bytes")
        line = bytes(self._buf[:end])
        del self._buf[: end + 1]
        return line.decode("utf-8", "replace").rstrip("\r")
