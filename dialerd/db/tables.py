"""The schema's tables as SQLAlchemy Core ``Table`` objects, for set-based queries."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from dialerd.db.models import (
    Attempt,
    Campaign,
    CampaignEvent,
    Contact,
    DncEntry,
    Instance,
    PhoneNumber,
    Round,
)

attempts = cast(Table, Attempt.__table__)
campaigns = cast(Table, Campaign.__table__)
campaign_events = cast(Table, CampaignEvent.__table__)
contacts = cast(Table, Contact.__table__)
dnc_entries = cast(Table, DncEntry.__table__)
instances = cast(Table, Instance.__table__)
phone_numbers = cast(Table, PhoneNumber.__table__)
rounds = cast(Table, Round.__table__)
