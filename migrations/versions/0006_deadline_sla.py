"""deadline SLA view: contacts with a deadline, met, missed, time from load to first dial

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 23:10:00

``v_deadline_sla`` has one row per campaign with contacts that carry a deadline
(docs/database.md gives each formula). A contact *met* its deadline when a dial
that reached the callee started before it; it *missed* it when the dispatcher
settled it as ``closed_reason = 'deadline_missed'`` (closed, or paused by the
campaign's ``on_deadline``). A frozen snapshot like 0002: the SQL text lives here.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# outcome group "reached" (0002's OUTCOME_LABELS), frozen here
REACHED = "('answered', 'completed', 'callback_requested', 'refused', 'dnc_requested')"


def _seconds(dialect: str, later: str, earlier: str) -> str:
    if dialect == "postgresql":
        return f"date_part('epoch', {later} - {earlier})"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _body(dialect: str) -> str:
    wait = _seconds(dialect, "f.first_dial_at", "c.created_at")
    met = "f.first_reached_at IS NOT NULL AND f.first_reached_at < c.deadline"
    missed = "c.closed_reason = 'deadline_missed'"
    return f"""
SELECT c.campaign_id,
  COUNT(*) AS deadline_accounts,
  SUM(CASE WHEN {met} THEN 1 ELSE 0 END) AS deadline_met,
  SUM(CASE WHEN {missed} THEN 1 ELSE 0 END) AS deadline_missed,
  CAST(SUM(CASE WHEN {met} THEN 1 ELSE 0 END) AS DOUBLE PRECISION)
    / NULLIF(SUM(CASE WHEN {met} OR {missed} THEN 1 ELSE 0 END), 0) AS deadline_met_rate,
  AVG({wait}) AS avg_first_dial_wait_s,
  MAX({wait}) AS max_first_dial_wait_s
FROM contacts c
LEFT JOIN (
  SELECT a.campaign_id, a.contact_id,
    MIN(a.started_at) AS first_dial_at,
    MIN(CASE WHEN a.outcome IN {REACHED} THEN a.started_at END) AS first_reached_at
  FROM attempts a
  JOIN contacts d ON d.id = a.contact_id AND d.deadline IS NOT NULL
  WHERE a.started_at IS NOT NULL
  GROUP BY a.campaign_id, a.contact_id
) f ON f.contact_id = c.id AND f.campaign_id = c.campaign_id
WHERE c.deadline IS NOT NULL
GROUP BY c.campaign_id
"""


def upgrade() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(f"CREATE VIEW v_deadline_sla AS {_body(bind.dialect.name)}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS v_deadline_sla")
