"""The rejects CSV: every refused row or number, with the original columns and why.

Written next to the source as ``<name>.rejects.csv`` unless a path is given, in
UTF-8 with a BOM (Excel on Chinese Windows then shows the names right), and only
created when something is refused. Columns: the source's own, then ``line``,
``field``, ``reason`` (a stable code) and ``detail``.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from types import TracebackType
from typing import IO, Any

EXTRA_COLUMNS = ("line", "field", "reason", "detail")


def default_rejects_path(source: Path) -> Path:
    return source.with_name(f"{source.stem}.rejects.csv")


class RejectsWriter:
    """Counts rejects by reason and streams them to the file, opened on the first one."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.path = path
        self._header = [h.strip() for h in header]
        self._file: IO[str] | None = None
        self._writer: Any = None
        self.counts: Counter[str] = Counter()
        self.number_counts: Counter[str] = Counter()  # the part of ``counts`` about numbers

    def __enter__(self) -> RejectsWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def written(self) -> bool:
        return self._file is not None

    def write(
        self,
        values: list[str],
        line: int,
        field: str,
        reason: str,
        detail: str,
        *,
        number: bool = False,
    ) -> None:
        """One refusal: of a whole row (a contact), or of one ``number`` of a row."""
        if self._writer is None:
            self._file = self.path.open("w", encoding="utf-8-sig", newline="")
            self._writer = csv.writer(self._file)
            self._writer.writerow([*self._header, *EXTRA_COLUMNS])
        self.counts[reason] += 1
        if number:
            self.number_counts[reason] += 1
        self._writer.writerow([*values, line, field, reason, detail])

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
