"""The schema: SQLAlchemy 2 typed models. A public interface, documented in docs/database.md.

Every timestamp is UTC (``UtcDateTime``). States and outcome codes are short
strings so reporting tools can read them without lookup tables.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
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
from dialerd.domain.states import AttemptStatus, CampaignState, ContactState, NumberState

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


class Campaign(Base):
    """A campaign, as last loaded from its file; ``state`` is what ops staff control."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source_path: Mapped[str | None] = mapped_column(Text)
    config: Mapped[dict[str, Any]] = mapped_column(JsonType)
    config_sha256: Mapped[str] = mapped_column(String(64))
    timezone: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    max_rounds: Mapped[int] = mapped_column(SmallInteger)
    min_spacing_s: Mapped[int] = mapped_column(Integer)
    state: Mapped[CampaignState] = mapped_column(
        StrEnumText(CampaignState), default=CampaignState.active
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ContactImport(Base):
    """One run of the contact importer: its summary is the "Useless Data" figure."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    encoding: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    loaded: Mapped[int] = mapped_column(Integer, default=0)
    numbers: Mapped[int] = mapped_column(Integer, default=0)
    already_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[dict[str, int]] = mapped_column(JsonType, default=dict)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    dnc_suppressed: Mapped[int] = mapped_column(Integer, default=0)
    rejects_file: Mapped[str | None] = mapped_column(Text)
    rows_refused: Mapped[int | None] = mapped_column(Integer)  # whole rows; NULL before 0008


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


class DncEntry(Base):
    """Do-not-call: a number, a number prefix (``+86755*``) or a contact id.

    ``campaign_id`` NULL means every campaign.
    """

    __tablename__ = "dnc_entries"
    __table_args__ = (Index("ix_dnc_entries_kind_value", "kind", "value"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # number | prefix | contact
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(64), default="cli")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignEvent(Base):
    """Audit log: loads, reloads, pauses, imports, window open/close, DNC changes."""

    __tablename__ = "campaign_events"
    __table_args__ = (Index("ix_campaign_events_campaign_id_at", "campaign_id", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[str] = mapped_column(String(48))
    actor: Mapped[str] = mapped_column(String(100))
    details: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class CampaignOverride(Base):
    """A pace value set through the database (``dialerd campaign set``), over the file's.

    ``key`` is a ``[dialing]`` key (``max_concurrent``, ``calls_per_second``...);
    ``file_value`` is the file's value when the override was set: once the loaded
    file says something else for that key, the override no longer applies.
    """

    __tablename__ = "campaign_overrides"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[Any] = mapped_column(JsonType)
    file_value: Mapped[Any] = mapped_column(JsonType)
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)
    set_by: Mapped[str] = mapped_column(String(100))


class Instance(Base):
    """A daemon process: its heartbeat is how `dialerd status` sees it alive.

    ``lease_until`` (the database's clock) is how peers tell whether it still owns
    its dials in flight; see docs/database.md.
    """

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    version: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # the database's time until which this daemon owns its dials in flight
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    pbx_kind: Mapped[str] = mapped_column(String(16))
    pbx_up: Mapped[bool] = mapped_column(Boolean, default=False)
    in_flight: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


class QueueAgentHour(Base):
    """One daemon's view of one agent queue in one UTC hour: its agents' seconds by state.

    Added to at every heartbeat (migration 0010); several daemons on one PBX each
    see the same agents, so readers take the largest row of an hour, not the sum.
    """

    __tablename__ = "queue_agent_hours"

    queue: Mapped[str] = mapped_column(String(80), primary_key=True)
    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ready_s: Mapped[float] = mapped_column(Float)
    ringing_s: Mapped[float] = mapped_column(Float)
    talking_s: Mapped[float] = mapped_column(Float)
    wrap_up_s: Mapped[float] = mapped_column(Float)
    paused_s: Mapped[float] = mapped_column(Float)
    wrap_ups: Mapped[int] = mapped_column(Integer)


class SharedSecret(Base):
    """A secret every daemon of this database shares (``agi``: the FastAGI token key).

    Made by the first daemon that needs it; never logged, never shown by the CLI.
    """

    __tablename__ = "shared_secrets"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class OutcomeLabel(Base):
    """Outcome codes with their labels, group and default bucket, for the reporting views.

    Filled by the migrations (frozen lists); a migration that adds a code adds its row.
    """

    __tablename__ = "outcome_labels"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label_en: Mapped[str] = mapped_column(String(64))
    label_zh: Mapped[str] = mapped_column(String(64))
    group_code: Mapped[str] = mapped_column(String(24))
    bucket: Mapped[str] = mapped_column(String(24))


class ApiToken(Base):
    """An HTTP API token: only its SHA-256 is kept; ``scope`` is agent | ops | read.

    Made by ``dialerd api token add`` (which prints the token once); a revoked
    token keeps its row (``revoked_at``) so its name stays in the audit trail.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiIdempotencyKey(Base):
    """A write request's ``Idempotency-Key`` with the response it got, per token.

    A retry with the same key and body gets the stored response; the same key with
    another body is refused. ``request_sha256`` covers the method, path and body.
    """

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_name", "key"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    token_name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(SmallInteger)
    response: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AttemptSummary(Base):
    """An agent's call summary (电话小结) of an answered dial: at most one per attempt."""

    __tablename__ = "attempt_summaries"

    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True
    )
    outcome: Mapped[str] = mapped_column(String(32))
    agent: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    callback_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    token_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
