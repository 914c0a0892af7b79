"""Where each key of a TOML document is written: ``("windows", 1, "start")`` → line 14.

``tomllib`` keeps no positions, so this small scanner walks the (already valid)
text once and records the first line of every key path: table headers ``[a.b]``,
arrays of tables ``[[windows]]`` with their index, dotted keys, inline tables
and array elements.
"""

from __future__ import annotations

from collections.abc import Sequence

Path = tuple[str | int, ...]


class KeyLines:
    """The line of every key path in one TOML text, with longest-prefix lookup.

    The text is scanned on the first lookup: a valid file with nothing to report
    is never scanned.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._lines: dict[Path, int] | None = None

    @property
    def lines(self) -> dict[Path, int]:
        if self._lines is None:
            self._lines = {}
            _Scanner(self._text, self._lines).document()
        return self._lines

    def line_of(self, loc: Sequence[str | int]) -> int:
        """The line of the longest known prefix of ``loc`` (1 when none is known)."""
        path, lines = tuple(loc), self.lines
        for end in range(len(path), 0, -1):
            line = lines.get(path[:end])
            if line is not None:
                return line
        return 1


_BARE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scanner:
    def __init__(self, text: str, lines: dict[Path, int]) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines = lines
        self.array_counts: dict[Path, int] = {}

    # -- characters -------------------------------------------------------
    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def advance(self, n: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + n)
        self.pos += n

    def skip_blanks(self, newlines: bool = False) -> None:
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif ch == "#":
                end = self.text.find("\n", self.pos)
                self.advance((end if end >= 0 else len(self.text)) - self.pos)
            else:
                return

    def record(self, path: Path) -> None:
        self.lines.setdefault(path, self.line)

    # -- structure --------------------------------------------------------
    def document(self) -> None:
        table: Path = ()
        while True:
            self.skip_blanks(newlines=True)
            if self.pos >= len(self.text):
                return
            if self.peek(2) == "[[":
                self.advance(2)
                name = self.keys()
                index = self.array_counts.get(name, 0)
                self.array_counts[name] = index + 1
                table = (*name, index)
                self.record(name)
                self.record(table)
                self.skip_to("]]")
            elif self.peek() == "[":
                self.advance()
                table = self.keys()
                for end in range(1, len(table) + 1):
                    self.record(table[:end])
                self.skip_to("]")
            else:
                self.key_value(table)
            self.skip_blanks()
            if self.peek() == "\n":
                self.advance()

    def skip_to(self, closing: str) -> None:
        self.skip_blanks()
        if self.peek(len(closing)) == closing:
            self.advance(len(closing))

    def keys(self) -> tuple[str, ...]:
        """A dotted key: ``a."b c".d``."""
        parts: list[str] = []
        while True:
            self.skip_blanks()
            parts.append(self.key())
            self.skip_blanks()
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def key(self) -> str:
        quote = self.peek()
        if quote in "\"'":
            start = self.pos
            self.string()
            raw = self.text[start + 1 : self.pos - 1]
            return raw.encode().decode("unicode_escape") if quote == '"' and "\\" in raw else raw
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in _BARE:
            self.advance()
        if self.pos == start:  # not a key: step over one character so scanning always ends
            self.advance()
        return self.text[start : self.pos]

    def key_value(self, table: Path) -> None:
        line = self.line
        path = (*table, *self.keys())
        for end in range(len(table) + 1, len(path) + 1):
            self.lines.setdefault(path[:end], line)
        self.skip_blanks()
        if self.peek() == "=":
            self.advance()
        self.value(path)

    def value(self, path: Path) -> None:
        self.skip_blanks()
        ch = self.peek()
        if ch == "{":
            self.advance()
            self.inline_table(path)
        elif ch == "[":
            self.advance()
            self.array(path)
        elif ch in "\"'":
            self.string()
        else:
            while self.pos < len(self.text) and self.text[self.pos] not in ",]}\n#":
                self.advance()

    def inline_table(self, path: Path) -> None:
        while self.pos < len(self.text):
            self.skip_blanks(newlines=True)
            if self.peek() == "}":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            self.key_value(path)

    def array(self, path: Path) -> None:
        index = 0
        while self.pos < len(self.text):
            self.skip_blanks(newlines=True)
            ch = self.peek()
            if ch == "]":
                self.advance()
                return
            if ch == ",":
                self.advance()
                index += 1
                continue
            self.record((*path, index))
            self.value((*path, index))

    def string(self) -> None:
        quote = self.peek()
        delim = quote * 3 if self.peek(3) == quote * 3 else quote
        self.advance(len(delim))
        text = self.text
        while self.pos < len(text):
            end = text.find(delim, self.pos)
            if end < 0:
                self.advance(len(text) - self.pos)
                return
            escape = text.find("\\", self.pos, end) if quote == '"' else -1
            if escape >= 0:
                self.advance(escape + 2 - self.pos)
                continue
            self.advance(end + len(delim) - self.pos)
            while len(delim) == 3 and self.peek() == quote:  # up to 2 quotes may close
                self.advance()
            return
