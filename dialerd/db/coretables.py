"""The tables the operator verbs use, as SQLAlchemy Core: no ORM, no PostgreSQL dialect.

``dialerd status``, ``dnc add`` and ``campaign pause|resume`` (and the actions behind
them) query these, through the statements of :mod:`dialerd.db.statements` (on
SQLite compiled once, run without SQLAlchemy: :mod:`dialerd.db.lite`), so they
start without loading the models. Each table lists the
columns those actions read or write; the models (:mod:`dialerd.db.models`) stay
the schema's definition: tests/unit/test_coretables.py checks every column here
against its model (type as compiled for SQLite and PostgreSQL, nullability, key,
foreign key), and that a table written here has every column of its model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)

from dialerd.db.types import Json, StrEnumText, UtcDateTime
from dialerd.domain.states import AttemptStatus, CampaignState, ContactState, NumberState

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    Db: TypeAlias = Connection | Session  # both run Core statements

metadata = MetaData()

# Integer primary keys: BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
_Id = BigInteger().with_variant(Integer(), "sqlite")


def _ref(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


campaigns = Table(
    "campaigns",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("source_path", Text),
    Column("config", Json, nullable=False),
    Column("config_sha256", String(64), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("start_date", Date),
    Column("end_date", Date),
    Column("max_rounds", SmallInteger, nullable=False),
    Column("min_spacing_s", Integer, nullable=False),
    Column("state", StrEnumText(CampaignState), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

campaign_events = Table(
    "campaign_events",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("campaign_id", _Id, _ref("campaigns.id")),
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(48), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("details", Json),
)

dnc_entries = Table(
    "dnc_entries",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("campaign_id", _Id, _ref("campaigns.id")),
    Column("kind", String(16), nullable=False),
    Column("value", String(100), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

instances = Table(
    "instances",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("version", String(32), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("stopped_at", UtcDateTime),
    Column("pbx_kind", String(16), nullable=False),
    Column("pbx_up", Boolean, nullable=False),
    Column("in_flight", Integer, nullable=False),
    Column("status", Json),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("campaign_id", _Id, _ref("campaigns.id"), nullable=False),
    Column("external_id", String(100), nullable=False),
    Column("state", StrEnumText(ContactState), nullable=False),
)

phone_numbers = Table(
    "phone_numbers",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("contact_id", _Id, _ref("contacts.id"), nullable=False),
    Column("campaign_id", _Id, _ref("campaigns.id"), nullable=False),
    Column("e164", String(20), nullable=False),
    Column("state", StrEnumText(NumberState), nullable=False),
    Column("next_dial_at", UtcDateTime),
)

rounds = Table(
    "rounds",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("campaign_id", _Id, _ref("campaigns.id"), nullable=False),
    Column("round", SmallInteger, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("result", String(32)),
)

attempts = Table(
    "attempts",
    metadata,
    Column("id", _Id, primary_key=True),
    Column("campaign_id", _Id, _ref("campaigns.id"), nullable=False),
    Column("status", StrEnumText(AttemptStatus), nullable=False),
    Column("claimed_at", UtcDateTime, nullable=False),
    Column("outcome", String(32)),
)
