"""The schema: SQLAlchemy 2 typed models. A public interface, documented in docs/database.md.

Every timestamp is UTC (``UtcDateTime``). States and outcome codes are short
strings so reporting tools can read them without lookup tables. Importing this
package registers every table on ``Base.metadata``; the models live in
``campaigns`` (campaigns and operators' records), ``dialling`` (the queue and its
attempts) and ``access`` (daemons, API tokens and what the API stores).
"""

from __future__ import annotations

from dialerd.db.models.access import (
    ApiIdempotencyKey,
    ApiToken,
    AttemptSummary,
    Instance,
    QueueAgentHour,
    SharedSecret,
)
from dialerd.db.models.campaigns import (
    Campaign,
    CampaignEvent,
    CampaignOverride,
    ContactImport,
    DncEntry,
    OutcomeLabel,
)
from dialerd.db.models.dialling import Attempt, Contact, PhoneNumber, Round

__all__ = [
    "ApiIdempotencyKey",
    "ApiToken",
    "Attempt",
    "AttemptSummary",
    "Campaign",
    "CampaignEvent",
    "CampaignOverride",
    "Contact",
    "ContactImport",
    "DncEntry",
    "Instance",
    "OutcomeLabel",
    "PhoneNumber",
    "QueueAgentHour",
    "Round",
    "SharedSecret",
]
