"""Per-day and per-week figures by the campaign's *local* day, on both backends.

``v_campaign_daily`` groups by UTC day; a call centre in Asia/Shanghai works
09:00–17:00 local, and a day's first hour is the previous UTC day. PostgreSQL
reads the local day with ``AT TIME ZONE``; SQLite has no zone data, so the
query carries the zone's UTC offsets as a ``CASE`` over its transitions
(computed here with ``zoneinfo`` for the years the campaign's dials span).

The formulas are v_campaign_daily's (docs/database.md), plus ``complaints``:
dials whose outcome is ``dnc_requested`` or ``refused`` (seed 003's weekly
complaint count). The weekly summary adds up the local days of each
Monday–Sunday week.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from dialerd.domain.outcomes import OUTCOMES, Group, Outcome
from dialerd.reporting.figures import WEEKLY_COLUMNS, plain

COMPLAINTS = (Outcome.dnc_requested, Outcome.refused)


def _codes(group: Group) -> str:
    return ", ".join(f"'{o.value}'" for o, spec in OUTCOMES.items() if spec.group == group)


OUR_FAULT = f"(a.outcome IN ({_codes(Group.our_fault)}))"
COUNTED = f"(a.started_at IS NOT NULL AND (a.outcome IS NULL OR NOT {OUR_FAULT}))"
REACHED = f"(a.outcome IN ({_codes(Group.reached)}))"
COMPLAINT = "(a.outcome IN ({}))".format(", ".join(f"'{o.value}'" for o in COMPLAINTS))
_SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how UtcDateTime stores an instant on SQLite


def offsets(zone: ZoneInfo, first: datetime, last: datetime) -> list[tuple[datetime, int]]:
    """``[(from_utc, offset_s)]``: the zone's UTC offset at ``first``, then at each change."""
    found = [(first, _offset(zone, first))]
    step = first
    while step < last:
        nxt = min(step + timedelta(days=1), last)
        if _offset(zone, nxt) != found[-1][1]:
            lo, hi = step, nxt  # the change lies in (lo, hi]: bisect to the second
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if _offset(zone, mid) == found[-1][1]:
                    lo = mid
                else:
                    hi = mid
            found.append((hi.replace(microsecond=0), _offset(zone, nxt)))
        step = nxt
    return found


def _offset(zone: ZoneInfo, at: datetime) -> int:
    delta = at.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _sqlite_day(column: str, spans: list[tuple[datetime, int]]) -> str:
    """``CASE WHEN t >= change_n THEN date(t, offset_n) ... ELSE date(t, offset_0) END``."""
    shift = "date({}, '{:+d} seconds')"
    if len(spans) == 1:
        return shift.format(column, spans[0][1])
    branches = " ".join(
        f"WHEN {column} >= '{start.astimezone(UTC).strftime(_SQLITE_TIME)}' "
        f"THEN {shift.format(column, offset)}"
        for start, offset in reversed(spans[1:])
    )
    return f"CASE {branches} ELSE {shift.format(column, spans[0][1])} END"


def _day_sql(
    conn: Connection, column: str, zone: ZoneInfo, spans: list[tuple[datetime, int]]
) -> str:
    if conn.dialect.name == "postgresql":
        return f"to_char(({column} AT TIME ZONE '{zone.key}'), 'YYYY-MM-DD')"
    return _sqlite_day(column, spans)


def _seconds(conn: Connection, later: str, earlier: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"date_part('epoch', {later} - {earlier})"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def daily(
    conn: Connection, campaign_id: int, tz: str, since: date | None, until: date | None
) -> list[dict[str, Any]]:
    """One row per local day with a dial: v_campaign_daily's columns, plus ``complaints``."""
    zone = ZoneInfo(tz)
    first, last = conn.execute(
        text(
            "SELECT MIN(COALESCE(started_at, claimed_at)), MAX(COALESCE(started_at, claimed_at)) "
            "FROM attempts WHERE campaign_id = :c"
        ),
        {"c": campaign_id},
    ).one()
    if first is None:
        return []
    first, last = _aware(first), _aware(last)
    spans = offsets(zone, first - timedelta(days=1), last + timedelta(days=1))
    when = "COALESCE(a.started_at, a.claimed_at)"
    day = _day_sql(conn, when, zone, spans)
    first_day = _day_sql(conn, "f.first_reached_at", zone, spans)
    ring_s = _seconds(conn, "COALESCE(a.answered_at, a.ended_at)", "a.started_at")
    talk_s = _seconds(conn, "a.ended_at", "a.answered_at")
    ring = f"CASE WHEN {COUNTED} THEN {ring_s} END"
    talk = f"CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN {talk_s} END"
    sql = f"""
SELECT d.day, d.calls_made, d.accounts_called, d.answered_calls, d.reached_calls,
  d.our_fault_dials, d.ring_seconds, d.talk_seconds, d.complaints,
  COALESCE(r.new_reached_accounts, 0) AS new_reached_accounts
FROM (
  SELECT {day} AS day,
    SUM(CASE WHEN {COUNTED} THEN 1 ELSE 0 END) AS calls_made,
    COUNT(DISTINCT CASE WHEN {COUNTED} THEN a.contact_id END) AS accounts_called,
    SUM(CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered_calls,
    SUM(CASE WHEN {COUNTED} AND {REACHED} THEN 1 ELSE 0 END) AS reached_calls,
    SUM(CASE WHEN {OUR_FAULT} THEN 1 ELSE 0 END) AS our_fault_dials,
    COALESCE(SUM({ring}), 0) AS ring_seconds,
    COALESCE(SUM({talk}), 0) AS talk_seconds,
    SUM(CASE WHEN {COUNTED} AND {COMPLAINT} THEN 1 ELSE 0 END) AS complaints
  FROM attempts a
  WHERE a.campaign_id = :c AND (a.started_at IS NOT NULL OR {OUR_FAULT})
  GROUP BY {day}
) d
LEFT JOIN (
  SELECT {first_day} AS day, COUNT(*) AS new_reached_accounts
  FROM (
    SELECT a.contact_id, MIN(a.started_at) AS first_reached_at
    FROM attempts a
    WHERE a.campaign_id = :c AND {COUNTED} AND {REACHED}
    GROUP BY a.contact_id
  ) f
  GROUP BY {first_day}
) r ON r.day = d.day
ORDER BY d.day
"""
    rows = []
    for r in conn.execute(text(sql), {"c": campaign_id}):
        row = {k: plain(v) for k, v in r._mapping.items()}
        if (since is None or row["day"] >= since.isoformat()) and (
            until is None or row["day"] <= until.isoformat()
        ):
            calls = row["calls_made"]
            row["answer_rate"] = row["answered_calls"] / calls if calls else None
            rows.append(row)
    return rows


def weekly(days: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seed 003's weekly summary from local days: dials, connect rate, valid rate, complaints.

    ``week`` is the Monday; connect rate = answered ÷ dials; valid rate = dials that
    reached the person (outcome group ``reached``) ÷ dials; complaints = DNC
    requests + refusals.
    """
    weeks: dict[str, dict[str, Any]] = {}
    for d in days:
        day = date.fromisoformat(d["day"])
        monday = (day - timedelta(days=day.weekday())).isoformat()
        w = weeks.setdefault(
            monday,
            {
                "week": monday,
                "calls_made": 0,
                "answered_calls": 0,
                "reached_calls": 0,
                "complaints": 0,
            },
        )
        for key in ("calls_made", "answered_calls", "reached_calls", "complaints"):
            w[key] += int(d[key] or 0)
    out = []
    for monday in sorted(weeks):
        w = weeks[monday]
        calls = w["calls_made"]
        w["connect_rate"] = w["answered_calls"] / calls if calls else None
        w["valid_rate"] = w["reached_calls"] / calls if calls else None
        out.append({k: w[k] for k in WEEKLY_COLUMNS})
    return out


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite aggregates come back as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
