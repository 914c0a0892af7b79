"""CSV and JSON output, with spreadsheet formula injection defused.

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
is prefixed with ``'`` so a spreadsheet shows it as text instead of running it
(OWASP "CSV injection"). Numbers are written as numbers. E.164 numbers start with
``+`` and so come out as ``'+8613800138000``; the JSON output keeps raw values.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import IO, Any

from dialerd.reporting.figures import DAILY_COLUMNS, FIGURES, Report

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """``=HYPERLINK(...)`` → ``'=HYPERLINK(...)``; other values unchanged."""
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        return "'" + value
    return value


def write_rows(out: IO[str], header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write ``header`` then ``rows`` (streamed), escaping every text cell; returns the count."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([escape_cell(h) for h in header])
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else escape_cell(v) for v in row])
        count += 1
    return count


def report_csv(report: Report, out: IO[str], daily: bool) -> None:
    """Figures as ``figure,label_en,label_zh,value`` rows; with ``daily``, the daily table."""
    if daily:
        write_rows(out, DAILY_COLUMNS, ([d[c] for c in DAILY_COLUMNS] for d in report.daily))
        return
    write_rows(
        out,
        ("figure", "label_en", "label_zh", "value"),
        ((f.key, f.label_en, f.label_zh, report.figures.get(f.key)) for f in FIGURES),
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def report_json(report: Report, out: IO[str]) -> None:
    json.dump(report.as_dict(), out, ensure_ascii=False, indent=2, default=_default)
    out.write("\n")
