"""local days: each attempt's UTC offset, daily and hourly views by the campaign's local day

Revision ID: 0010_local_days
Revises: 0009
Create Date: 2026-12-07 01:30:00

``attempts.utc_offset_s``: the UTC offset, in seconds, of the campaign's time zone
at the instant the dial was claimed (``claimed_at``, which is also its
``started_at``). The dispatcher writes it with the attempt row, from the zone the
campaign had then (DST included); a later change of the campaign's zone leaves the
recorded days alone. SQLite has no zone database, so the day of a dial is read
from this column on both backends: ``date(t + utc_offset_s)``. Existing rows are
filled here from ``campaigns.timezone`` with ``zoneinfo``: one range update per
span of constant offset, on ``(campaign_id, claimed_at)``.

``v_campaign_daily``, ``v_outcomes_daily`` and ``v_campaign_hourly`` group by the
local day / hour (the hourly view keeps ``hour_utc``, the UTC instant the local
hour began), and add the abandon figures (``human_answers``, ``abandoned_calls``,
``abandon_rate``) and the daily ``complaints``.

``abandoned`` (migration 0009) joins the ``our_fault`` code list the views of 0002
froze: an answered call no agent took is not a call made to the contact, so it
leaves ``calls_made``, ``accounts_called``, the answer rate and ring/talk times, as
``internal_failure`` and ``interrupted`` do. The partial indexes whose predicates
spell that list are rebuilt with it (``ix_attempts_reached`` also carries
``utc_offset_s``, so the day of a contact's first reach stays an index-only read).

Agent figures: ``attempts.customer_wait_s`` and ``attempts.agent`` (an answered
dial's wait for an agent and the member who took it, written by the daemon from
the queue tracker), the view ``v_customer_wait`` (per campaign: waits, p50, p95,
within 20 s), and the table ``queue_agent_hours``: each daemon's agent seconds per
queue, UTC hour and state, added to at every heartbeat (occupancy, dials per
agent-hour).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from alembic import op

revision: str = "0010_local_days"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_OUR_FAULT = "'internal_failure', 'interrupted'"
NEW_OUR_FAULT = "'internal_failure', 'interrupted', 'abandoned'"
OUR_FAULT = f"(a.outcome IN ({NEW_OUR_FAULT}))"
COUNTED = f"(a.started_at IS NOT NULL AND (a.outcome IS NULL OR NOT {OUR_FAULT}))"
REACHED = "(a.outcome IN ('answered', 'completed', 'callback_requested', 'refused', " \
    "'dnc_requested'))"  # fmt: skip
# a person answered (not a machine): the abandon rate's denominator
HUMAN = (
    "(a.outcome IN ('answered', 'completed', 'callback_requested', 'refused', 'dnc_requested', "
    "'not_present', 'inconvenient', 'early_hangup', 'abandoned'))"
)
ABANDONED = "(a.outcome = 'abandoned')"
COMPLAINT = "(a.outcome IN ('dnc_requested', 'refused'))"

# Recreated with the new code list (0002's bodies, v_campaign_figures with 0008's change).
SAME_VIEWS = ("v_contact_status", "v_campaign_figures", "v_round_funnel")
LOCAL_VIEWS = ("v_campaign_daily", "v_campaign_hourly", "v_outcomes_daily")
INDEXES = ("ix_attempts_counted", "ix_attempts_reached")
REACHED_COLUMNS = ["campaign_id", "contact_id", "round", "started_at"]


def _load(name: str) -> ModuleType:
    """An earlier revision's module (a file name starting with a digit: no plain import)."""
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"dialerd_migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ratio(num: str, den: str) -> str:
    return f"CAST({num} AS DOUBLE PRECISION) / NULLIF({den}, 0)"


def _local(dialect: str) -> dict[str, str]:
    """Local day and hour of a dial: its time shifted by the offset recorded with it."""
    when = "COALESCE(a.started_at, a.claimed_at)"
    off = "COALESCE(a.utc_offset_s, 0)"
    if dialect == "postgresql":
        local = f"(({when} AT TIME ZONE 'UTC') + {off} * INTERVAL '1 second')"
        return {
            "off": off,
            "day_key": f"date_trunc('day', {local})",
            "day": f"to_char(date_trunc('day', {local}), 'YYYY-MM-DD')",
            # a dial's time moved by its offset, still timestamptz: cheap per row; the day
            # of the earliest is taken once per contact
            "shifted": f"(a.started_at + {off} * INTERVAL '1 second')",
            "shifted_day_key": "date_trunc('day', f.first_local AT TIME ZONE 'UTC')",
            "shifted_day": "to_char(date_trunc('day', f.first_local AT TIME ZONE 'UTC'), "
            "'YYYY-MM-DD')",
            "hour_key": f"date_trunc('hour', {local})",
            "hour": f"to_char(date_trunc('hour', {local}), 'YYYY-MM-DD HH24:00')",
            "hour_utc": f"to_char(date_trunc('hour', {local}) - {off} * INTERVAL '1 second', "
            "'YYYY-MM-DD HH24:MI')",
            "ring_s": "date_part('epoch', COALESCE(a.answered_at, a.ended_at) - a.started_at)",
            "talk_s": "date_part('epoch', a.ended_at - a.answered_at)",
        }
    shift = f"{off} || ' seconds'"
    return {
        "off": off,
        "day_key": f"date({when}, {shift})",
        "day": f"date({when}, {shift})",
        "shifted": f"datetime(a.started_at, {shift})",
        "shifted_day_key": "date(f.first_local)",
        "shifted_day": "date(f.first_local)",
        "hour_key": f"strftime('%Y-%m-%d %H:00', {when}, {shift})",
        "hour": f"strftime('%Y-%m-%d %H:00', {when}, {shift})",
        "hour_utc": f"strftime('%Y-%m-%d %H:%M', strftime('%Y-%m-%d %H:00', {when}, {shift}), "
        f"(-{off}) || ' seconds')",
        "ring_s": "((julianday(COALESCE(a.answered_at, a.ended_at)) - julianday(a.started_at))"
        " * 86400.0)",
        "talk_s": "((julianday(a.ended_at) - julianday(a.answered_at)) * 86400.0)",
    }


def _abandon_columns() -> str:
    return f"""SUM(CASE WHEN a.started_at IS NOT NULL AND {HUMAN} THEN 1 ELSE 0 END)
    AS human_answers,
  SUM(CASE WHEN a.started_at IS NOT NULL AND {ABANDONED} THEN 1 ELSE 0 END) AS abandoned_calls"""


def _local_views(x: dict[str, str]) -> dict[str, str]:
    ring = f"CASE WHEN {COUNTED} THEN {x['ring_s']} END"
    talk = f"CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN {x['talk_s']} END"
    return {
        "v_campaign_daily": f"""
SELECT d.campaign_id, d.day, d.calls_made, d.accounts_called, d.answered_calls,
  d.reached_calls, d.our_fault_dials, d.ring_seconds, d.talk_seconds,
  COALESCE(r.new_reached_accounts, 0) AS new_reached_accounts,
  {_ratio("d.answered_calls", "d.calls_made")} AS answer_rate,
  d.complaints, d.human_answers, d.abandoned_calls,
  {_ratio("d.abandoned_calls", "d.human_answers")} AS abandon_rate
FROM (
  SELECT a.campaign_id, {x["day"]} AS day,
    SUM(CASE WHEN {COUNTED} THEN 1 ELSE 0 END) AS calls_made,
    COUNT(DISTINCT CASE WHEN {COUNTED} THEN a.contact_id END) AS accounts_called,
    SUM(CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN 1 ELSE 0 END)
      AS answered_calls,
    SUM(CASE WHEN {COUNTED} AND {REACHED} THEN 1 ELSE 0 END) AS reached_calls,
    SUM(CASE WHEN {OUR_FAULT} THEN 1 ELSE 0 END) AS our_fault_dials,
    COALESCE(SUM({ring}), 0) AS ring_seconds,
    COALESCE(SUM({talk}), 0) AS talk_seconds,
    SUM(CASE WHEN {COUNTED} AND {COMPLAINT} THEN 1 ELSE 0 END) AS complaints,
    {_abandon_columns()}
  FROM attempts a
  WHERE a.started_at IS NOT NULL OR {OUR_FAULT}
  GROUP BY a.campaign_id, {x["day_key"]}
) d
LEFT JOIN (
  SELECT f.campaign_id, {x["shifted_day"]} AS day, COUNT(*) AS new_reached_accounts
  FROM (
    SELECT a.campaign_id, a.contact_id, MIN({x["shifted"]}) AS first_local
    FROM attempts a
    WHERE {COUNTED} AND {REACHED}
    GROUP BY a.campaign_id, a.contact_id
  ) f
  GROUP BY f.campaign_id, {x["shifted_day_key"]}
) r ON r.campaign_id = d.campaign_id AND r.day = d.day
""",
        "v_campaign_hourly": f"""
SELECT h.campaign_id, h.hour_local, h.hour_utc, h.calls_made, h.answered_calls,
  h.reached_calls, h.our_fault_dials, h.human_answers, h.abandoned_calls,
  {_ratio("h.abandoned_calls", "h.human_answers")} AS abandon_rate
FROM (
  SELECT a.campaign_id, {x["hour"]} AS hour_local, {x["hour_utc"]} AS hour_utc,
    SUM(CASE WHEN {COUNTED} THEN 1 ELSE 0 END) AS calls_made,
    SUM(CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN 1 ELSE 0 END)
      AS answered_calls,
    SUM(CASE WHEN {COUNTED} AND {REACHED} THEN 1 ELSE 0 END) AS reached_calls,
    SUM(CASE WHEN {OUR_FAULT} THEN 1 ELSE 0 END) AS our_fault_dials,
    {_abandon_columns()}
  FROM attempts a
  WHERE a.started_at IS NOT NULL OR {OUR_FAULT}
  GROUP BY a.campaign_id, {x["hour_key"]}, {x["off"]}
) h
""",
        "v_outcomes_daily": f"""
SELECT o.campaign_id, o.day, o.outcome, l.label_en, l.label_zh, l.group_code, l.bucket, o.dials
FROM (
  SELECT a.campaign_id, {x["day"]} AS day, a.outcome, COUNT(*) AS dials
  FROM attempts a
  WHERE a.outcome IS NOT NULL
  GROUP BY a.campaign_id, {x["day_key"]}, a.outcome
) o
LEFT JOIN outcome_labels l ON l.code = o.outcome
""",
    }


def _old_bodies(dialect: str) -> dict[str, str]:
    """The bodies 0002 (and 0008, for v_campaign_figures) created."""
    m2 = _load("0002_reporting_views.py")
    bodies: dict[str, str] = m2._views(m2._sql(dialect))
    x = m2._sql(dialect)
    old = f'SUM({x["rejected_sum"]} + i.duplicates + i.dnc_suppressed) AS rejected_at_import'
    new = (
        f"SUM(COALESCE(i.rows_refused, {x['rejected_sum']} + i.duplicates + i.dnc_suppressed))"
        " AS rejected_at_import"
    )
    assert old in bodies["v_campaign_figures"], "0002's v_campaign_figures changed: update 0010"
    bodies["v_campaign_figures"] = bodies["v_campaign_figures"].replace(old, new)
    return bodies


def _new_bodies(dialect: str) -> dict[str, str]:
    old = _old_bodies(dialect)
    bodies = {}
    for name in SAME_VIEWS:
        assert OLD_OUR_FAULT in old[name], f"0002's {name} changed: update 0010"
        bodies[name] = old[name].replace(f"({OLD_OUR_FAULT})", f"({NEW_OUR_FAULT})")
    bodies.update(_local_views(_local(dialect)))
    return bodies


def _counted(our_fault: str) -> str:
    return f"started_at IS NOT NULL AND (outcome IS NULL OR NOT (outcome IN ({our_fault})))"


def _reached(our_fault: str) -> str:
    return f"({_counted(our_fault)}) AND {REACHED.replace('a.', '')}"


def _create_indexes(our_fault: str, reached_columns: list[str]) -> None:
    for name, columns, where in (
        ("ix_attempts_counted", ["campaign_id", "contact_id"], _counted(our_fault)),
        ("ix_attempts_reached", reached_columns, _reached(our_fault)),
    ):
        op.create_index(
            name, "attempts", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
        )


def _views(bodies: dict[str, str]) -> None:
    bind = op.get_bind()
    for name in (*SAME_VIEWS, *LOCAL_VIEWS):
        # Straight to the driver: the bodies hold ':' and '%' that text() would parse.
        bind.exec_driver_sql(f"CREATE VIEW {name} AS {bodies[name]}")


def _drop_views() -> None:
    for name in (*LOCAL_VIEWS, *SAME_VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")


def spans(zone: ZoneInfo, first: datetime, last: datetime) -> list[tuple[datetime, int]]:
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


def _aware(value: datetime | str) -> datetime:
    if isinstance(value, str):  # SQLite aggregates come back as text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _backfill() -> None:
    """Each campaign's attempts get the offset of its zone at their claim time."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT cp.id, cp.timezone, MIN(a.claimed_at), MAX(a.claimed_at) "
            "FROM campaigns cp JOIN attempts a ON a.campaign_id = cp.id GROUP BY cp.id, cp.timezone"
        )
    ).all()
    for cid, tz, first, last in rows:
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            zone = ZoneInfo("UTC")  # a zone this host lacks: UTC days, as before
        found = spans(zone, _aware(first), _aware(last) + timedelta(seconds=1))
        for i, (start, offset) in enumerate(found):
            sql = "UPDATE attempts SET utc_offset_s = :o WHERE campaign_id = :c"
            params: dict[str, object] = {"o": offset, "c": cid}
            if i > 0:
                sql += " AND claimed_at >= :lo"
                params["lo"] = _stored(bind, start)
            if i + 1 < len(found):
                sql += " AND claimed_at < :hi"
                params["hi"] = _stored(bind, found[i + 1][0])
            bind.execute(sa.text(sql), params)


def _stored(bind: sa.Connection, at: datetime) -> datetime | str:
    """A bound time as the column stores it (UtcDateTime: naive UTC text on SQLite)."""
    if bind.dialect.name == "sqlite":
        return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


WAIT_VIEW = f"""
SELECT h.campaign_id, MAX(h.total) AS waits,
  CAST(MAX(h.sum_cs) AS DOUBLE PRECISION) / 100 / MAX(h.total) AS avg_s,
  CAST(MIN(CASE WHEN h.cum >= 0.5 * h.total THEN h.cs END) AS DOUBLE PRECISION) / 100 AS p50_s,
  CAST(MIN(CASE WHEN h.cum >= 0.95 * h.total THEN h.cs END) AS DOUBLE PRECISION) / 100
    AS p95_s,
  CAST(MAX(h.cs) AS DOUBLE PRECISION) / 100 AS max_s,
  {_ratio("MAX(h.within_20s)", "MAX(h.total)")} AS within_20s_rate
FROM (
  SELECT b.campaign_id, b.cs,
    SUM(b.n) OVER (PARTITION BY b.campaign_id ORDER BY b.cs ROWS UNBOUNDED PRECEDING) AS cum,
    SUM(b.n) OVER (PARTITION BY b.campaign_id) AS total,
    SUM(b.n * b.cs) OVER (PARTITION BY b.campaign_id) AS sum_cs,
    SUM(CASE WHEN b.cs <= 2000 THEN b.n ELSE 0 END) OVER (PARTITION BY b.campaign_id)
      AS within_20s
  FROM (
    SELECT a.campaign_id, CAST(a.customer_wait_s * 100 AS BIGINT) AS cs, COUNT(*) AS n
    FROM attempts a
    WHERE a.customer_wait_s IS NOT NULL
    GROUP BY a.campaign_id, CAST(a.customer_wait_s * 100 AS BIGINT)
  ) b
) h
GROUP BY h.campaign_id
"""


def _agent_tables() -> None:
    op.add_column("attempts", sa.Column("customer_wait_s", sa.Float(), nullable=True))
    op.add_column("attempts", sa.Column("agent", sa.String(length=100), nullable=True))
    op.create_table(
        "queue_agent_hours",
        sa.Column("queue", sa.String(length=80), nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("ready_s", sa.Float(), nullable=False),
        sa.Column("ringing_s", sa.Float(), nullable=False),
        sa.Column("talking_s", sa.Float(), nullable=False),
        sa.Column("wrap_up_s", sa.Float(), nullable=False),
        sa.Column("paused_s", sa.Float(), nullable=False),
        sa.Column("wrap_ups", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("queue", "hour", "instance_id", name=op.f("pk_queue_agent_hours")),
    )
    waited = "customer_wait_s IS NOT NULL"
    op.create_index(
        "ix_attempts_waited",
        "attempts",
        ["campaign_id", "customer_wait_s"],
        postgresql_where=sa.text(waited),
        sqlite_where=sa.text(waited),
    )
    op.get_bind().exec_driver_sql(f"CREATE VIEW v_customer_wait AS {WAIT_VIEW}")


def upgrade() -> None:
    bind = op.get_bind()
    _agent_tables()
    _drop_views()
    for name in INDEXES:
        op.drop_index(name, table_name="attempts")
    op.add_column("attempts", sa.Column("utc_offset_s", sa.Integer(), nullable=True))
    _backfill()
    _create_indexes(NEW_OUR_FAULT, [*REACHED_COLUMNS, "utc_offset_s"])
    _views(_new_bodies(bind.dialect.name))


def downgrade() -> None:
    bind = op.get_bind()
    op.execute("DROP VIEW IF EXISTS v_customer_wait")
    op.drop_index("ix_attempts_waited", table_name="attempts")
    op.drop_table("queue_agent_hours")
    for column in ("customer_wait_s", "agent"):
        bind.exec_driver_sql(f"ALTER TABLE attempts DROP COLUMN {column}")
    _drop_views()
    for name in INDEXES:
        op.drop_index(name, table_name="attempts")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would break the views on the table.
    bind.exec_driver_sql("ALTER TABLE attempts DROP COLUMN utc_offset_s")
    _create_indexes(OLD_OUR_FAULT, REACHED_COLUMNS)
    _views(_old_bodies(bind.dialect.name))
