"""One contact's history and next step, for ``dialerd contact CAMPAIGN EXTERNAL_ID``.

Every dial with its outcome (code and Chinese label), caller ID, channel, round and
treatment; the numbers as they stand; and the next step with why it waits, which
the pure domain explains (:func:`dialerd.domain.waits.explain`) from the contact's
views as the result writer loads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialerd.actions.control import find_campaign
from dialerd.actions.requeue import runtime_for
from dialerd.db.models import Attempt, Contact, PhoneNumber
from dialerd.domain.outcomes import info
from dialerd.domain.waits import Wait, explain
from dialerd.engine.views import load_contact
from dialerd.errors import DialerdError


class ContactNotFound(DialerdError):
    """No such contact in that campaign."""


@dataclass(frozen=True)
class Dial:
    """One attempt of the contact, as ``dialerd contact`` lists it."""

    attempt_id: int
    round: int
    try_no: int
    position: int
    number: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    outcome: str | None
    label_zh: str
    treatment: str | None
    caller_id: str | None
    channel: str | None
    disposition: str | None
    is_appointment: bool
    next_dial_at: datetime | None


@dataclass(frozen=True)
class NumberLine:
    position: int
    number: str
    state: str
    dials: int
    last_outcome: str | None
    next_dial_at: datetime | None
    in_flight: bool


@dataclass(frozen=True)
class ContactHistory:
    """What ``dialerd contact`` shows; ``wait`` is None when the stored file no longer loads."""

    campaign: str
    campaign_state: str
    external_id: str
    name: str | None
    timezone: str
    state: str
    closed_reason: str | None
    rounds_started: int
    max_rounds: int
    refusals: int
    result: str | None
    numbers: list[NumberLine]
    dials: list[Dial]
    wait: Wait | None
    next_text: str

    def as_json(self) -> dict[str, Any]:
        """A JSON document (times in ISO 8601, UTC)."""
        step = self.wait.step if self.wait else None
        return {
            "campaign": self.campaign,
            "campaign_state": self.campaign_state,
            "external_id": self.external_id,
            "name": self.name,
            "timezone": self.timezone,
            "state": self.state,
            "closed_reason": self.closed_reason,
            "rounds_started": self.rounds_started,
            "max_rounds": self.max_rounds,
            "refusals": self.refusals,
            "result": self.result,
            "numbers": [_jsonable(n.__dict__) for n in self.numbers],
            "dials": [_jsonable(d.__dict__) for d in self.dials],
            "next": {
                "text": self.next_text,
                "at": _iso(step.at) if step else None,
                "position": step.position if step else None,
                "new_round": step.new_round if step else None,
                "is_appointment": step.is_appointment if step else None,
                "contact_state": step.contact_state if step else self.state,
                "closed_reason": step.closed_reason if step else self.closed_reason,
                "window_opens": self.wait.window if self.wait else None,
                "held_by": [
                    {"kind": b.kind, "at": _iso(b.at), "since": _iso(b.since), "amount": b.amount}
                    for b in (self.wait.binding if self.wait else ())
                ],
            },
        }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _iso(v) if isinstance(v, datetime) else v for k, v in row.items()}


def contact_history(
    session: Session, campaign_name: str, external_id: str, *, now: datetime
) -> ContactHistory:
    """The contact's dials, numbers and next step.

    Raises ``CampaignNotFound`` or ``ContactNotFound``.
    """
    campaign = find_campaign(session, campaign_name)
    contact = session.scalars(
        select(Contact).where(
            Contact.campaign_id == campaign.id, Contact.external_id == external_id
        )
    ).one_or_none()
    if contact is None:
        raise ContactNotFound(f"campaign {campaign_name}: no contact {external_id!r}")
    numbers = list(
        session.scalars(
            select(PhoneNumber)
            .where(PhoneNumber.contact_id == contact.id)
            .order_by(PhoneNumber.position)
        )
    )
    attempts = session.scalars(
        select(Attempt).where(Attempt.contact_id == contact.id).order_by(Attempt.id)
    )
    dials = [
        Dial(
            a.id,
            a.round,
            a.try_no,
            a.position,
            a.number,
            a.status,
            a.started_at or a.claimed_at,
            a.ended_at,
            a.outcome,
            info(a.outcome).label_zh if a.outcome else "",
            a.treatment,
            a.caller_id,
            a.channel,
            a.disposition,
            a.is_appointment,
            a.next_dial_at,
        )
        for a in attempts
    ]
    tz = contact.timezone or campaign.timezone
    runtime = runtime_for(campaign)
    wait: Wait | None = None
    in_flight = next((n for n in numbers if n.in_flight_attempt_id is not None), None)
    if in_flight is not None:
        text = (
            f"dialling now: number {in_flight.position} (attempt {in_flight.in_flight_attempt_id})"
        )
    elif runtime is None:
        text = "unknown: the campaign's stored file no longer loads"
    else:
        loaded = load_contact(session.connection(), contact.id, now=now, policy=runtime.policy)
        assert loaded is not None
        wait = explain(
            loaded.view,
            now=now,
            policy=runtime.policy,
            calendar=runtime.calendar,
            tz=loaded.timezone,
        )
        text = wait.describe(tz, now=now, closed_reason=contact.closed_reason)
    if campaign.state != "active" and in_flight is None:
        text += f"; the campaign is {campaign.state}: no dial until it is resumed"
    return ContactHistory(
        campaign=campaign.name,
        campaign_state=campaign.state,
        external_id=contact.external_id,
        name=contact.name,
        timezone=tz,
        state=contact.state,
        closed_reason=contact.closed_reason,
        rounds_started=contact.rounds_started,
        max_rounds=campaign.max_rounds,
        refusals=contact.refusals,
        result=contact.result,
        numbers=[
            NumberLine(
                n.position,
                n.e164,
                n.state,
                n.dial_count,
                n.last_outcome,
                n.next_dial_at,
                n.in_flight_attempt_id is not None,
            )
            for n in numbers
        ],
        dials=dials,
        wait=wait,
        next_text=text,
    )
