"""The report as CSV (through the shared writer, ``csvfile``) and as JSON."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import IO, Any

from dialerd.reporting.csvfile import write_rows
from dialerd.reporting.figures import DAILY_COLUMNS, FIGURES, WEEKLY_COLUMNS, Report


def report_csv(report: Report, out: IO[str], daily: bool, weekly: bool = False) -> None:
    """Figures as ``figure,label_en,label_zh,value`` rows; with ``daily`` the local days,
    with ``weekly`` the weeks instead."""
    if weekly:
        write_rows(out, WEEKLY_COLUMNS, ([w[c] for c in WEEKLY_COLUMNS] for w in report.weekly))
        return
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
