"""instance leases: a daemon owns its dials in flight until its lease ends

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:20:00

``instances.lease_until`` is renewed by each heartbeat as the database's time plus
the lease; a peer treats a daemon's dials as orphaned only once that time has
passed by the database's clock (and the PBX no longer has the call). Rows of
daemons that ran before this revision have no lease: they count as expired.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("lease_until")
