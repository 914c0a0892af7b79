"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "campaigns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("source_path", sa.Text(), nullable=True),
        sa.Column(
            "config",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("config_sha256", sa.String(length=64), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("max_rounds", sa.SmallInteger(), nullable=False),
        sa.Column("min_spacing_s", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("name", name=op.f("uq_campaigns_name")),
    )
    op.create_table(
        "instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pbx_kind", sa.String(length=16), nullable=False),
        sa.Column("pbx_up", sa.Boolean(), nullable=False),
        sa.Column("in_flight", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
    )
    op.create_table(
        "campaign_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_events_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_events")),
    )
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_campaign_events_campaign_id_at", ["campaign_id", "at"], unique=False
        )

    op.create_table(
        "dnc_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_dnc_entries_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_entries")),
    )
    with op.batch_alter_table("dnc_entries", schema=None) as batch_op:
        batch_op.create_index("ix_dnc_entries_kind_value", ["kind", "value"], unique=False)

    op.create_table(
        "imports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("loaded", sa.Integer(), nullable=False),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.Column("already_loaded", sa.Integer(), nullable=False),
        sa.Column(
            "rejected",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("dnc_suppressed", sa.Integer(), nullable=False),
        sa.Column("rejects_file", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_imports_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imports")),
    )
    op.create_table(
        "contacts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("external_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("closed_reason", sa.String(length=32), nullable=True),
        sa.Column("rounds_started", sa.SmallInteger(), nullable=False),
        sa.Column("round_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refusals", sa.SmallInteger(), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("flagged", sa.Text(), nullable=True),
        sa.Column("import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_contacts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["imports.id"],
            name=op.f("fk_contacts_import_id_imports"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint(
            "campaign_id", "external_id", name=op.f("uq_contacts_campaign_id_external_id")
        ),
    )
    op.create_table(
        "phone_numbers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=False),
        sa.Column("raw", sa.String(length=64), nullable=False),
        sa.Column("number_type", sa.String(length=24), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("third_party", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("dial_count", sa.Integer(), nullable=False),
        sa.Column("last_outcome", sa.String(length=32), nullable=True),
        sa.Column("last_dialed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_dial_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_round", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column("next_try", sa.SmallInteger(), server_default=sa.text("1"), nullable=False),
        sa.Column(
            "next_is_appointment", sa.Boolean(), server_default=sa.text("(false)"), nullable=False
        ),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("in_flight_attempt_id", sa.BigInteger(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_phone_numbers_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_phone_numbers_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_numbers")),
        sa.UniqueConstraint(
            "contact_id", "position", name=op.f("uq_phone_numbers_contact_id_position")
        ),
    )
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_phone_numbers_campaign_id_e164", ["campaign_id", "e164"], unique=False
        )
        batch_op.create_index(
            "ix_phone_numbers_deadline",
            ["campaign_id", "deadline"],
            unique=False,
            sqlite_where=sa.text(
                "state = 'dialable' AND next_dial_at IS NOT NULL AND deadline IS NOT NULL"
            ),
            postgresql_where=sa.text(
                "state = 'dialable' AND next_dial_at IS NOT NULL AND deadline IS NOT NULL"
            ),
        )
        batch_op.create_index(
            "ix_phone_numbers_due",
            ["campaign_id", "priority", "next_dial_at"],
            unique=False,
            sqlite_where=sa.text("state = 'dialable' AND next_dial_at IS NOT NULL"),
            postgresql_where=sa.text("state = 'dialable' AND next_dial_at IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_phone_numbers_in_flight",
            ["in_flight_attempt_id"],
            unique=False,
            sqlite_where=sa.text("in_flight_attempt_id IS NOT NULL"),
            postgresql_where=sa.text("in_flight_attempt_id IS NOT NULL"),
        )

    op.create_table(
        "rounds",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("is_appointment", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_rounds_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_rounds_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
        sa.UniqueConstraint("contact_id", "round", name=op.f("uq_rounds_contact_id_round")),
    )
    op.create_table(
        "attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "contact_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "phone_number_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("round", sa.SmallInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("try_no", sa.SmallInteger(), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_appointment", sa.Boolean(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("bucket", sa.String(length=24), nullable=True),
        sa.Column("treatment", sa.String(length=24), nullable=True),
        sa.Column("next_dial_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("caller_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.SmallInteger(), nullable=True),
        sa.Column("hangup_cause", sa.SmallInteger(), nullable=True),
        sa.Column("callee_cause", sa.SmallInteger(), nullable=True),
        sa.Column("dial_status", sa.String(length=16), nullable=True),
        sa.Column("amd_status", sa.String(length=16), nullable=True),
        sa.Column("amd_cause", sa.String(length=64), nullable=True),
        sa.Column("disposition", sa.String(length=32), nullable=True),
        sa.Column(
            "signals",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_attempts_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_attempts_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["phone_number_id"],
            ["phone_numbers.id"],
            name=op.f("fk_attempts_phone_number_id_phone_numbers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attempts")),
        sa.UniqueConstraint("key", name=op.f("uq_attempts_key")),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attempts_campaign_id_claimed_at", ["campaign_id", "claimed_at"], unique=False
        )
        batch_op.create_index(
            "ix_attempts_campaign_id_started_at", ["campaign_id", "started_at"], unique=False
        )
        batch_op.create_index("ix_attempts_contact_id", ["contact_id"], unique=False)
        batch_op.create_index(
            "ix_attempts_open",
            ["status"],
            unique=False,
            sqlite_where=sa.text("status = 'dialing'"),
            postgresql_where=sa.text("status = 'dialing'"),
        )


def downgrade() -> None:

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_attempts_open",
            sqlite_where=sa.text("status = 'dialing'"),
            postgresql_where=sa.text("status = 'dialing'"),
        )
        batch_op.drop_index("ix_attempts_contact_id")
        batch_op.drop_index("ix_attempts_campaign_id_started_at")
        batch_op.drop_index("ix_attempts_campaign_id_claimed_at")

    op.drop_table("attempts")
    op.drop_table("rounds")
    with op.batch_alter_table("phone_numbers", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_phone_numbers_in_flight",
            sqlite_where=sa.text("in_flight_attempt_id IS NOT NULL"),
            postgresql_where=sa.text("in_flight_attempt_id IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_phone_numbers_due",
            sqlite_where=sa.text("state = 'dialable' AND next_dial_at IS NOT NULL"),
            postgresql_where=sa.text("state = 'dialable' AND next_dial_at IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_phone_numbers_deadline",
            sqlite_where=sa.text(
                "state = 'dialable' AND next_dial_at IS NOT NULL AND deadline IS NOT NULL"
            ),
            postgresql_where=sa.text(
                "state = 'dialable' AND next_dial_at IS NOT NULL AND deadline IS NOT NULL"
            ),
        )
        batch_op.drop_index("ix_phone_numbers_campaign_id_e164")

    op.drop_table("phone_numbers")
    op.drop_table("contacts")
    op.drop_table("imports")
    with op.batch_alter_table("dnc_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_dnc_entries_kind_value")

    op.drop_table("dnc_entries")
    with op.batch_alter_table("campaign_events", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_events_campaign_id_at")

    op.drop_table("campaign_events")
    op.drop_table("instances")
    op.drop_table("campaigns")
