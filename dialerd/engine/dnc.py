"""The do-not-call check made immediately before each dial, against the live table.

Only the entries that can match the batch are read: exact numbers and contact ids
by value (indexed), and the prefix entries (few) in full.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, bindparam, or_, select

from dialerd.db import tables
from dialerd.domain.dnc import DncMatcher, DncRule
from dialerd.engine.claims import DueRow

_dnc = tables.dnc_entries
# built once (expanding INs): a statement built per call cost more than running it
_MATCHING = select(_dnc.c.kind, _dnc.c.value, _dnc.c.reason).where(
    or_(_dnc.c.campaign_id.is_(None), _dnc.c.campaign_id == bindparam("c")),
    or_(
        (_dnc.c.kind == "number") & _dnc.c.value.in_(bindparam("numbers", expanding=True)),
        (_dnc.c.kind == "contact") & _dnc.c.value.in_(bindparam("contacts", expanding=True)),
        _dnc.c.kind == "prefix",
    ),
)


class DncCheck:
    def blocked(self, conn: Connection, campaign_id: int, rows: Sequence[DueRow]) -> dict[int, str]:
        """phone_numbers.id → the rule that forbids dialling it now."""
        if not rows:
            return {}
        params = {
            "c": campaign_id,
            "numbers": sorted({r.e164 for r in rows}),
            "contacts": sorted({r.external_id for r in rows}),
        }
        found = conn.execute(_MATCHING, params).all()
        if not found:
            return {}
        matcher = DncMatcher(DncRule(k, v, r or "") for k, v, r in found)
        out = {}
        for row in rows:
            rule = matcher.blocks(row.e164, row.external_id)
            if rule is not None:
                out[row.number_id] = rule
        return out
