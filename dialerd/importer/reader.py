"""Streaming contact CSV reader, and ``check_file``: the dry run behind `campaign validate`.

The file is iterated row by row (memory does not grow with its size). Header names
are case-insensitive and trimmed, and may be mapped to dialerd's fields by the
campaign's ``[columns]`` table; a header that cannot be used is one file-level
:class:`Problem` on line 1. Each data row yields a :class:`ContactRow` (whose
numbers may still hold :class:`~dialerd.domain.phones.Rejection` s) or a
:class:`RowError`; empty lines are skipped. Line numbers are physical lines of the
file, where the record starts (a quoted value may span several lines).

A row that cannot be read (an undecodable or over-long line, a value over
:data:`MAX_FIELD_CHARS`, a NUL byte, a quote left open) is a :class:`RowError` of
its own line: the rows around it are read as usual.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from zoneinfo import ZoneInfo

from dialerd.campaignfile.columns import ColumnMap
from dialerd.domain.phones import Rejection
from dialerd.errors import DialerdError
from dialerd.importer.encoding import canonical_encoding, cr_line_ends, detect_encoding
from dialerd.importer.keyset import KeySet, text_key
from dialerd.importer.lines import MAX_RECORD_LINES, LineFault, Lines, RecordTooLong
from dialerd.importer.rows import Columns, ContactRow, RowError, parse_row
from dialerd.problems import Problem

MAX_FIELD_CHARS = csv.field_size_limit()  # the csv module's own limit: 131072
_SHOWN_CHARS = 100  # of each value of an unreadable row, in the rejects file


class ContactFileError(DialerdError):
    """The contact file cannot be read."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class ContactReader:
    """``with ContactReader(path, region="CN") as rows: for row in rows: ...``"""

    def __init__(
        self,
        path: Path,
        *,
        region: str,
        default_timezone: str = "UTC",
        encoding: str | None = None,
        on_read: Callable[[int], None] | None = None,
        columns: ColumnMap | None = None,
    ) -> None:
        self.path = path
        self._mapping = columns
        self.region = region.upper()
        self._zone = ZoneInfo(default_timezone)
        self.default_timezone = default_timezone
        self._forced = encoding
        self._on_read = on_read
        self.encoding = ""
        self.header: list[str] = []
        self._lines: Lines | None = None
        self._columns: Columns | None = None

    def _problem(self, line: int, field: str, message: str) -> ContactFileError:
        return ContactFileError(Problem(str(self.path), line, field, message))

    def __enter__(self) -> ContactReader:
        try:
            if self._forced:
                self.encoding = canonical_encoding(self._forced)
            else:
                self.encoding = detect_encoding(self.path)
            cr_only = cr_line_ends(self.path)
            raw = self.path.open("rb")
        except ValueError as exc:
            raise self._problem(1, "encoding", str(exc)) from None
        except OSError as exc:
            raise self._problem(1, "file", exc.strerror or str(exc)) from None
        self._lines = Lines(raw, self.encoding, cr_only=cr_only, on_read=self._on_read)
        self._rows = csv.reader(self._lines, strict=False)
        try:
            self.header = self._read_header(self._lines)
        except BaseException:
            self._lines.close()
            raise
        columns, problems = Columns.from_header(self.header, self._mapping, self.path.name)
        if problems:
            self._lines.close()
            raise self._problem(1, "header", "; ".join(problems))
        self._columns = columns
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._lines is not None:
            self._lines.close()

    def _read_header(self, lines: Lines) -> list[str]:
        """The header record; any fault in it makes the file unreadable."""
        lines.mark()
        try:
            return next(self._rows)
        except StopIteration:
            return []
        except LineFault as fault:
            raise self._problem(fault.line, fault.field, fault.message) from None
        except RecordTooLong:
            message = f"a quoted name spans more than {MAX_RECORD_LINES} lines"
            raise self._problem(1, "header", message) from None
        except csv.Error as exc:
            raise self._problem(1, "header", str(exc)) from None

    def phone_field(self, position: int) -> str:
        """The header's own name for ``phone<position>``."""
        if self._columns is None:
            return f"phone{position}"
        return self._columns.names[self._columns.index[f"phone{position}"]]

    @property
    def columns(self) -> Columns:
        """How the header was read (inside the with block)."""
        if self._columns is None:
            raise RuntimeError("ContactReader is used outside its with block")
        return self._columns

    def __iter__(self) -> Iterator[ContactRow | RowError]:
        columns, lines = self._columns, self._lines
        if columns is None or lines is None:
            raise RuntimeError("ContactReader is used outside its with block")
        for item in self._records(lines, columns):
            if isinstance(item, RowError):
                yield item
            else:
                line, values = item
                yield parse_row(columns, values, line, self.region, self._zone)

    def _records(
        self, lines: Lines, columns: Columns
    ) -> Iterator[tuple[int, list[str]] | RowError]:
        """Each record as (first line, values padded to the header's width), or why not.

        A record that cannot be read costs one line: the line at fault, or the
        record's first line; the other lines it had taken are read again.
        """
        width = len(columns.names)
        rows = self._rows
        while True:
            lines.mark()
            try:
                values = next(rows)
            except StopIteration:
                return
            except LineFault as fault:
                if lines.taken:
                    yield self._broken(
                        lines, width, "malformed_row", f"a quoted value runs into line {fault.line}"
                    )
                yield RowError(
                    fault.line,
                    _salvage(fault.text, width),
                    fault.field,
                    fault.reason,
                    fault.message,
                )
                continue
            except RecordTooLong:
                message = (
                    f"a quoted value spans more than {MAX_RECORD_LINES} lines (a quote left open?)"
                )
                yield self._broken(lines, width, "malformed_row", message)
                continue
            except csv.Error as exc:
                yield self._csv_error(lines, columns, str(exc))
                continue
            checked = self._checked(lines, columns, values)
            if checked is not None:
                yield checked

    def _checked(
        self, lines: Lines, columns: Columns, values: list[str]
    ) -> tuple[int, list[str]] | RowError | None:
        """A record read whole, padded to the header's width, or why not; None: blank."""
        width = len(columns.names)
        taken = lines.taken
        if lines.ended_in_record and len(taken) > 1:
            return self._broken(lines, width, "malformed_row", "a quote is never closed")
        if not any(values):
            return None
        line = taken[0][0]
        if len(values) > width:
            if any(v.strip() for v in values[width:]):
                message = f"{len(values)} values for {width} columns"
                return RowError(line, values[:width], "row", "malformed_row", message)
            values = values[:width]
        elif len(values) < width:
            values = values + [""] * (width - len(values))
        if any("\x00" in text for _, text in taken):
            at = next(i for i, v in enumerate(values) if "\x00" in v)
            shown = [v.replace("\x00", "\ufffd") for v in values]
            return RowError(line, shown, columns.names[at], "nul_byte", "contains a NUL byte")
        return line, values

    def _broken(self, lines: Lines, width: int, reason: str, message: str) -> RowError:
        """Refuse the record's first line; read the other lines taken again."""
        (line, text), *rest = lines.taken
        lines.push_back(rest)
        return RowError(line, _salvage(text, width), "row", reason, message)

    def _csv_error(self, lines: Lines, columns: Columns, message: str) -> RowError:
        text = "".join(text for _, text in lines.taken)
        error = self._broken(lines, len(columns.names), "malformed_row", message)
        if not message.startswith("field larger than field limit"):
            return error
        at = _long_column(text, MAX_FIELD_CHARS)
        field = columns.names[at] if at < len(columns.names) else "row"
        return RowError(
            error.line,
            error.values,
            field,
            "value_too_long",
            f"longer than {MAX_FIELD_CHARS} characters",
        )


def _salvage(text: str, width: int) -> list[str]:
    """What an unreadable row shows in the rejects file: its first values, cut short."""
    parts = text.rstrip("\r\n").replace("\x00", "\ufffd").split(",")[:width]
    values = [p if len(p) <= _SHOWN_CHARS else p[:_SHOWN_CHARS] + "…" for p in parts]
    return values + [""] * (width - len(values))


def _long_column(text: str, limit: int) -> int:
    """The index of the first value longer than ``limit`` (a rough CSV scan)."""
    column = size = 0
    quoted = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            column, size = column + 1, 0
        else:
            size += 1
            if size > limit:
                return column
    return column


def check_file(
    path: Path, *, region: str, encoding: str | None = None, columns: ColumnMap | None = None
) -> Iterator[Problem]:
    """Every problem the importer would reject in ``path``; writes nothing.

    Covers the header, each row's fields and numbers, and duplicates inside the
    file (external ids, numbers); not the database (already loaded, do-not-call).
    """
    name = str(path)
    ids, numbers = KeySet(), KeySet()
    try:
        with ContactReader(path, region=region, encoding=encoding, columns=columns) as reader:
            for row in reader:
                if isinstance(row, RowError):
                    yield Problem(name, row.line, row.field, row.message)
                    continue
                if not ids.add(text_key(row.external_id)):
                    field = reader.columns.label("external_id")
                    yield Problem(name, row.line, field, "duplicate external id")
                for number in row.numbers:
                    field = reader.phone_field(number.position)
                    if isinstance(number.result, Rejection):
                        yield Problem(name, row.line, field, number.result.message)
                    elif not numbers.add(int(number.result.e164[1:])):
                        yield Problem(name, row.line, field, "duplicate number")
    except ContactFileError as exc:
        yield exc.problem
