"""AMI wire framing: an incremental parser (bytes -> messages) and action serialisation.

Pure code, no sockets. Asterisk sends a one-line banner (``Asterisk Call
Manager/x.y.z``), then messages made of ``Key: Value`` lines, each message
ended by an empty line, with CRLF line ends. The parser also accepts bare LF,
keeps duplicate headers (``Variable:``, ``ChanVariable:``), and never fails on
garbage: lines without ``": "`` are recorded on the message (or make a
``garbage`` message of their own) and parsing goes on.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from itertools import repeat
from typing import Literal

from dialerd.errors import UnsafeDialInput

__all__ = ["BANNER_PREFIX", "AmiMessage", "AmiParser", "MessageKind", "format_action"]

BANNER_PREFIX = b"Asterisk Call Manager/"
MAX_BUFFER_BYTES = 4 * 1024 * 1024  # an unterminated message this large is dropped as garbage

MessageKind = Literal["event", "response", "banner", "garbage"]


class AmiMessage(dict[str, str]):
    """One AMI message: a dict of its headers' first values, in wire order, and more.

    ``get``/``[]``/``in`` are the dict's own (the correlator reads every event
    through them); ``kind`` and ``name`` say what the message is, ``headers``
    keeps every (name, value) pair with duplicates (``Variable:``,
    ``ChanVariable:``), ``get_last``/``get_all`` read them, and ``garbage``
    holds the lines that were not headers. Header names are matched exactly
    (Asterisk sends them in canonical case).
    """

    __slots__ = ("_headers", "_last", "garbage", "kind", "name")

    kind: MessageKind
    name: str
    garbage: list[str]
    _headers: list[tuple[str, str]] | None
    _last: dict[str, str] | None

    @classmethod
    def from_pairs(
        cls, pairs: Sequence[tuple[str, str]], garbage: list[str] | None = None
    ) -> AmiMessage:
        """A message from header pairs (kind and name derived like the parser does)."""
        msg = cls()
        for key, value in pairs:
            msg.setdefault(key, value)
        return msg._typed(list(pairs), garbage if garbage is not None else [])

    @classmethod
    def banner_line(cls, banner: str) -> AmiMessage:
        msg = cls()._typed([], [])
        msg.kind, msg.name = "banner", banner
        return msg

    def _typed(self, headers: list[tuple[str, str]] | None, garbage: list[str]) -> AmiMessage:
        """Set what the dict does not hold; ``headers`` None: the dict's items, no duplicates."""
        self._headers, self._last, self.garbage = headers, None, garbage
        if "Event" in self:
            self.kind, self.name = "event", self["Event"]
        elif "Response" in self:
            self.kind, self.name = "response", self["Response"]
        else:
            self.kind, self.name = "garbage", ""
        return self

    @property
    def headers(self) -> list[tuple[str, str]]:
        """Every (name, value) pair in wire order, duplicates included."""
        if self._headers is None:
            self._headers = list(self.items())
        return self._headers

    def get_last(self, key: str, default: str | None = None) -> str | None:
        """Last value of header ``key``, else ``default``."""
        if self._last is None:
            self._last = dict(self.headers)
        return self._last.get(key, default)

    def get_all(self, key: str) -> list[str]:
        """Every value of header ``key``, in order."""
        return [v for k, v in self.headers if k == key]

    def as_dict(self) -> dict[str, str]:
        """Headers as a plain dict in wire order (first value wins)."""
        return dict(self)

    def __repr__(self) -> str:
        return f"AmiMessage({self.kind}, {self.name!r}, {len(self.headers)} headers)"


def _parse_block(text: str) -> AmiMessage:
    """Parse one message (no trailing empty line) already decoded to str.

    The common case, CRLF lines that are each ``Key: value`` with a non-empty
    key and distinct keys, is split without a Python-level loop (each line once
    at its first ``": "``, as :func:`_parse_lines` does) and accepted only if
    every line held ``": "``, no key repeats or is empty and no bare LF or
    trailing CR is left; anything else goes line by line through
    :func:`_parse_lines` (the two agree on every input, see the unit tests).
    """
    lines = text.split("\r\n")
    n = len(lines)
    try:
        msg = AmiMessage(map(str.split, lines, repeat(": ", n), repeat(1, n)))
    except ValueError:  # a line without ": "
        return _parse_lines(text)
    if len(msg) != n or "" in msg or text.count("\n") != n - 1 or text[-1:] == "\r":
        return _parse_lines(text)
    return msg._typed(None, [])


def _parse_lines(text: str) -> AmiMessage:
    """Parse one message line by line: bare LF, ``Key:`` lines, garbage lines."""
    headers: list[tuple[str, str]] = []
    garbage: list[str] | None = None
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        key, sep, value = line.partition(": ")
        if sep and key:
            headers.append((key, value))
        elif line.endswith(":") and len(line) > 1 and " " not in line:
            headers.append((line[:-1], ""))
        elif line:
            if garbage is None:
                garbage = []
            garbage.append(line)
    return AmiMessage.from_pairs(headers, garbage)


class AmiParser:
    """Incremental AMI parser: ``feed`` bytes as they arrive, get complete messages.

    With ``only_events``, events named otherwise are counted in ``skipped`` and
    dropped before they are decoded (a cheap client-side event filter); with
    ``only_variables``, so are ``VarSet`` events of other variables. Responses,
    garbage and the kept events are returned. A message with junk in front of
    its first header is never dropped. Not thread-safe: one parser per
    connection, fed by one reader.
    """

    __slots__ = ("_buf", "_events", "_expect_banner", "_variables", "banner", "skipped")

    def __init__(
        self,
        expect_banner: bool = True,
        only_events: Collection[str] | None = None,
        only_variables: Collection[str] | None = None,
    ) -> None:
        self._buf = b""
        self._expect_banner = expect_banner
        self._events = None if only_events is None else {n.encode() for n in only_events}
        self._variables = None if only_variables is None else {v.encode() for v in only_variables}
        self.banner: str | None = None
        self.skipped = 0

    def feed(self, data: bytes) -> list[AmiMessage]:
        """Add received bytes; return every message completed by them."""
        buf = self._buf + data if self._buf else data
        out: list[AmiMessage] = []
        if self._expect_banner:
            nl = buf.find(b"\n")
            if nl < 0:
                self._buf = buf
                return out
            self._expect_banner = False
            line = buf[:nl].rstrip(b"\r")
            if line.startswith(BANNER_PREFIX):
                self.banner = line.decode("utf-8", "replace")
                out.append(AmiMessage.banner_line(self.banner))
                buf = buf[nl + 1 :]
        if b"\r" not in buf:
            sep = b"\n\n"
        elif b"\n\n" in buf:
            buf = buf.replace(b"\r\n", b"\n")  # mixed line ends: normalise
            sep = b"\n\n"
        else:
            sep = b"\r\n\r\n"
        blocks = buf.split(sep)
        rest = blocks.pop()
        kept = self._kept(blocks)
        if kept:
            # One decode for the lot: sep is ASCII, so no character is cut or made.
            text = sep.join(kept).decode("utf-8", "replace")
            out += [_parse_block(block) for block in text.split(sep.decode())]
        if len(rest) > MAX_BUFFER_BYTES:
            out.append(AmiMessage.from_pairs([], ["<oversized message dropped>"]))
            rest = b""
        self._buf = rest
        return out

    def _kept(self, blocks: list[bytes]) -> list[bytes]:
        """The non-empty blocks that pass the filters, read from their bytes (whole-list passes)."""
        events, variables = self._events, self._variables
        if events is None:
            kept = [b for b in blocks if b]
        else:  # the name: the rest of the first line, less one CR (as the parse reads it)
            kept = [
                b
                for b in blocks
                if b
                and (
                    not b.startswith(b"Event: ")
                    or b.partition(b"\n")[0][7:].removesuffix(b"\r") in events
                )
            ]
        if variables is not None:
            kept = [
                b
                for b in kept
                if not (b.startswith(_VARSET) or b == _VARSET_BARE) or _variable(b) in variables
            ]
        self.skipped += len(blocks) - blocks.count(b"") - len(kept)
        return kept

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for the end of a message."""
        return len(self._buf)


_VARSET_BARE = b"Event: VarSet"
_VARSET = (_VARSET_BARE + b"\r\n", _VARSET_BARE + b"\n")
_VARIABLE = b"\nVariable: "


def _variable(block: bytes) -> bytes | None:
    """The value of a message's first ``Variable`` line, less one CR; None without one."""
    start = block.find(_VARIABLE)
    if start < 0:
        return None
    start += len(_VARIABLE)
    end = block.find(b"\n", start)
    return (block[start:] if end < 0 else block[start:end]).removesuffix(b"\r")


_FORBIDDEN = ("\r", "\n", "\0")


def _check(text: str, what: str, *, key: bool) -> None:
    for ch in _FORBIDDEN:
        if ch in text:
            raise UnsafeDialInput(f"AMI {what} holds a CR, LF or NUL character")
    if key and (":" in text or not text or text != text.strip()):
        raise UnsafeDialInput(f"AMI {what} is empty or holds ':' or surrounding spaces")


def format_action(name: str, headers: Sequence[tuple[str, str]]) -> bytes:
    """Serialise one action (``Action: name`` first), refusing anything that could break framing.

    Raises UnsafeDialInput for a CR, LF or NUL anywhere, or a ``:`` in a key.
    """
    _check(name, "action name", key=True)
    parts = ["Action: ", name, "\r\n"]
    for key, value in headers:
        _check(key, "header name", key=True)
        _check(value, f"value of {key}", key=False)
        parts += (key, ": ", value, "\r\n")
    parts.append("\r\n")
    return "".join(parts).encode("utf-8")
