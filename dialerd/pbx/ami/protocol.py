"""AMI wire framing: an incremental parser (bytes -> messages) and action serialisation.

Pure code, no sockets. Asterisk sends a one-line banner (``Asterisk Call
Manager/x.y.z``), then messages made of ``Key: Value`` lines, each message
ended by an empty line, with CRLF line ends. The parser also accepts bare LF,
keeps duplicate headers (``Variable:``, ``ChanVariable:``), and never fails on
garbage: lines without ``": "`` are recorded on the message (or make a
``garbage`` message of their own) and parsing goes on.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Literal

from dialerd.errors import UnsafeDialInput

__all__ = ["BANNER_PREFIX", "AmiMessage", "AmiParser", "MessageKind", "format_action"]

BANNER_PREFIX = b"Asterisk Call Manager/"
MAX_BUFFER_BYTES = 4 * 1024 * 1024  # an unterminated message this large is dropped as garbage

MessageKind = Literal["event", "response", "banner", "garbage"]


class AmiMessage:
    """One AMI message: ordered headers (duplicates kept) with dict-like access.

    ``get``/``[]`` return the first value of a header, ``get_last`` the last one
    and ``get_all`` every value. Header names are matched exactly (Asterisk
    sends them in canonical case).
    """

    __slots__ = ("_first", "_last", "garbage", "headers", "kind", "name")

    def __init__(
        self,
        kind: MessageKind,
        name: str,
        headers: list[tuple[str, str]],
        garbage: list[str] | None = None,
    ) -> None:
        self.kind: MessageKind = kind
        self.name = name
        self.headers = headers
        self.garbage: list[str] = garbage if garbage is not None else []
        self._first: dict[str, str] = dict(reversed(headers))
        self._last: dict[str, str] | None = None

    @classmethod
    def from_pairs(cls, pairs: Sequence[tuple[str, str]]) -> AmiMessage:
        """Build a message from header pairs (kind and name derived like the parser does)."""
        headers = list(pairs)
        first = dict(reversed(headers))
        if "Event" in first:
            return cls("event", first["Event"], headers)
        if "Response" in first:
            return cls("response", first["Response"], headers)
        return cls("garbage", "", headers)

    def get(self, key: str, default: str | None = None) -> str | None:
        """First value of header ``key``, else ``default``."""
        return self._first.get(key, default)

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
        return {key: self._first[key] for key in self}

    def __getitem__(self, key: str) -> str:
        return self._first[key]

    def __contains__(self, key: object) -> bool:
        return key in self._first

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys(key for key, _ in self.headers))

    def __len__(self) -> int:
        return len(self._first)

    def __repr__(self) -> str:
        return f"AmiMessage({self.kind}, {self.name!r}, {len(self.headers)} headers)"


def _parse_block(text: str) -> AmiMessage:
    """Parse one message (no trailing empty line) already decoded to str."""
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
    if not headers:
        return AmiMessage("garbage", "", headers, garbage)
    msg = AmiMessage("garbage", "", headers, garbage)
    first = msg._first
    if "Event" in first:
        msg.kind, msg.name = "event", first["Event"]
    elif "Response" in first:
        msg.kind, msg.name = "response", first["Response"]
    return msg


class AmiParser:
    """Incremental AMI parser: ``feed`` bytes as they arrive, get complete messages.

    With ``only_events``, events named otherwise are counted in ``skipped`` and
    dropped before they are decoded (a cheap client-side event filter); with
    ``only_variables``, so are ``VarSet`` events of other variables. Responses,
    garbage and the kept events are returned. A message with junk in front of
    its first header is never dropped. Not thread-safe: one parser per
    connection, fed by one reader.
    """

    __slots__ = ("_buf", "_expect_banner", "_only", "_variables", "banner", "skipped")

    def __init__(
        self,
        expect_banner: bool = True,
        only_events: Collection[str] | None = None,
        only_variables: Collection[str] | None = None,
    ) -> None:
        self._buf = b""
        self._expect_banner = expect_banner
        self._only = _encoded(only_events)
        self._variables = _encoded(only_variables)
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
                out.append(AmiMessage("banner", self.banner, []))
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
        filtered = self._only is not None or self._variables is not None
        for block in blocks:
            if not block:
                continue
            if filtered and block.startswith(b"Event: ") and not self._wanted(block):
                self.skipped += 1
                continue
            out.append(_parse_block(block.decode("utf-8", "replace")))
        if len(rest) > MAX_BUFFER_BYTES:
            out.append(AmiMessage("garbage", "", [], ["<oversized message dropped>"]))
            rest = b""
        self._buf = rest
        return out

    def _wanted(self, block: bytes) -> bool:
        """Whether an event block passes the filters (read from its bytes, undecoded)."""
        name = _line_value(block, 7)
        if self._only is not None and name not in self._only:
            return False
        if self._variables is None or name != b"VarSet":
            return True
        at = block.find(b"\nVariable: ")
        return at >= 0 and _line_value(block, at + 11) in self._variables

    @property
    def pending_bytes(self) -> int:
        """Bytes held back waiting for the end of a message."""
        return len(self._buf)


def _encoded(names: Collection[str] | None) -> frozenset[bytes] | None:
    return frozenset(n.encode() for n in names) if names is not None else None


def _line_value(block: bytes, start: int) -> bytes:
    """The bytes from ``start`` to the end of that line (CR dropped)."""
    end = block.find(b"\n", start)
    return (block[start:end] if end >= 0 else block[start:]).rstrip(b"\r")


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
