"""campaign overrides: pace set through the database (``dialerd campaign set``)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 23:10:00

One row per campaign and ``[dialing]`` key an operator set without editing the
file, with the file's value at that time (the override ends when the file's value
of that key changes).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "campaign_overrides",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("value", _JSON, nullable=False),
        sa.Column("file_value", _JSON, nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_overrides_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("campaign_id", "key", name=op.f("pk_campaign_overrides")),
    )


def downgrade() -> None:
    op.drop_table("campaign_overrides")
