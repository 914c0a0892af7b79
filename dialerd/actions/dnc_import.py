"""``dnc import FILE.csv``: one entry per row, bad rows reported as ``path:line: field: message``.

Columns: exactly one of ``number``, ``prefix`` or ``contact`` per row, and optional
``reason`` and ``campaign`` (a campaign name; empty = every campaign). The file is
UTF-8 (a BOM is fine). Valid rows are added even when others are rejected: a row
that cannot be read (not UTF-8, a value over the csv limit, a NUL byte) is
rejected on its own line. A prefix ends with ``*``; one without is refused with a hint.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialerd.actions import dnc
from dialerd.actions.control import record_event
from dialerd.db.models import Campaign, DncEntry
from dialerd.errors import DialerdError
from dialerd.importer.lines import LineFault, Lines, RecordTooLong

TARGET_COLUMNS = ("number", "prefix", "contact")


@dataclass
class ImportSummary:
    rows: int = 0
    added: int = 0
    already: int = 0
    numbers: int = 0
    contacts: frozenset[int] = frozenset()  # to requeue afterwards (requeue.requeue_all)
    rejects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    line: int
    target: dnc.Target
    campaign_id: int | None
    reason: str


def _read(path: Path) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Each row as (line, cleaned values), or (line, ``path:line: field: message``)."""
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise DialerdError(f"{path}: {exc.strerror}") from exc
    lines = Lines(raw, "utf-8")
    try:
        reader = csv.reader(lines, strict=False)
        header = [h.strip().lower() for h in _header(path, reader, lines)]
        if not set(header).intersection(TARGET_COLUMNS):
            raise DialerdError(f"{path}:1: header: needs a number, prefix or contact column")
        while True:
            lines.mark()
            try:
                values = next(reader)
            except StopIteration:
                return
            except LineFault as fault:
                yield fault.line, f"{path}:{fault.line}: {fault.field}: {fault.message}"
                continue
            except (RecordTooLong, csv.Error) as exc:
                (line, _), *rest = lines.taken
                lines.push_back(rest)
                why = str(exc) or "a quoted value spans too many lines (a quote left open?)"
                yield line, f"{path}:{line}: row: {why}"
                continue
            if not values:
                continue
            line = lines.taken[0][0]
            row = {name: (value or "").strip() for name, value in zip(header, values, strict=False)}
            nul = next((name for name, value in row.items() if "\x00" in value), None)
            if nul is not None:
                yield line, f"{path}:{line}: {nul}: contains a NUL byte"
                continue
            yield line, row
    finally:
        lines.close()


def _header(path: Path, reader: Iterator[list[str]], lines: Lines) -> list[str]:
    lines.mark()
    try:
        return next(reader, [])
    except LineFault as fault:
        raise DialerdError(f"{path}:1: header: {fault.message}") from None
    except (RecordTooLong, csv.Error) as exc:
        raise DialerdError(f"{path}:1: header: {exc or 'unreadable'}") from None


def _parse_row(
    path: Path, line: int, row: dict[str, str], region: str, campaigns: dict[str, int]
) -> _Row | str:
    given = [c for c in TARGET_COLUMNS if row.get(c)]
    if len(given) != 1:
        field_name = "/".join(given) if given else "number"
        return f"{path}:{line}: {field_name}: give exactly one of number, prefix or contact"
    column = given[0]
    raw = row[column]
    try:
        if column == "number":
            target = dnc.number_target(raw, region)
        elif column == "prefix":
            if not raw.endswith("*") and not raw.endswith("＊"):
                return f"{path}:{line}: prefix: {dnc.prefix_hint(raw, region)}"
            target = dnc.prefix_target(raw, region)
        else:
            target = dnc.contact_target(raw)
    except dnc.DncInputError as exc:
        return f"{path}:{line}: {column}: {exc}"
    name = row.get("campaign", "")
    if name and name not in campaigns:
        return f"{path}:{line}: campaign: no campaign named {name!r}"
    return _Row(line, target, campaigns[name] if name else None, row.get("reason", ""))


def import_file(
    session: Session, path: Path, *, region: str, who: str, now: datetime
) -> ImportSummary:
    """Add every valid row; numbers already loaded that match are taken out of the queue."""
    campaigns = dict(session.execute(select(Campaign.name, Campaign.id)).all())
    summary = ImportSummary()
    fresh: dict[tuple[int | None, str, str], _Row] = {}
    for line, raw_row in _read(path):
        summary.rows += 1
        if isinstance(raw_row, str):
            summary.rejects.append(raw_row)
            continue
        parsed = _parse_row(path, line, raw_row, region, campaigns)
        if isinstance(parsed, str):
            summary.rejects.append(parsed)
            continue
        key = (parsed.campaign_id, parsed.target.kind, parsed.target.value)
        if key in fresh or dnc.exists(session, parsed.target, parsed.campaign_id):
            summary.already += 1
            continue
        fresh[key] = parsed
    source = f"import:{path.name}"
    session.add_all(
        DncEntry(
            campaign_id=r.campaign_id,
            kind=r.target.kind,
            value=r.target.value,
            reason=r.reason,
            source=source[:64],
            created_at=now,
        )
        for r in fresh.values()
    )
    summary.added = len(fresh)
    groups: dict[tuple[int | None, str], list[str]] = {}
    for campaign_id, kind, value in fresh:
        groups.setdefault((campaign_id, kind), []).append(value)
    for (campaign_id, kind), values in groups.items():
        marked = dnc.mark_numbers(session, campaign_id, kind, values)
        summary.numbers += marked.numbers
        summary.contacts |= marked.contacts
    record_event(
        session,
        campaign_id=None,
        kind="dnc_imported",
        who=who,
        now=now,
        details={
            "path": str(path),
            "rows": summary.rows,
            "added": summary.added,
            "already": summary.already,
            "rejected": len(summary.rejects),
            "numbers": summary.numbers,
        },
    )
    return summary
