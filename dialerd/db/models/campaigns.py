"""Campaigns and what operators keep about them: imports, DNC, audit log, pace, labels."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from dialerd.db.base import Base, Id
from dialerd.db.types import JsonType, StrEnumText, UtcDateTime
from dialerd.domain.states import CampaignState


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
