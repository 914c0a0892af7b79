"""The dial log export: one row per attempt, streamed (a million rows never sit in memory).

Times are ISO 8601 with the offset of the campaign's time zone; numbers are masked
unless asked; ``signals`` is the raw PBX detail (an object in JSON, JSON text in
CSV). The columns are described in docs/database.md ("Dial log export").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from dialerd.db.models import Attempt, Contact
from dialerd.reporting.masking import maybe_mask_number
from dialerd.reporting.queries import campaign_row
from dialerd.reporting.render_csv import write_rows

FETCH_ROWS = 2_000  # rows per fetch from the server-side cursor

COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "key",
    "contact_external_id",
    "number",
    "position",
    "round",
    "try_no",
    "status",
    "planned_at",
    "started_at",
    "answered_at",
    "ended_at",
    "outcome",
    "bucket",
    "treatment",
    "next_dial_at",
    "reason",
    "hangup_cause",
    "callee_cause",
    "dial_status",
    "amd_status",
    "amd_cause",
    "disposition",
    "signals",
    "error",
)
_TIMES = frozenset({"planned_at", "started_at", "answered_at", "ended_at", "next_dial_at"})


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
    """Yield export rows in attempt id order; dials are chosen by their claim time."""
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
                *(a.c[name] for name in COLUMNS[4:]),
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
                        out[name] = out[name].astimezone(tz).isoformat()
                out["number"] = maybe_mask_number(out["number"], show_numbers)
                yield out
        finally:
            result.close()  # the server-side cursor, also when the consumer stops early


def _csv_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def write_csv(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """CSV with formula escaping; ``signals`` as compact JSON text."""
    return write_rows(out, COLUMNS, ([_csv_value(r[c]) for c in COLUMNS] for r in rows))


def write_json(rows: Iterator[dict[str, Any]], out: IO[str]) -> int:
    """A JSON array written one row per line, so it streams too."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(row, ensure_ascii=False))
        count += 1
    out.write("\n]\n")
    return count
