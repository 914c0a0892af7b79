"""agent times: each queued call's ring-to-agent and talk seconds on its attempt

Revision ID: 0011_agent_times
Revises: 0010_local_days
Create Date: 2026-12-07 02:45:00

``attempts.agent_ring_s``: seconds the phone of the agent who took the call rang
before the agent answered (Asterisk's ``RingTime`` in ``AgentConnect``; else from
``AgentCalled`` to ``AgentConnect``). ``attempts.agent_talk_s``: the agent's talk
time (``TalkTime`` in ``AgentComplete``; else connect to completion). Both are
written by the daemon's ``agents`` job with ``customer_wait_s`` and ``agent``
(0010): the ring time when the agent takes the call, the talk time when the
agent's call ends. NULL when no agent took the call (abandoned), for dials that
never reached a queue, and (talk) while the call goes on. No view reads them;
existing rows stay NULL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_agent_times"
down_revision: str | None = "0010_local_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("agent_ring_s", "agent_talk_s")


def upgrade() -> None:
    for column in COLUMNS:
        op.add_column("attempts", sa.Column(column, sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would break the views on the table.
    for column in COLUMNS:
        op.get_bind().exec_driver_sql(f"ALTER TABLE attempts DROP COLUMN {column}")
