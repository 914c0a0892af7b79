"""Streaming contact CSV reader, and ``check_file``: the dry run behind `campaign validate`.

The file is iterated row by row (memory does not grow with its size). Header names
are case-insensitive and trimmed; a header that cannot be used is one file-level
:class:`Problem` on line 1. Each data row yields a :class:`ContactRow` (whose
numbers may still hold :class:`~dialerd.domain.phones.Rejection` s) or a
:class:`RowError`; empty lines are skipped. Line numbers are physical lines of the
file, where the record starts (a quoted value may span several lines).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO
from zoneinfo import ZoneInfo

from dialerd.domain.phones import Rejection
from dialerd.errors import DialerdError
from dialerd.importer.encoding import canonical_encoding, detect_encoding, open_text
from dialerd.importer.keyset import KeySet, text_key
from dialerd.importer.rows import Columns, ContactRow, RowError, parse_row
from dialerd.problems import Problem


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
    ) -> None:
        self.path = path
        self.region = region.upper()
        self._zone = ZoneInfo(default_timezone)
        self._forced = encoding
        self._on_read = on_read
        self.encoding = ""
        self.header: list[str] = []
        self._file: IO[str] | None = None
        self._columns: Columns | None = None

    def _problem(self, line: int, field: str, message: str) -> ContactFileError:
        return ContactFileError(Problem(str(self.path), line, field, message))

    def __enter__(self) -> ContactReader:
        try:
            if self._forced:
                self.encoding = canonical_encoding(self._forced)
            else:
                self.encoding = detect_encoding(self.path)
            self._file = open_text(self.path, self.encoding, self._on_read)
        except ValueError as exc:
            raise self._problem(1, "encoding", str(exc)) from None
        except OSError as exc:
            raise self._problem(1, "file", exc.strerror or str(exc)) from None
        try:
            self._rows = csv.reader(self._file, strict=False)
            self.header = self._next_record() or []
        except BaseException:
            self._file.close()
            raise
        columns, problems = Columns.from_header(self.header)
        if problems:
            self._file.close()
            raise self._problem(1, "header", "; ".join(problems))
        self._columns = columns
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()

    def _next_record(self) -> list[str] | None:
        try:
            return next(self._rows)
        except StopIteration:
            return None
        except UnicodeDecodeError:
            raise self._problem(
                self._rows.line_num + 1,
                "encoding",
                f"not valid {self.encoding} text (use --encoding to force one)",
            ) from None
        except csv.Error as exc:
            raise self._problem(self._rows.line_num, "csv", str(exc)) from None

    def phone_field(self, position: int) -> str:
        """The header's own name for ``phone<position>``."""
        if self._columns is None:
            return f"phone{position}"
        return self._columns.names[self._columns.index[f"phone{position}"]]

    def __iter__(self) -> Iterator[ContactRow | RowError]:
        columns = self._columns
        if columns is None:
            raise RuntimeError("ContactReader is used outside its with block")
        width = len(columns.names)
        region, zone = self.region, self._zone
        start = self._rows.line_num + 1
        while (values := self._next_record()) is not None:
            line, start = start, self._rows.line_num + 1
            if not any(values):
                continue
            if len(values) > width:
                if any(v.strip() for v in values[width:]):
                    yield RowError(
                        line,
                        values[:width],
                        "row",
                        "malformed_row",
                        f"{len(values)} values for {width} columns",
                    )
                    continue
                values = values[:width]
            elif len(values) < width:
                values = values + [""] * (width - len(values))
            yield parse_row(columns, values, line, region, zone)


def check_file(path: Path, *, region: str, encoding: str | None = None) -> Iterator[Problem]:
    """Every problem the importer would reject in ``path``; writes nothing.

    Covers the header, each row's fields and numbers, and duplicates inside the
    file (external ids, numbers); not the database (already loaded, do-not-call).
    """
    name = str(path)
    ids, numbers = KeySet(), KeySet()
    try:
        with ContactReader(path, region=region, encoding=encoding) as reader:
            for row in reader:
                if isinstance(row, RowError):
                    yield Problem(name, row.line, row.field, row.message)
                    continue
                if not ids.add(text_key(row.external_id)):
                    yield Problem(name, row.line, "external_id", "duplicate external id")
                for number in row.numbers:
                    field = reader.phone_field(number.position)
                    if isinstance(number.result, Rejection):
                        yield Problem(name, row.line, field, number.result.message)
                    elif not numbers.add(int(number.result.e164[1:])):
                        yield Problem(name, row.line, field, "duplicate number")
    except ContactFileError as exc:
        yield exc.problem
