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
FORMATS: dict[CellKind, str] = {"number": "0.00", "percent": "0.0%"}
_STYLED = frozenset(FORMATS)
SHEET_ROWS = 1_048_575  # Excel's row limit less the header: more rows go to a next sheet
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
    """The value as openpyxl should get it: plain values are cheap, styled cells are not."""
    kind = column.kind
    if isinstance(value, Typed):
        value, kind = value.value, value.kind
    value = _value(kind, value, tz)
    if value is None:
        return None
    if isinstance(value, str):
        if not value.startswith(FORMULA_TRIGGERS):
            return value  # openpyxl stores it as text
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"  # never a formula, whatever it starts with
        cell.quotePrefix = True
        return cell
    if kind in _STYLED:
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = FORMATS[kind]
        return cell
    return value  # numbers; dates and datetimes get openpyxl's date formats


def _header(ws: Any, columns: Sequence[Column], widths: list[int]) -> None:
    """Widths, a frozen bold header row (``ws``: write-only; its stub lacks the widths)."""
    for i, size in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = size
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for col in columns:
        cell = WriteOnlyCell(ws, value=col.header)
        cell.data_type = "s"
        cell.font = bold
        header.append(cell)
    ws.append(header)


def _write_sheet(wb: Workbook, sheet: Sheet, limit: int) -> int:
    """Rows past ``limit`` continue on sheets titled ``<title> 2``, ``<title> 3``..."""
    rows = iter(sheet.rows)
    sample = list(itertools.islice(rows, _WIDTH_SAMPLE))
    widths = _widths(sheet.columns, sample)
    ws, count, part = wb.create_sheet(sheet.title), 0, 1
    _header(ws, sheet.columns, widths)
    for row in itertools.chain(sample, rows):
        if count and count % limit == 0:
            part += 1
            ws = wb.create_sheet(f"{sheet.title} {part}")
            _header(ws, sheet.columns, widths)
        ws.append([_cell(ws, c, v, sheet.tz) for c, v in zip(sheet.columns, row, strict=True)])
        count += 1
    return count


def write_xlsx(path: Path, sheets: Sequence[Sheet], *, sheet_rows: int = SHEET_ROWS) -> int:
    """Write ``sheets`` to ``path``; returns the data rows of the first sheet."""
    wb = Workbook(write_only=True)
    counts = [_write_sheet(wb, sheet, sheet_rows) for sheet in sheets]
    wb.save(path)
    return counts[0] if counts else 0
