"""shared secrets: the FastAGI token secret every daemon of one database agrees on

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 22:40:00

One row per secret (``agi``: signs the per-attempt ``DIALERD_TOKEN`` when
``agi.secret`` is not set), made by the first daemon that needs it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shared_secrets",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_shared_secrets")),
    )


def downgrade() -> None:
    op.drop_table("shared_secrets")
