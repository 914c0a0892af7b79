"""The do-not-call check made immediately before each dial, against the live table.

Only the entries that can match the batch are read: exact numbers and contact ids
by value (indexed), and the prefix entries (few) in full.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, or_, select

from dialerd.db import tables
from dialerd.domain.dnc import DncMatcher, DncRule
from dialerd.engine.claims import DueRow

_dnc = tables.dnc_entries


class DncCheck:
    def blocked(self, conn: Connection, campaign_id: int, rows: Sequence[DueRow]) -> dict[int, str]:
        """phone_numbers.id → the rule that forbids dialling it now."""
        if not rows:
            return {}
        scope = or_(_dnc.c.campaign_id.is_(None), _dnc.c.campaign_id == campaign_id)
        numbers = {r.e164 for r in rows}
        contacts = {r.external_id for r in rows}
        found = conn.execute(
            select(_dnc.c.kind, _dnc.c.value, _dnc.c.reason).where(
                scope,
                or_(
                    (_dnc.c.kind == "number") & _dnc.c.value.in_(numbers),
                    (_dnc.c.kind == "contact") & _dnc.c.value.in_(contacts),
                    _dnc.c.kind == "prefix",
                ),
            )
        ).all()
        if not found:
            return {}
        matcher = DncMatcher(DncRule(k, v, r or "") for k, v, r in found)
        out = {}
        for row in rows:
            rule = matcher.blocks(row.e164, row.external_id)
            if rule is not None:
                out[row.number_id] = rule
        return out
