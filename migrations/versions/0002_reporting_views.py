"""reporting views and the outcome label table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 11:40:00

The views are the stable interface for reporting tools (docs/database.md). This
file is a frozen snapshot: the SQL text lives here, not in the package, so a later
change to the package cannot change what this revision created. Each view has one
body for both backends; the few expressions SQL does not standardise (UTC day and
hour buckets, seconds between two timestamps, the sum of a JSON object's values)
are filled in per dialect by the helpers below.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# code, label_en, label_zh, group_code, bucket (the default treatment's bucket)
OUTCOME_LABELS = [
    ("no_answer", "no answer", "无人接听", "dial_again", "retryable"),
    ("not_present", "not present", "本人不在", "dial_again", "retryable"),
    ("early_hangup", "early hangup", "提前挂机", "dial_again", "retryable"),
    ("rejected", "rejected", "拒绝接听", "dial_again", "retryable"),
    ("busy", "busy", "忙音/占线", "dial_again", "retryable"),
    ("inconvenient", "inconvenient", "不方便接听", "dial_again", "retryable"),
    ("powered_off", "powered off", "关机", "dial_again", "retryable"),
    ("answering_machine", "answering machine", "录音电话", "number_problem", "terminal_number"),
    ("suspended", "suspended (number kept)", "停机保号", "number_problem", "terminal_number"),
    ("incoming_barred", "incoming calls barred", "号码暂停使用", "number_problem", "terminal_number"),
    ("arrears", "suspended for arrears", "欠费停机", "line_problem", "retryable"),
    ("line_fault", "line fault", "线路故障", "line_problem", "retryable"),
    ("out_of_service_area", "out of service area", "不在服务区", "line_problem", "retryable"),
    ("vacant", "vacant number", "空号", "dead_number", "terminal_number"),
    ("answered", "answered", "已接通", "reached", "terminal_contact"),
    ("completed", "completed", "已完成", "reached", "terminal_contact"),
    ("callback_requested", "callback requested", "预约回拨", "reached", "retryable"),
    ("refused", "refused", "明确拒绝", "reached", "retryable"),
    ("dnc_requested", "do not call requested", "要求勿扰", "reached", "terminal_contact"),
    ("internal_failure", "internal failure", "系统故障", "our_fault", "not_counted"),
    ("interrupted", "interrupted", "中断", "our_fault", "not_counted"),
]

VIEWS = (
    "v_contact_status",
    "v_campaign_figures",
    "v_campaign_daily",
    "v_campaign_hourly",
    "v_outcomes",
    "v_outcomes_daily",
    "v_round_funnel",
    "v_dispatch_lateness",
)


def _sql(dialect: str) -> dict[str, str]:
    """The dialect-specific expressions every view body is written with."""
    if dialect == "postgresql":
        return {
            # group by the truncated time (cheap), format once per group
            "day_dial_key": "date_trunc('day', COALESCE(a.started_at, a.claimed_at) "
            "AT TIME ZONE 'UTC')",
            "day_dial": "to_char(date_trunc('day', COALESCE(a.started_at, a.claimed_at) "
            "AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
            "hour_dial_key": "date_trunc('hour', COALESCE(a.started_at, a.claimed_at) "
            "AT TIME ZONE 'UTC')",
            "hour_dial": "to_char(date_trunc('hour', COALESCE(a.started_at, a.claimed_at) "
            "AT TIME ZONE 'UTC'), 'YYYY-MM-DD HH24:00')",
            "day_first_reached_key": "date_trunc('day', f.first_reached_at AT TIME ZONE 'UTC')",
            "hour_started_key": "date_trunc('hour', a.started_at AT TIME ZONE 'UTC')",
            "day_first_reached": "to_char(date_trunc('day', f.first_reached_at "
            "AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
            # date_part gives double precision (EXTRACT gives slower numeric since PG 14)
            "ring_s": "date_part('epoch', COALESCE(a.answered_at, a.ended_at) - a.started_at)",
            "talk_s": "date_part('epoch', a.ended_at - a.answered_at)",
            # lateness in whole hundredths of a second, rounded down
            "centis": "CAST(FLOOR(date_part('epoch', a.started_at - a.planned_at) * 100) "
            "AS BIGINT)",
            "rejected_sum": "(SELECT COALESCE(SUM(CAST(j.value AS BIGINT)), 0) "
            "FROM jsonb_each_text(i.rejected) AS j)",
        }
    return {
        "day_dial_key": "date(COALESCE(a.started_at, a.claimed_at))",
        "day_dial": "date(COALESCE(a.started_at, a.claimed_at))",
        "hour_dial_key": "strftime('%Y-%m-%d %H:00', COALESCE(a.started_at, a.claimed_at))",
        "hour_dial": "strftime('%Y-%m-%d %H:00', COALESCE(a.started_at, a.claimed_at))",
        "day_first_reached_key": "date(f.first_reached_at)",
        "hour_started_key": "strftime('%Y-%m-%d %H', a.started_at)",
        "day_first_reached": "date(f.first_reached_at)",
        "ring_s": "((julianday(COALESCE(a.answered_at, a.ended_at)) - julianday(a.started_at))"
        " * 86400.0)",
        "talk_s": "((julianday(a.ended_at) - julianday(a.answered_at)) * 86400.0)",
        # CAST truncates toward zero; step down for negative non-whole values (floor).
        # ROUND first: julianday differences carry ~50 µs of floating-point noise.
        "centis": "(CAST(ROUND((julianday(a.started_at) - julianday(a.planned_at)) * 8640000.0, 2)"
        " AS INTEGER) - (ROUND((julianday(a.started_at) - julianday(a.planned_at)) * 8640000.0, 2)"
        " < CAST(ROUND((julianday(a.started_at) - julianday(a.planned_at)) * 8640000.0, 2)"
        " AS INTEGER)))",
        "rejected_sum": "(SELECT COALESCE(SUM(CAST(j.value AS INTEGER)), 0) "
        "FROM json_each(i.rejected) AS j)",
    }


# A dial that counts against the contact: it reached the PBX and did not fail for
# our own reasons (outcome group our_fault); a dial still in flight counts.
def _codes(group: str) -> str:
    """The codes of an outcome group as an SQL list (frozen here, like the labels)."""
    return ", ".join(f"'{code}'" for code, _, _, g, _ in OUTCOME_LABELS if g == group)


# Groups are spelled as code lists rather than a join with outcome_labels: the views
# scan millions of attempts, and a later migration that adds a code rewrites both.
OUR_FAULT = f"(a.outcome IN ({_codes('our_fault')}))"
COUNTED = f"(a.started_at IS NOT NULL AND (a.outcome IS NULL OR NOT {OUR_FAULT}))"
REACHED = f"(a.outcome IN ({_codes('reached')}))"
# A hit: the answered-call flow itself reported the purpose completed (disposition
# "completed"), as opposed to a contact completed only because someone answered.
SUCCESS = "(a.outcome = 'completed' AND LOWER(a.disposition) = 'completed')"
USABLE = "(p.state IN ('dialable', 'exhausted'))"
ATTEMPTS_L = "attempts a"

# Partial indexes holding, in contact order, the per-contact sets the campaign
# totals need: counted dials, reached dials (with round and time, for the funnel
# and the daily first reaches), hits, usable numbers. Their predicates are the
# view's WHERE clauses without the alias, so PostgreSQL sees that they apply.
INDEXES = [
    ("ix_attempts_counted", "attempts", ["campaign_id", "contact_id"],
     COUNTED.replace("a.", "")),
    ("ix_attempts_reached", "attempts", ["campaign_id", "contact_id", "round", "started_at"],
     f"{COUNTED} AND {REACHED}".replace("a.", "")),
    ("ix_attempts_success", "attempts", ["campaign_id", "contact_id"],
     SUCCESS.replace("a.", "")),
    ("ix_phone_numbers_usable", "phone_numbers", ["campaign_id", "contact_id", "state"],
     USABLE.replace("p.", "")),
]  # fmt: skip


def _ratio(num: str, den: str) -> str:
    return f"CAST({num} AS DOUBLE PRECISION) / NULLIF({den}, 0)"


def _views(x: dict[str, str]) -> dict[str, str]:
    ring = f"CASE WHEN {COUNTED} THEN {x['ring_s']} END"
    talk = f"CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN {x['talk_s']} END"
    return {
        "v_contact_status": f"""
SELECT u.contact_id, u.campaign_id,
  MAX(u.external_id) AS external_id, MAX(u.state) AS state,
  MAX(u.closed_reason) AS closed_reason, MAX(u.rounds_started) AS rounds_started,
  SUM(u.dial) AS dials,
  SUM(u.our_fault) AS our_fault_dials,
  MIN(u.dial_at) AS first_dial_at,
  MIN(u.reached_at) AS first_reached_at,
  MIN(u.reached_round) AS first_reached_round,
  MAX(u.dial_round) AS last_dialled_round,
  SUM(u.answered) AS answered_calls,
  SUM(u.ring_dial) AS ring_dials, COALESCE(SUM(u.ring_s), 0) AS ring_seconds,
  SUM(u.talk_dial) AS talk_dials, COALESCE(SUM(u.talk_s), 0) AS talk_seconds,
  CASE WHEN MAX(u.state) = 'completed' OR MIN(u.reached_at) IS NOT NULL THEN 1 ELSE 0 END
    AS reached,
  CASE WHEN SUM(u.success) > 0 THEN 1 ELSE 0 END AS successful,
  CASE
    WHEN MAX(u.state) = 'completed' OR MIN(u.reached_at) IS NOT NULL THEN 'reached'
    WHEN SUM(u.usable) = 0 THEN 'undialable'
    WHEN SUM(u.dial) = 0 THEN 'not_called'
    WHEN MAX(u.state) IN ('active', 'paused') AND SUM(u.dialable) > 0 THEN 'unreachable'
    ELSE 'exhausted'
  END AS category
FROM (
  SELECT c.campaign_id, c.id AS contact_id, c.external_id, c.state, c.closed_reason,
    c.rounds_started, 0 AS dial, 0 AS our_fault, NULL AS dial_at, NULL AS reached_at,
    NULL AS reached_round, NULL AS dial_round, 0 AS answered, 0 AS ring_dial, NULL AS ring_s,
    0 AS talk_dial, NULL AS talk_s, 0 AS success, 0 AS usable, 0 AS dialable
  FROM contacts c
  UNION ALL
  SELECT a.campaign_id, a.contact_id, NULL, NULL, NULL, NULL,
    CASE WHEN {COUNTED} THEN 1 ELSE 0 END,
    CASE WHEN {OUR_FAULT} THEN 1 ELSE 0 END,
    CASE WHEN {COUNTED} THEN a.started_at END,
    CASE WHEN {COUNTED} AND {REACHED} THEN a.started_at END,
    CASE WHEN {COUNTED} AND {REACHED} THEN a.round END,
    CASE WHEN a.started_at IS NOT NULL THEN a.round END,
    CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN 1 ELSE 0 END,
    CASE WHEN {ring} IS NOT NULL THEN 1 ELSE 0 END, {ring},
    CASE WHEN {talk} IS NOT NULL THEN 1 ELSE 0 END, {talk},
    CASE WHEN {SUCCESS} THEN 1 ELSE 0 END, 0, 0
  FROM {ATTEMPTS_L}
  UNION ALL
  SELECT p.campaign_id, p.contact_id, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL,
    0, 0, NULL, 0, NULL, 0,
    CASE WHEN p.state IN ('dialable', 'exhausted') THEN 1 ELSE 0 END,
    CASE WHEN p.state = 'dialable' THEN 1 ELSE 0 END
  FROM phone_numbers p
) u
GROUP BY u.campaign_id, u.contact_id
HAVING MAX(u.state) IS NOT NULL
""",
        "v_campaign_figures": f"""
SELECT b.*,
  b.rejected_at_import + b.undialable_accounts AS useless_data,
  {_ratio("b.rejected_at_import + b.undialable_accounts", "b.account_size + b.rejected_at_import")}
    AS corruption_rate,
  b.account_size - b.undialable_accounts AS valid_accounts,
  {_ratio("b.unreached_dials", "b.unreached_called")} AS average_calling_attempt,
  {_ratio("b.reachable_accounts", "b.account_size - b.undialable_accounts")} AS reachable_rate,
  {_ratio("b.completed_accounts", "b.reachable_accounts")} AS completed_rate,
  {_ratio("b.successful_accounts", "b.completed_accounts")} AS hit_rate,
  {_ratio("b.answered_calls", "b.calls_made")} AS answer_rate,
  {_ratio("b.completed_accounts", "b.dialling_hours")} AS completed_per_hour
FROM (
  SELECT cp.id AS campaign_id, cp.name AS campaign,
    COALESCE(s.account_size, 0) AS account_size,
    COALESCE(i.rejected_at_import, 0) AS rejected_at_import,
    COALESCE(s.undialable_accounts, 0) AS undialable_accounts,
    COALESCE(s.accounts_called, 0) AS accounts_called,
    COALESCE(d.calls_made, 0) AS calls_made,
    COALESCE(d.our_fault_dials, 0) AS our_fault_dials,
    COALESCE(s.unreached_dials, 0) AS unreached_dials,
    COALESCE(s.unreached_called, 0) AS unreached_called,
    COALESCE(s.reachable_accounts, 0) AS reachable_accounts,
    COALESCE(s.unreachable_accounts, 0) AS unreachable_accounts,
    COALESCE(s.exhausted_accounts, 0) AS exhausted_accounts,
    COALESCE(s.not_called_accounts, 0) AS not_called_accounts,
    COALESCE(s.completed_accounts, 0) AS completed_accounts,
    COALESCE(s.successful_accounts, 0) AS successful_accounts,
    COALESCE(d.answered_calls, 0) AS answered_calls,
    d.avg_ring_s, d.avg_talk_s,
    COALESCE(h.dialling_hours, 0) AS dialling_hours
  FROM campaigns cp
  LEFT JOIN (
    SELECT s.campaign_id, COUNT(*) AS account_size,
      SUM(CASE WHEN s.category = 'undialable' THEN 1 ELSE 0 END) AS undialable_accounts,
      SUM(CASE WHEN s.dials > 0 THEN 1 ELSE 0 END) AS accounts_called,
      SUM(CASE WHEN s.reached = 0 AND s.dials > 0 THEN s.dials ELSE 0 END) AS unreached_dials,
      SUM(CASE WHEN s.reached = 0 AND s.dials > 0 THEN 1 ELSE 0 END) AS unreached_called,
      SUM(s.reached) AS reachable_accounts,
      SUM(CASE WHEN s.category = 'unreachable' THEN 1 ELSE 0 END) AS unreachable_accounts,
      SUM(CASE WHEN s.category = 'exhausted' THEN 1 ELSE 0 END) AS exhausted_accounts,
      SUM(CASE WHEN s.category = 'not_called' THEN 1 ELSE 0 END) AS not_called_accounts,
      SUM(s.completed) AS completed_accounts,
      SUM(s.successful) AS successful_accounts
    FROM (
      -- v_contact_status's categories, from per-contact sets that the partial indexes
      -- below hold in contact order (index-only scans, no big hash aggregate)
      SELECT c.campaign_id, COALESCE(d.dials, 0) AS dials,
        CASE WHEN c.state = 'completed' THEN 1 ELSE 0 END AS completed,
        CASE WHEN s.contact_id IS NOT NULL THEN 1 ELSE 0 END AS successful,
        CASE WHEN c.state = 'completed' OR r.contact_id IS NOT NULL THEN 1 ELSE 0 END
          AS reached,
        CASE
          WHEN c.state = 'completed' OR r.contact_id IS NOT NULL THEN 'reached'
          WHEN n.contact_id IS NULL THEN 'undialable'
          WHEN d.dials IS NULL THEN 'not_called'
          WHEN c.state IN ('active', 'paused') AND n.dialable = 1 THEN 'unreachable'
          ELSE 'exhausted'
        END AS category
      FROM contacts c
      LEFT JOIN (
        SELECT a.campaign_id, a.contact_id, COUNT(*) AS dials
        FROM attempts a
        WHERE {COUNTED}
        GROUP BY a.campaign_id, a.contact_id
      ) d ON d.campaign_id = c.campaign_id AND d.contact_id = c.id
      LEFT JOIN (
        SELECT DISTINCT a.campaign_id, a.contact_id
        FROM attempts a
        WHERE {COUNTED} AND {REACHED}
      ) r ON r.campaign_id = c.campaign_id AND r.contact_id = c.id
      LEFT JOIN (
        SELECT DISTINCT a.campaign_id, a.contact_id
        FROM attempts a
        WHERE {SUCCESS}
      ) s ON s.campaign_id = c.campaign_id AND s.contact_id = c.id
      LEFT JOIN (
        SELECT p.campaign_id, p.contact_id,
          MAX(CASE WHEN p.state = 'dialable' THEN 1 ELSE 0 END) AS dialable
        FROM phone_numbers p
        WHERE {USABLE}
        GROUP BY p.campaign_id, p.contact_id
      ) n ON n.campaign_id = c.campaign_id AND n.contact_id = c.id
    ) s
    GROUP BY s.campaign_id
  ) s ON s.campaign_id = cp.id
  LEFT JOIN (
    SELECT a.campaign_id,
      SUM(CASE WHEN {COUNTED} THEN 1 ELSE 0 END) AS calls_made,
      SUM(CASE WHEN {OUR_FAULT} THEN 1 ELSE 0 END) AS our_fault_dials,
      SUM(CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN 1 ELSE 0 END)
        AS answered_calls,
      AVG({ring}) AS avg_ring_s,
      AVG({talk}) AS avg_talk_s
    FROM {ATTEMPTS_L}
    GROUP BY a.campaign_id
  ) d ON d.campaign_id = cp.id
  LEFT JOIN (
    SELECT t.campaign_id, COUNT(*) AS dialling_hours
    FROM (
      SELECT DISTINCT a.campaign_id, {x["hour_started_key"]} AS hour
      FROM attempts a
      WHERE a.started_at IS NOT NULL
    ) t
    GROUP BY t.campaign_id
  ) h ON h.campaign_id = cp.id
  LEFT JOIN (
    SELECT i.campaign_id,
      SUM({x["rejected_sum"]} + i.duplicates + i.dnc_suppressed) AS rejected_at_import
    FROM imports i
    GROUP BY i.campaign_id
  ) i ON i.campaign_id = cp.id
) b
""",
        "v_campaign_daily": f"""
SELECT d.campaign_id, d.day, d.calls_made, d.accounts_called, d.answered_calls,
  d.reached_calls, d.our_fault_dials, d.ring_seconds, d.talk_seconds,
  COALESCE(r.new_reached_accounts, 0) AS new_reached_accounts,
  {_ratio("d.answered_calls", "d.calls_made")} AS answer_rate
FROM (
  SELECT a.campaign_id, {x["day_dial"]} AS day,
    SUM(CASE WHEN {COUNTED} THEN 1 ELSE 0 END) AS calls_made,
    COUNT(DISTINCT CASE WHEN {COUNTED} THEN a.contact_id END) AS accounts_called,
    SUM(CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN 1 ELSE 0 END)
      AS answered_calls,
    SUM(CASE WHEN {COUNTED} AND {REACHED} THEN 1 ELSE 0 END) AS reached_calls,
    SUM(CASE WHEN {OUR_FAULT} THEN 1 ELSE 0 END) AS our_fault_dials,
    COALESCE(SUM({ring}), 0) AS ring_seconds,
    COALESCE(SUM({talk}), 0) AS talk_seconds
  FROM {ATTEMPTS_L}
  WHERE a.started_at IS NOT NULL OR {OUR_FAULT}
  GROUP BY a.campaign_id, {x["day_dial_key"]}
) d
LEFT JOIN (
  SELECT f.campaign_id, {x["day_first_reached"]} AS day, COUNT(*) AS new_reached_accounts
  FROM (
    SELECT a.campaign_id, a.contact_id, MIN(a.started_at) AS first_reached_at
    FROM {ATTEMPTS_L}
    WHERE {COUNTED} AND {REACHED}
    GROUP BY a.campaign_id, a.contact_id
  ) f
  GROUP BY f.campaign_id, {x["day_first_reached_key"]}
) r ON r.campaign_id = d.campaign_id AND r.day = d.day
""",
        "v_campaign_hourly": f"""
SELECT a.campaign_id, {x["hour_dial"]} AS hour_utc,
  SUM(CASE WHEN {COUNTED} THEN 1 ELSE 0 END) AS calls_made,
  SUM(CASE WHEN {COUNTED} AND a.answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered_calls,
  SUM(CASE WHEN {COUNTED} AND {REACHED} THEN 1 ELSE 0 END) AS reached_calls,
  SUM(CASE WHEN {OUR_FAULT} THEN 1 ELSE 0 END) AS our_fault_dials
FROM {ATTEMPTS_L}
WHERE a.started_at IS NOT NULL OR {OUR_FAULT}
GROUP BY a.campaign_id, {x["hour_dial_key"]}
""",
        "v_outcomes": f"""
SELECT o.campaign_id, o.outcome, l.label_en, l.label_zh, l.group_code, l.bucket, o.dials,
  CAST(o.dials AS DOUBLE PRECISION) / SUM(o.dials) OVER (PARTITION BY o.campaign_id) AS share
FROM (
  SELECT a.campaign_id, a.outcome, COUNT(*) AS dials
  FROM attempts a
  WHERE a.outcome IS NOT NULL
  GROUP BY a.campaign_id, a.outcome
) o
LEFT JOIN outcome_labels l ON l.code = o.outcome
""",
        "v_outcomes_daily": f"""
SELECT o.campaign_id, o.day, o.outcome, l.label_en, l.label_zh, l.group_code, l.bucket, o.dials
FROM (
  SELECT a.campaign_id, {x["day_dial"]} AS day, a.outcome, COUNT(*) AS dials
  FROM attempts a
  WHERE a.outcome IS NOT NULL
  GROUP BY a.campaign_id, {x["day_dial_key"]}, a.outcome
) o
LEFT JOIN outcome_labels l ON l.code = o.outcome
""",
        "v_round_funnel": f"""
WITH RECURSIVE r (campaign_id, round, max_rounds) AS (
  SELECT cp.id, 1, cp.max_rounds FROM campaigns cp
  UNION ALL
  SELECT r.campaign_id, r.round + 1, r.max_rounds FROM r WHERE r.round < r.max_rounds
)
SELECT r.campaign_id, r.round,
  COALESCE(SUM(CASE WHEN g.rounds_started >= r.round THEN g.n END), 0) AS contacts_entered,
  COALESCE(MAX(q.first_reached_accounts), 0) AS first_reached_accounts,
  COALESCE(SUM(CASE WHEN g.rounds_started = r.round AND g.state = 'completed' THEN g.n END), 0)
    AS completed_accounts,
  COALESCE(SUM(CASE WHEN g.rounds_started = r.round AND g.state = 'closed' THEN g.n END), 0)
    AS closed_accounts,
  COALESCE(SUM(CASE WHEN g.rounds_started = r.round AND g.state IN ('completed', 'closed')
    THEN g.n END), 0) AS finished_accounts
FROM r
LEFT JOIN (
  SELECT c.campaign_id, c.rounds_started, c.state, COUNT(*) AS n
  FROM contacts c
  GROUP BY c.campaign_id, c.rounds_started, c.state
) g ON g.campaign_id = r.campaign_id
LEFT JOIN (
  SELECT t.campaign_id, t.round, COUNT(*) AS first_reached_accounts
  FROM (
    SELECT a.campaign_id, a.contact_id, MIN(a.round) AS round
    FROM attempts a
    WHERE {COUNTED} AND {REACHED}
    GROUP BY a.campaign_id, a.contact_id
  ) t
  GROUP BY t.campaign_id, t.round
) q ON q.campaign_id = r.campaign_id AND q.round = r.round
GROUP BY r.campaign_id, r.round
""",
        "v_dispatch_lateness": f"""
SELECT h.campaign_id, MAX(h.total) AS dials,
  CAST(MAX(h.sum_cs) AS DOUBLE PRECISION) / 100 / MAX(h.total) AS avg_s,
  CAST(MIN(CASE WHEN h.cum >= 0.5 * h.total THEN h.cs END) AS DOUBLE PRECISION) / 100 AS p50_s,
  CAST(MIN(CASE WHEN h.cum >= 0.95 * h.total THEN h.cs END) AS DOUBLE PRECISION) / 100
    AS p95_s,
  CAST(MAX(h.cs) AS DOUBLE PRECISION) / 100 AS max_s
FROM (
  SELECT b.campaign_id, b.cs,
    SUM(b.n) OVER (PARTITION BY b.campaign_id ORDER BY b.cs ROWS UNBOUNDED PRECEDING) AS cum,
    SUM(b.n) OVER (PARTITION BY b.campaign_id) AS total,
    SUM(b.n * b.cs) OVER (PARTITION BY b.campaign_id) AS sum_cs
  FROM (
    SELECT a.campaign_id, {x["centis"]} AS cs, COUNT(*) AS n
    FROM attempts a
    WHERE a.started_at IS NOT NULL
    GROUP BY a.campaign_id, {x["centis"]}
  ) b
) h
GROUP BY h.campaign_id
""",
    }


def upgrade() -> None:
    labels = op.create_table(
        "outcome_labels",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label_en", sa.String(length=64), nullable=False),
        sa.Column("label_zh", sa.String(length=64), nullable=False),
        sa.Column("group_code", sa.String(length=24), nullable=False),
        sa.Column("bucket", sa.String(length=24), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_outcome_labels")),
    )
    op.bulk_insert(
        labels,
        [
            {"code": c, "label_en": en, "label_zh": zh, "group_code": g, "bucket": b}
            for c, en, zh, g, b in OUTCOME_LABELS
        ],
    )
    for name, table, columns, where in INDEXES:
        op.create_index(
            name, table, columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where)
        )
    bodies = _views(_sql(op.get_bind().dialect.name))
    bind = op.get_bind()
    for name in VIEWS:
        # Straight to the driver: the bodies hold ':' and '%' that text() would parse.
        bind.exec_driver_sql(f"CREATE VIEW {name} AS {bodies[name]}")


def downgrade() -> None:
    for name in reversed(VIEWS):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for name, table, _, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("outcome_labels")
