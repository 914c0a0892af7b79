"""Read one campaign's report from the SQL views (the views hold every formula)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, text

from dialerd.errors import CampaignNotFound
from dialerd.reporting.figures import DAILY_COLUMNS, LATENESS_COLUMNS, Report, plain
from dialerd.reporting.masking import maybe_mask_name, maybe_mask_number

UNDIALABLE_SAMPLE = 20  # contacts listed for data cleaning


def campaign_row(conn: Connection, name: str) -> tuple[int, str]:
    """The campaign's id and time zone, or CampaignNotFound."""
    row = conn.execute(
        text("SELECT id, timezone FROM campaigns WHERE name = :n"), {"n": name}
    ).first()
    if row is None:
        raise CampaignNotFound(f"no campaign named {name!r}")
    return int(row[0]), str(row[1])


def _dicts(conn: Connection, sql: str, **params: Any) -> list[dict[str, Any]]:
    return [{k: plain(v) for k, v in r._mapping.items()} for r in conn.execute(text(sql), params)]


def _day_filter(since: date | None, until: date | None) -> tuple[str, dict[str, Any]]:
    clauses, params = [], {}
    if since is not None:
        clauses.append("day >= :since")
        params["since"] = since.isoformat()
    if until is not None:
        clauses.append("day <= :until")
        params["until"] = until.isoformat()
    return "".join(f" AND {c}" for c in clauses), params


def load_report(
    engine: Engine,
    name: str,
    *,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
    show_numbers: bool = False,
    show_names: bool = False,
) -> Report:
    """Figures are totals to date; daily rows, outcomes and hours follow ``since``/``until``."""
    with engine.connect() as conn:
        cid, tz = campaign_row(conn, name)
        (figures,) = _dicts(conn, "SELECT * FROM v_campaign_figures WHERE campaign_id = :c", c=cid)
        where, params = _day_filter(since, until)
        daily = _dicts(
            conn,
            f"SELECT * FROM v_campaign_daily WHERE campaign_id = :c{where} ORDER BY day",
            c=cid,
            **params,
        )
        outcomes = _outcomes(conn, cid, since, until)
        funnel = _dicts(
            conn, "SELECT * FROM v_round_funnel WHERE campaign_id = :c ORDER BY round", c=cid
        )
        lateness = _dicts(conn, "SELECT * FROM v_dispatch_lateness WHERE campaign_id = :c", c=cid)
        hourly = _dicts(
            conn,
            "SELECT hour_utc, calls_made FROM v_campaign_hourly WHERE campaign_id = :c",
            c=cid,
        )
        undialable = _undialable(conn, cid, show_numbers, show_names)
    hourly = [h for h in hourly if _in_range(h["hour_utc"][:10], since, until)]
    dialling_hours = sum(1 for h in hourly if h["calls_made"])
    figures["completed_per_hour"] = (
        figures["completed_accounts"] / dialling_hours if dialling_hours else None
    )
    return Report(
        campaign=name,
        timezone=tz,
        generated_at=now or datetime.now(UTC),
        since=since.isoformat() if since else None,
        until=until.isoformat() if until else None,
        figures=figures,
        daily=[{k: d[k] for k in DAILY_COLUMNS} for d in daily],
        outcomes=outcomes,
        funnel=[{k: v for k, v in f.items() if k != "campaign_id"} for f in funnel],
        lateness={k: lateness[0][k] for k in LATENESS_COLUMNS} if lateness else {},
        dials_by_local_hour=_local_hours(hourly, ZoneInfo(tz)),
        undialable=undialable,
    )


def _in_range(day: str, since: date | None, until: date | None) -> bool:
    return (since is None or day >= since.isoformat()) and (
        until is None or day <= until.isoformat()
    )


def _outcomes(
    conn: Connection, cid: int, since: date | None, until: date | None
) -> list[dict[str, Any]]:
    columns = "outcome, label_en, label_zh, group_code, bucket"
    if since is None and until is None:
        rows = _dicts(
            conn,
            f"SELECT {columns}, dials, share FROM v_outcomes WHERE campaign_id = :c "
            "ORDER BY dials DESC, outcome",
            c=cid,
        )
        return rows
    where, params = _day_filter(since, until)
    rows = _dicts(
        conn,
        f"SELECT {columns}, SUM(dials) AS dials FROM v_outcomes_daily "
        f"WHERE campaign_id = :c{where} GROUP BY {columns} ORDER BY SUM(dials) DESC, outcome",
        c=cid,
        **params,
    )
    total = sum(r["dials"] for r in rows)
    for r in rows:
        r["share"] = r["dials"] / total if total else None
    return rows


def _local_hours(hourly: list[dict[str, Any]], tz: ZoneInfo) -> list[int]:
    """Dials per hour of the day in the campaign's time zone (UTC hour buckets shifted)."""
    hours = [0] * 24
    for h in hourly:
        moment = datetime.strptime(h["hour_utc"], "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
        hours[moment.astimezone(tz).hour] += int(h["calls_made"])
    return hours


def _undialable(
    conn: Connection, cid: int, show_numbers: bool, show_names: bool
) -> list[dict[str, Any]]:
    rows = _dicts(
        conn,
        "SELECT c.id, c.external_id, c.name, c.closed_reason FROM v_contact_status s "
        "JOIN contacts c ON c.id = s.contact_id "
        "WHERE s.campaign_id = :c AND s.category = 'undialable' ORDER BY c.id LIMIT :n",
        c=cid,
        n=UNDIALABLE_SAMPLE,
    )
    out = []
    for r in rows:
        numbers = conn.execute(
            text(
                "SELECT e164, state, last_outcome FROM phone_numbers "
                "WHERE contact_id = :i ORDER BY position"
            ),
            {"i": r["id"]},
        ).all()
        out.append(
            {
                "external_id": r["external_id"],
                "name": maybe_mask_name(r["name"], show_names),
                "closed_reason": r["closed_reason"],
                "numbers": "; ".join(
                    f"{maybe_mask_number(n[0], show_numbers)} {n[1]}"
                    + (f" ({n[2]})" if n[2] else "")
                    for n in numbers
                ),
            }
        )
    return out
