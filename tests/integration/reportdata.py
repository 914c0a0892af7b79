"""A small, known attempt history for the reporting tests, with every figure counted by hand.

Campaign ``c1`` (Asia/Shanghai), eight contacts, one number each except K2 (two):

=====  =========================================================  ==============
id     dials (UTC), outcome                                       state at end
=====  =========================================================  ==============
K1     r1 11-02 01:00 completed (flow disposition "completed": a hit)  completed (r1)
K2     r1 11-02 01:10 no_answer, 01:11 busy (2nd number);         completed (r2)
       r2 11-03 01:00 answered, no disposition (completed, no hit)
K3     r1 11-02 02:00 refused                                     active
K4     r1 11-02 03:00 no_answer; r2 11-03 03:00 interrupted,      active
       r2 try 2 11-03 03:10 powered_off
K5     r1 11-02 04:00 vacant (number now dead)                    closed (r1)
K6     never dialled                                              active
K7     r1 11-02 05:00 busy; r2 11-03 05:00 no_answer              closed (r2), number exhausted
K8     r1 internal_failure, never reached the PBX (claimed 11-02 06:00)  active
=====  =========================================================  ==============

One import: rejected {"bad_number": 2, "missing_id": 1}, 1 duplicate, 1 DNC-suppressed.
Campaign ``c2`` has one contact and one no_answer dial, to prove figures do not leak.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, insert

from dialerd.db.models import Attempt, Campaign, Contact, ContactImport, PhoneNumber

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def t(value: str) -> datetime:
    """``"11-02 01:00:10"`` → that moment of 2026, UTC."""
    return datetime.fromisoformat(f"2026-{value}").replace(tzinfo=UTC)


def _campaign(cid: int, name: str) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "description": "",
        "config": {},
        "config_sha256": "0" * 64,
        "timezone": "Asia/Shanghai",
        "max_rounds": 4,
        "min_spacing_s": 21600,
        "state": "active",
        "created_at": T0,
        "updated_at": T0,
    }


def _contact(cid: int, camp: int, state: str, rounds: int, **kw: Any) -> dict[str, Any]:
    row = {
        "id": cid,
        "campaign_id": camp,
        "external_id": f"K{cid}",
        "name": f"Name {cid}",
        "state": state,
        "rounds_started": rounds,
        "refusals": 0,
        "priority": 0,
        "created_at": T0,
        "updated_at": T0,
        "closed_reason": None,
        "result": None,
    }
    row.update(kw)
    return row


def _number(nid: int, contact: int, camp: int, pos: int, state: str) -> dict[str, Any]:
    return {
        "id": nid,
        "contact_id": contact,
        "campaign_id": camp,
        "position": pos,
        "e164": f"+86138001380{nid:02d}",
        "raw": f"138001380{nid:02d}",
        "state": state,
        "dial_count": 0,
        "priority": 0,
        "third_party": False,
        "number_type": "mobile",
    }


_ATTEMPT_COLUMNS = (
    "id contact phone round position try_no outcome planned started answered ended disposition"
)


def _attempt(values: tuple[Any, ...], camp: int = 1) -> dict[str, Any]:
    f = dict(zip(_ATTEMPT_COLUMNS.split(), values, strict=True))
    planned = t(f["planned"])
    return {
        "id": f["id"],
        "key": f"{camp}-{f['contact']}-{f['position']}-{f['round']}-{f['try_no']}",
        "campaign_id": camp,
        "contact_id": f["contact"],
        "phone_number_id": f["phone"],
        "round": f["round"],
        "position": f["position"],
        "try_no": f["try_no"],
        "number": f"+86138001380{f['phone']:02d}",
        "instance_id": "host-1",
        "status": "done",
        "is_appointment": False,
        "planned_at": planned,
        "claimed_at": planned,
        "utc_offset_s": 8 * 3600,  # Asia/Shanghai's, as the dispatcher writes it
        "started_at": t(f["started"]) if f["started"] else None,
        "answered_at": t(f["answered"]) if f["answered"] else None,
        "ended_at": t(f["ended"]) if f["ended"] else None,
        "outcome": f["outcome"],
        "bucket": "retryable",
        "treatment": "retry",
        "disposition": f["disposition"],
        "hangup_cause": 16,
        "dial_status": "ANSWER" if f["answered"] else "NOANSWER",
        "signals": {"reason": 4},
    }


ATTEMPTS = [
    # id contact phone round pos try outcome planned started answered ended disposition
    (1, 1, 1, 1, 1, 1, "completed", "11-02 00:59:58", "11-02 01:00:00", "11-02 01:00:10",
     "11-02 01:02:10", "completed"),
    (2, 2, 2, 1, 1, 1, "no_answer", "11-02 01:10:00", "11-02 01:10:00", None,
     "11-02 01:10:30", None),
    (3, 2, 3, 1, 2, 1, "busy", "11-02 01:10:59", "11-02 01:11:00", None, "11-02 01:11:05", None),
    (4, 2, 2, 2, 1, 1, "answered", "11-03 00:59:50", "11-03 01:00:00", "11-03 01:00:20",
     "11-03 01:05:20", None),
    (5, 3, 4, 1, 1, 1, "refused", "11-02 02:00:00", "11-02 02:00:00", "11-02 02:00:05",
     "11-02 02:00:35", "refused"),
    (6, 4, 5, 1, 1, 1, "no_answer", "11-02 02:59:30", "11-02 03:00:00", None,
     "11-02 03:00:30", None),
    (7, 4, 5, 2, 1, 1, "interrupted", "11-03 03:00:00", "11-03 03:00:00", None, None, None),
    (8, 4, 5, 2, 1, 2, "powered_off", "11-03 03:09:00", "11-03 03:10:00", None,
     "11-03 03:10:02", None),
    (9, 5, 6, 1, 1, 1, "vacant", "11-02 04:00:00", "11-02 04:00:00", None, "11-02 04:00:03", None),
    (10, 7, 8, 1, 1, 1, "busy", "11-02 04:59:00", "11-02 05:00:00", None, "11-02 05:00:04", None),
    (11, 7, 8, 2, 1, 1, "no_answer", "11-03 05:00:00", "11-03 05:00:00", None,
     "11-03 05:00:30", None),
    (12, 8, 9, 1, 1, 1, "internal_failure", "11-02 06:00:00", None, None, None, None),
]  # fmt: skip


def load(engine: Engine) -> None:
    """Insert the history above (ids are fixed so the tests can name rows)."""
    contacts = [
        _contact(1, 1, "completed", 1, result="completed"),
        _contact(2, 1, "completed", 2, result="completed"),
        _contact(3, 1, "active", 1, refusals=1),
        _contact(4, 1, "active", 2),
        _contact(5, 1, "closed", 1, closed_reason="no_numbers"),
        _contact(6, 1, "active", 0),
        _contact(7, 1, "closed", 2, closed_reason="rounds_exhausted"),
        _contact(8, 1, "active", 1),
        _contact(9, 2, "active", 1),
    ]
    numbers = [
        _number(1, 1, 1, 1, "dialable"),
        _number(2, 2, 1, 1, "dialable"),
        _number(3, 2, 1, 2, "dialable"),
        _number(4, 3, 1, 1, "dialable"),
        _number(5, 4, 1, 1, "dialable"),
        _number(6, 5, 1, 1, "dead"),
        _number(7, 6, 1, 1, "dialable"),
        _number(8, 7, 1, 1, "exhausted"),
        _number(9, 8, 1, 1, "dialable"),
        _number(10, 9, 2, 1, "dialable"),
    ]
    attempts = [_attempt(a) for a in ATTEMPTS]
    attempts.append(
        _attempt(
            (13, 9, 10, 1, 1, 1, "no_answer", "11-02 01:30:00", "11-02 01:30:00", None,
             "11-02 01:30:30", None),
            camp=2,
        )
    )  # fmt: skip
    imp = {
        "id": 1,
        "campaign_id": 1,
        "path": "contacts.csv",
        "sha256": "1" * 64,
        "started_at": T0,
        "rows": 13,
        "loaded": 8,
        "numbers": 9,
        "already_loaded": 0,
        "rejected": {"bad_number": 2, "missing_id": 1},
        "duplicates": 1,
        "dnc_suppressed": 1,
    }
    with engine.begin() as conn:
        conn.execute(insert(Campaign), [_campaign(1, "c1"), _campaign(2, "c2")])
        conn.execute(insert(ContactImport), [imp])
        conn.execute(insert(Contact), contacts)
        conn.execute(insert(PhoneNumber), numbers)
        conn.execute(insert(Attempt), attempts)
