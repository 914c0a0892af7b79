"""The dial log export: one row per attempt, streamed (a million rows never sit in memory).

Times are in the campaign's time zone: ISO 8601 with its offset in CSV and JSON,
real datetimes in XLSX (the zone in the header). Outcome, bucket and treatment
codes come with their Chinese labels; numbers (and the digits of a channel name)
are masked unless asked; ``signals`` is the raw PBX detail (an object in JSON,
JSON text in CSV and XLSX). The columns are described in docs/database.md
("Dial log export").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from dialerd.db.models import Attempt, Contact
from dialerd.reporting.csvfile import write_rows
from dialerd.reporting.labels import bucket_zh, outcome_zh, treatment_zh
from dialerd.reporting.masking import maybe_mask_number
from dialerd.reporting.queries import campaign_row
from dialerd.reporting.xlsxfile import CellKind, Column, Sheet, write_xlsx

FETCH_ROWS = 2_000  # rows per fetch from the server-side cursor

# name, and how XLSX types it
_SPEC: tuple[tuple[str, CellKind], ...] = (
    ("attempt_id", "int"),
    ("key", "text"),
    ("contact_external_id", "text"),
    ("number", "text"),
    ("caller_id", "text"),
    ("position", "int"),
    ("round", "int"),
    ("try_no", "int"),
    ("status", "text"),
    ("planned_at", "datetime"),
    ("started_at", "datetime"),
    ("answered_at", "datetime"),
    ("ended_at", "datetime"),
    ("outcome", "text"),
    ("outcome_zh", "text"),
    ("bucket", "text"),
    ("bucket_zh", "text"),
    ("treatment", "text"),
    ("treatment_zh", "text"),
    ("next_dial_at", "datetime"),
    ("channel", "text"),
    ("reason", "int"),
    ("hangup_cause", "int"),
    ("callee_cause", "int"),
    ("dial_status", "text"),
    ("amd_status", "text"),
    ("amd_cause", "text"),
    ("disposition", "text"),
    ("signals", "text"),
    ("error", "text"),
)
COLUMNS: tuple[str, ...] = tuple(name for name, _ in _SPEC)
_TIMES = frozenset(name for name, kind in _SPEC if kind == "datetime")
_LABELS = {"outcome_zh": "outcome", "bucket_zh": "bucket", "treatment_zh": "treatment"}
_FROM_ATTEMPTS = tuple(n for n in COLUMNS[4:] if n not in _LABELS)


def _bounds(
    tz: ZoneInfo, since: date | None, until: date | None
) -> tuple[datetime | None, datetime | None]:
    """Local days ``since``..``until`` (inclusive) as a half-open UTC range."""
    start = datetime.combine(since, time(0), tzinfo=tz) if since else None
    end = datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz) if until else None
    return start, end


def iter_attempts(
    engine: Engine,
    campaign: str,
    *,
    since: date | None = None,
    until: date | None = None,
    show_numbers: bool = False,
) -> Iterator[dict[str, Any]]:
    """Yield export rows in attempt id order; dials are chosen by their claim time.

    Times are aware datetimes in the campaign's zone; the writers format them.
    """
    a, c = Attempt.__table__, Contact.__table__
    with engine.connect() as conn:
        cid, tz_name = campaign_row(conn, campaign)
        tz = ZoneInfo(tz_name)
        query = (
            select(
                a.c.id.label("attempt_id"),
                a.c.key,
                c.c.external_id.label("contact_external_id"),
                a.c.number,
                *(a.c[name] for name in _FROM_ATTEMPTS),
            )
            .join(c, c.c.id == a.c.contact_id)
            .where(a.c.campaign_id == cid)
            .order_by(a.c.id)
        )
        start, end = _bounds(tz, since, until)
        if start is not None:
            query = query.where(a.c.claimed_at >= start)
        if end is not None:
            query = query.where(a.c.claimed_at < end)
        result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(query)
        try:
            for row in result:
                out = dict(row._mapping)
                for name in _TIMES:
                    if out[name] is not None:
                        out[name] = out[name].astimezone(tz)
                out["number"] = maybe_mask_number(out["number"], show_numbers)
                if out["channel"] is not None:
                    out["channel"] = maybe_mask_number(out["channel"], show_numbers)
                out["outcome_zh"] = outcome_zh(out["outcome"])
                out["bucket_zh"] = bucket_zh(out["bucket"])
                out["treatment_zh"] = treatment_zh(out["treatment"])
                yield {name: out[name] for name in COLUMNS}
        finally:
            result.close()  # the server-side cursor, also when the consumer stops early


def _text(value: Any) -> Any:
    """Times as ISO 8601 with offset; ``signals`` as compact JSON text."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def write_csv(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """CSV through the shared writer (BOM, formula escaping)."""
    return write_rows(out, COLUMNS, ([_text(r[c]) for c in COLUMNS] for r in rows))


def write_json(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """A JSON array written one row per line, so it streams too."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n" if count else "\n")
        plain = {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
        out.write(json.dumps(plain, ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count


def write_xlsx_file(rows: Iterator[dict[str, Any]], path: Path, tz: ZoneInfo) -> int:
    """One sheet, typed: ids and causes as numbers, times as datetimes in ``tz``."""
    columns = [
        Column(f"{name} ({tz.key})" if kind == "datetime" else name, kind) for name, kind in _SPEC
    ]
    values = ([r[c] if c in _TIMES else _text(r[c]) for c in COLUMNS] for r in rows)
    return write_xlsx(path, [Sheet("拨号记录 dial log", columns, values, tz)])


def campaign_zone(engine: Engine, campaign: str) -> ZoneInfo:
    """The campaign's time zone (CampaignNotFound when there is no such campaign)."""
    with engine.connect() as conn:
        return ZoneInfo(campaign_row(conn, campaign)[1])
