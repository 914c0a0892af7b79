"""the outcome `abandoned`: answered, but no agent took the call in time

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:59:00

Adds its row to ``outcome_labels`` (group our_fault: not counted against the
contact). The reporting views of 0002 spell the our_fault group as a frozen code
list, so they still count an `abandoned` dial as a counted dial.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW = {
    "code": "abandoned",
    "label_en": "abandoned (no agent free)",
    "label_zh": "放弃/未接入坐席",
    "group_code": "our_fault",
    "bucket": "not_counted",
}


def _labels() -> sa.TableClause:
    return sa.table(
        "outcome_labels",
        sa.column("code", sa.String),
        sa.column("label_en", sa.String),
        sa.column("label_zh", sa.String),
        sa.column("group_code", sa.String),
        sa.column("bucket", sa.String),
    )


def upgrade() -> None:
    op.bulk_insert(_labels(), [ROW])


def downgrade() -> None:
    labels = _labels()
    op.execute(labels.delete().where(labels.c.code == ROW["code"]))
