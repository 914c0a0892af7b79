"""What the campaign already holds: its external ids, its numbers and the do-not-call rules."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, or_, select

from dialerd.db.models import Contact, DncEntry, PhoneNumber
from dialerd.domain.dnc import DncMatcher, DncRule
from dialerd.importer.keyset import KeySet, text_key

_STREAM = {"stream_results": True, "yield_per": 20_000}
_IN_CHUNK = 500  # bound parameters per IN (...) query


@dataclass(slots=True)
class Known:
    """External-id keys and number keys (int of the E.164 digits) of one campaign.

    An external-id key hit is only a candidate: :func:`existing_ids` confirms it.
    """

    external_ids: KeySet
    numbers: KeySet
    dnc: DncMatcher


def load_known(engine: Engine, campaign_id: int) -> Known:
    """Stream the campaign's ids and numbers into compact key sets; read its DNC rules."""
    ids, numbers = KeySet(), KeySet()
    with engine.connect() as conn:
        rows = conn.execution_options(**_STREAM).execute(
            select(Contact.external_id).where(Contact.campaign_id == campaign_id)
        )
        for (external_id,) in rows:
            ids.add(text_key(external_id))
        rows = conn.execution_options(**_STREAM).execute(
            select(PhoneNumber.e164).where(PhoneNumber.campaign_id == campaign_id)
        )
        for (e164,) in rows:
            digits = e164.lstrip("+")
            if digits.isdigit():
                numbers.add(int(digits))
        rules = conn.execute(
            select(DncEntry.kind, DncEntry.value, DncEntry.reason).where(
                or_(DncEntry.campaign_id.is_(None), DncEntry.campaign_id == campaign_id)
            )
        )
        dnc = DncMatcher(DncRule(kind, value, reason or "") for kind, value, reason in rules)
    return Known(ids, numbers, dnc)


def existing_ids(engine: Engine, campaign_id: int, external_ids: list[str]) -> set[str]:
    """Which of ``external_ids`` the campaign holds (exact: confirms the key-set hits)."""
    found: set[str] = set()
    with engine.connect() as conn:
        for start in range(0, len(external_ids), _IN_CHUNK):
            chunk = external_ids[start : start + _IN_CHUNK]
            found.update(
                conn.scalars(
                    select(Contact.external_id).where(
                        Contact.campaign_id == campaign_id, Contact.external_id.in_(chunk)
                    )
                )
            )
    return found
