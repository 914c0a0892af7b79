"""The dialling queue and its records: contacts, their numbers, rounds and attempts.

``phone_numbers`` carries the dispatcher's queue (its partial indexes use the
predicates of :mod:`dialerd.db.queue`); ``attempts`` the reporting indexes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from dialerd.db.base import Base, Id
from dialerd.db.queue import OPEN_SQL, QUEUED_SQL, USABLE_SQL
from dialerd.db.types import JsonType, StrEnumText, UtcDateTime
from dialerd.domain.states import AttemptStatus, ContactState, NumberState

# Predicates of the reporting indexes (migration 0002 and docs/database.md).
_COUNTED = (
    "started_at IS NOT NULL AND (outcome IS NULL OR NOT (outcome IN ('internal_failure', "
    "'interrupted', 'abandoned')))"
)
_REACHED = (
    f"({_COUNTED}) AND (outcome IN ('answered', 'completed', 'callback_requested', "
    "'refused', 'dnc_requested'))"
)
_SUCCESS = "outcome = 'completed' AND LOWER(disposition) = 'completed'"


class Contact(Base):
    """A person to reach, with up to four numbers; rounds are counted here."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("campaign_id", "external_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str | None] = mapped_column(String(64))
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    appointment_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    data: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    state: Mapped[ContactState] = mapped_column(
        StrEnumText(ContactState), default=ContactState.active
    )
    closed_reason: Mapped[str | None] = mapped_column(String(32))
    rounds_started: Mapped[int] = mapped_column(SmallInteger, default=0)
    round_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refusals: Mapped[int] = mapped_column(SmallInteger, default=0)
    result: Mapped[str | None] = mapped_column(String(32))
    flagged: Mapped[str | None] = mapped_column(Text)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    source_line: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PhoneNumber(Base):
    """One of a contact's numbers, in its order, with its own state and due time.

    ``next_dial_at`` is set only on the number the contact dials next, so the
    partial index ``ix_phone_numbers_due`` holds exactly the dispatcher's queue;
    ``next_round``/``next_try``/``next_is_appointment`` say what that dial will be.
    ``priority`` and ``deadline`` are copies of the contact's, for the queue's order.
    """

    __tablename__ = "phone_numbers"
    __table_args__ = (
        UniqueConstraint("contact_id", "position"),
        Index("ix_phone_numbers_campaign_id_e164", "campaign_id", "e164"),
        Index(
            "ix_phone_numbers_usable",
            "campaign_id",
            "contact_id",
            "state",
            sqlite_where=text(USABLE_SQL),
            postgresql_where=text(USABLE_SQL),
        ),
        Index(
            "ix_phone_numbers_due",
            "campaign_id",
            "priority",
            "next_dial_at",
            sqlite_where=text(QUEUED_SQL),
            postgresql_where=text(QUEUED_SQL),
        ),
        Index(
            "ix_phone_numbers_deadline",
            "campaign_id",
            "deadline",
            sqlite_where=text(f"{QUEUED_SQL} AND deadline IS NOT NULL"),
            postgresql_where=text(f"{QUEUED_SQL} AND deadline IS NOT NULL"),
        ),
        Index(
            "ix_phone_numbers_in_flight",
            "in_flight_attempt_id",
            sqlite_where=text("in_flight_attempt_id IS NOT NULL"),
            postgresql_where=text("in_flight_attempt_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(SmallInteger)
    e164: Mapped[str] = mapped_column(String(20))
    raw: Mapped[str] = mapped_column(String(64))
    number_type: Mapped[str] = mapped_column(String(24), default="unknown")
    carrier: Mapped[str | None] = mapped_column(String(64))
    # where ``carrier`` came from: prefix | list (phoneN_carrier) | ported (file); NULL: prefix
    carrier_source: Mapped[str | None] = mapped_column(String(8))
    third_party: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[NumberState] = mapped_column(
        StrEnumText(NumberState), default=NumberState.dialable
    )
    dial_count: Mapped[int] = mapped_column(Integer, default=0)
    last_outcome: Mapped[str | None] = mapped_column(String(32))
    last_dialed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_dial_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # what the scheduled dial will be: its round, its try within the round, appointment or not
    next_round: Mapped[int] = mapped_column(SmallInteger, default=1, server_default=text("1"))
    next_try: Mapped[int] = mapped_column(SmallInteger, default=1, server_default=text("1"))
    next_is_appointment: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    priority: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[datetime | None] = mapped_column(UtcDateTime)
    in_flight_attempt_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[str | None] = mapped_column(String(64))


class Round(Base):
    """One pass over a contact's dialable numbers; ``result`` is chosen by precedence.

    ``round`` numbers every round of the contact, appointment rounds included (they
    do not count toward ``max_rounds``: ``contacts.rounds_started`` leaves them out).
    """

    __tablename__ = "rounds"
    __table_args__ = (UniqueConstraint("contact_id", "round"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(SmallInteger)
    is_appointment: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[str | None] = mapped_column(String(32))


class Attempt(Base):
    """One dial of one number: written before the dial, its result after.

    ``key`` is the idempotency key ``<campaign>-<contact>-<position>-<round>-<try>``;
    it is the AMI ActionID and ChannelId. ``try`` grows only when a dial of the same
    number in the same round ended for our own reasons (internal failure, interrupted).
    """

    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_campaign_id_started_at", "campaign_id", "started_at"),
        Index("ix_attempts_campaign_id_claimed_at", "campaign_id", "claimed_at"),
        Index("ix_attempts_contact_id", "contact_id"),
        # reporting (migration 0002): per-contact sets in contact order for the views
        Index(
            "ix_attempts_counted",
            "campaign_id",
            "contact_id",
            sqlite_where=text(_COUNTED),
            postgresql_where=text(_COUNTED),
        ),
        Index(
            "ix_attempts_reached",
            "campaign_id",
            "contact_id",
            "round",
            "started_at",
            "utc_offset_s",
            sqlite_where=text(_REACHED),
            postgresql_where=text(_REACHED),
        ),
        Index(
            "ix_attempts_success",
            "campaign_id",
            "contact_id",
            sqlite_where=text(_SUCCESS),
            postgresql_where=text(_SUCCESS),
        ),
        Index(
            "ix_attempts_waited",
            "campaign_id",
            "customer_wait_s",
            sqlite_where=text("customer_wait_s IS NOT NULL"),
            postgresql_where=text("customer_wait_s IS NOT NULL"),
        ),
        Index(
            "ix_attempts_open",
            "status",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(100), unique=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    phone_number_id: Mapped[int] = mapped_column(ForeignKey("phone_numbers.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column(SmallInteger)
    position: Mapped[int] = mapped_column(SmallInteger)
    try_no: Mapped[int] = mapped_column(SmallInteger, default=1)
    number: Mapped[str] = mapped_column(String(20))
    instance_id: Mapped[str] = mapped_column(String(64))
    # dialing (written in the claim's transaction, just before the Originate) | done
    status: Mapped[AttemptStatus] = mapped_column(
        StrEnumText(AttemptStatus), default=AttemptStatus.dialing
    )
    is_appointment: Mapped[bool] = mapped_column(Boolean, default=False)
    planned_at: Mapped[datetime] = mapped_column(UtcDateTime)
    claimed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # the campaign zone's UTC offset at claimed_at: the dial's local day (migration 0010)
    utc_offset_s: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[str | None] = mapped_column(String(32))
    bucket: Mapped[str | None] = mapped_column(String(24))
    treatment: Mapped[str | None] = mapped_column(String(24))
    next_dial_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    caller_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[int | None] = mapped_column(SmallInteger)
    hangup_cause: Mapped[int | None] = mapped_column(SmallInteger)
    callee_cause: Mapped[int | None] = mapped_column(SmallInteger)
    dial_status: Mapped[str | None] = mapped_column(String(16))
    amd_status: Mapped[str | None] = mapped_column(String(16))
    amd_cause: Mapped[str | None] = mapped_column(String(64))
    disposition: Mapped[str | None] = mapped_column(String(32))
    signals: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    error: Mapped[str | None] = mapped_column(Text)
    recording_file: Mapped[str | None] = mapped_column(String(255))  # DIALERD_RECORDING_FILE
    # answered, handed to an agent queue: the wait for an agent and who took it (0010)
    customer_wait_s: Mapped[float | None] = mapped_column(Float)
    agent: Mapped[str | None] = mapped_column(String(100))
    # and that agent's ring-to-agent (RingTime) and talk (TalkTime) seconds (0011)
    agent_ring_s: Mapped[float | None] = mapped_column(Float)
    agent_talk_s: Mapped[float | None] = mapped_column(Float)
