"""``dialerd import --preview``: the first rows of a list as dialerd reads them; writes nothing.

Shows how the header was mapped (``[columns]``), then each row: its id and name,
every number normalised (E.164, type, carrier) or why it would be dropped, what
goes to ``data``, and rows refused as a whole. Only what the file itself tells is
checked (the database's contacts and do-not-call list are not read).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dialerd.campaignfile.columns import ColumnMap
from dialerd.domain.phones import Rejection
from dialerd.importer.keyset import KeySet, text_key
from dialerd.importer.reader import ContactReader
from dialerd.importer.rows import ContactRow, RowError


@dataclass
class PreviewCounts:
    rows: int = 0
    would_load: int = 0
    refused: int = 0
    numbers: int = 0
    numbers_dropped: int = 0


def preview_lines(
    path: Path,
    *,
    region: str,
    default_timezone: str,
    columns: ColumnMap | None = None,
    encoding: str | None = None,
    rows: int = 10,
    counts: PreviewCounts | None = None,
) -> Iterator[str]:
    """Lines describing the header mapping and the first ``rows`` data rows.

    Raises :class:`~dialerd.importer.reader.ContactFileError` when the header is unusable.
    """
    counts = counts if counts is not None else PreviewCounts()
    with ContactReader(
        path, region=region, default_timezone=default_timezone, encoding=encoding, columns=columns
    ) as reader:
        mapped = reader.columns
        yield f"{path.name}: {reader.encoding}, {len(mapped.names)} columns, region {region}"
        for field, i in sorted(mapped.index.items(), key=lambda item: item[1]):
            yield f"  {field:<20} <- {mapped.names[i]}"
        if mapped.data:
            yield f"  {'data':<20} <- " + ", ".join(name for name, _ in mapped.data)
        ids, numbers = KeySet(), KeySet()
        for row in reader:
            if counts.rows >= rows:
                break
            counts.rows += 1
            if isinstance(row, RowError):
                counts.refused += 1
                yield f"line {row.line}: REFUSED {row.field}: {row.message} ({row.reason})"
                continue
            yield from _row_lines(reader, row, ids, numbers, counts)


def _row_lines(
    reader: ContactReader, row: ContactRow, ids: KeySet, numbers: KeySet, counts: PreviewCounts
) -> Iterator[str]:
    if not ids.add(text_key(row.external_id)):
        counts.refused += 1
        label = reader.columns.label("external_id")
        yield f"line {row.line}: REFUSED {label}: duplicate external id {row.external_id}"
        return
    head = f"line {row.line}: {row.external_id}" + (f" {row.name}" if row.name else "")
    extras = [
        f"{label} {value}"
        for label, value in (
            ("timezone", row.timezone),
            ("deadline", row.deadline and row.deadline.isoformat()),
            ("not_before", row.not_before and row.not_before.isoformat()),
            ("appointment", row.appointment and row.appointment.isoformat()),
            ("priority", row.priority or None),
        )
        if value
    ]
    lines = [head + (f" ({', '.join(extras)})" if extras else "")]
    kept = 0
    for number in row.numbers:
        where = reader.phone_field(number.position)
        shown = f"  phone{number.position} {where}: {number.raw.strip()}"
        result = number.result
        if isinstance(result, Rejection):
            counts.numbers_dropped += 1
            lines.append(f"{shown} -> dropped: {result.message} ({result.reason})")
            continue
        if not numbers.add(int(result.e164[1:])):
            counts.numbers_dropped += 1
            lines.append(f"{shown} -> dropped: duplicate number {result.e164}")
            continue
        kept += 1
        about = ", ".join(p for p in (result.number_type, result.carrier) if p)
        third = ", third party" if number.third_party else ""
        lines.append(f"{shown} -> {result.e164} ({about}{third})")
    if row.data:
        lines.append("  data: " + json.dumps(row.data, ensure_ascii=False))
    if kept:
        counts.would_load += 1
        counts.numbers += kept
    else:
        counts.refused += 1
        lines.append("  REFUSED: no dialable number left (no_number_left)")
    yield from lines
