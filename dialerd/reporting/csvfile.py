"""The one CSV writer every CLI export uses: UTF-8 with a BOM, formula injection defused.

The BOM makes Excel on Chinese Windows read the file as UTF-8 (without it the
Chinese labels show as mojibake); ``csv`` with ``utf-8-sig`` reads it back.
A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is prefixed with ``'`` so a spreadsheet shows it as text instead of running it
(OWASP "CSV injection"). Numbers are written as numbers. E.164 numbers start with
``+`` and so come out as ``'+8613800138000``; JSON output keeps raw values.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import IO, Any

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """``=HYPERLINK(...)`` → ``'=HYPERLINK(...)``; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def write_rows(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A BOM, ``header``, then ``rows`` (streamed), every text cell escaped; returns the count."""
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else escape_cell(v) for v in row])
        count += 1
    return count
