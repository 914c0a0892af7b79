"""The one XLSX writer the exports use: typed cells, a header row, sized columns, streamed.

Numbers are numbers, times real datetimes (naive in the cell, local to the zone the
header names: Excel has no zones), dates real dates. Text that a spreadsheet would
run as a formula (``=HYPERLINK(...)``) is stored as a text cell with Excel's
quote prefix: shown as written, never evaluated, not even after editing it.
Rows are written in openpyxl's write-only mode, so a million rows stream to disk.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from dialerd.reporting.csvfile import FORMULA_TRIGGERS
from dialerd.reporting.render_table import width as text_width

CellKind = Literal["text", "int", "number", "percent", "datetime", "date"]
FORMATS: dict[CellKind, str] = {
    "int": "0",
    "number": "0.00",
    "percent": "0.0%",
    "datetime": "yyyy-mm-dd hh:mm:ss",
    "date": "yyyy-mm-dd",
}
_MIN_WIDTH, _MAX_WIDTH = 6, 60
_WIDTH_SAMPLE = 200  # rows looked at to size the columns (before the first row is written)
_FIXED_WIDTH: dict[CellKind, int] = {"datetime": 20, "date": 12}


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header and how its cells are typed."""

    header: str
    kind: CellKind = "text"


@dataclass(frozen=True, slots=True)
class Typed:
    """A cell typed by itself rather than by its column (a figures table mixes kinds)."""

    value: Any
    kind: CellKind


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    columns: Sequence[Column]
    rows: Iterable[Sequence[Any]]
    tz: ZoneInfo | None = None  # aware datetimes are shown in this zone


def _display(value: Any) -> str:
    if isinstance(value, Typed):
        value = value.value
    return "" if value is None else str(value)


def _widths(columns: Sequence[Column], sample: Sequence[Sequence[Any]]) -> list[int]:
    sizes = []
    for i, col in enumerate(columns):
        fixed = _FIXED_WIDTH.get(col.kind)
        widest = max([text_width(col.header), *(text_width(_display(r[i])) for r in sample)])
        if fixed is not None:
            widest = max(widest, fixed)
        sizes.append(min(_MAX_WIDTH, max(_MIN_WIDTH, widest + 2)))
    return sizes


def _value(kind: CellKind, value: Any, tz: ZoneInfo | None) -> Any:
    if kind == "datetime" and isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(tz) if tz is not None else value
            return value.replace(tzinfo=None)
        return value
    if kind == "date" and isinstance(value, str) and value:
        return date.fromisoformat(value)
    return value


def _cell(ws: WriteOnlyWorksheet, column: Column, value: Any, tz: ZoneInfo | None) -> Any:
    kind = column.kind
    if isinstance(value, Typed):
        value, kind = value.value, value.kind
    value = _value(kind, value, tz)
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever it starts with
        if value.startswith(FORMULA_TRIGGERS):
            cell.quotePrefix = True
    elif kind in FORMATS:
        cell.number_format = FORMATS[kind]
    return cell


def _write_sheet(wb: Workbook, sheet: Sheet) -> int:
    ws = wb.create_sheet(sheet.title)
    rows = iter(sheet.rows)
    sample = list(itertools.islice(rows, _WIDTH_SAMPLE))
    for i, size in enumerate(_widths(sheet.columns, sample), start=1):
        ws.column_dimensions[get_column_letter(i)].width = size
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for col in sheet.columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    ws.append(header)
    count = 0
    for row in itertools.chain(sample, rows):
        ws.append([_cell(ws, c, v, sheet.tz) for c, v in zip(sheet.columns, row, strict=True)])
        count += 1
    return count


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> int:
    """Write ``sheets`` to ``path``; returns the data rows of the first sheet."""
    wb = Workbook(write_only=True)
    counts = [_write_sheet(wb, sheet) for sheet in sheets]
    wb.save(path)
    return counts[0] if counts else 0
