"""Per-day and per-week figures by the campaign's *local* day, on both backends.

``v_campaign_daily`` groups by the local day (migration 0010): each attempt
carries its campaign zone's UTC offset at the claim, so a call centre in
Asia/Shanghai working 09:00–17:00 sees a dial at 00:30 local on that day, not on
the previous UTC day, on SQLite (no zone data) as on PostgreSQL. The weekly
summary adds up the local days of each Monday–Sunday week.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, text

from dialerd.reporting.figures import WEEKLY_COLUMNS, plain

DAILY_SQL = "SELECT * FROM v_campaign_daily WHERE campaign_id = :c"


def daily(
    conn: Connection, campaign_id: int, since: date | None, until: date | None
) -> list[dict[str, Any]]:
    """One row per local day with a dial, in ``since``..``until``: v_campaign_daily's columns."""
    sql, params = DAILY_SQL, dict[str, object](c=campaign_id)
    if since is not None:
        sql += " AND day >= :since"
        params["since"] = since.isoformat()
    if until is not None:
        sql += " AND day <= :until"
        params["until"] = until.isoformat()
    return [
        {k: plain(v) for k, v in r._mapping.items()}
        for r in conn.execute(text(sql + " ORDER BY day"), params)
    ]


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
