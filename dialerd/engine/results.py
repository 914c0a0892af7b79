"""Record dial results and what follows from them, a batch at a time, in the caller's transaction.

The domain decides (``classify``, then ``policy.decide``); this module reads the
rows the decisions need (four queries for a whole batch) and hands the
consequences to ``rowwrites``, which writes them with one executemany per table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, Select, bindparam, select

from dialerd.db import tables
from dialerd.db.bulk import in_values, values_param
from dialerd.db.rowreads import Read
from dialerd.domain.classify import RETRY_SOON, classify, no_callee_reached
from dialerd.domain.outcomes import Outcome
from dialerd.domain.policy import DialPolicy, decide
from dialerd.domain.ports import DialResult, PbxSignals
from dialerd.domain.states import AttemptStatus
from dialerd.engine.corrections import record_late
from dialerd.engine.pending import Pending, Recorded
from dialerd.engine.rowwrites import Writes
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.views import load_contacts

_pn = tables.phone_numbers
_ct = tables.contacts
_at = tables.attempts
_rd = tables.rounds
_dnc = tables.dnc_entries


class OpenAttempt(NamedTuple):
    """The columns of an attempt that closing it reads (a late result reads the whole row).

    A tuple: its fields are read a score of times a dial, ~20 times cheaper than a
    ``Row``'s; and a row of attempts carries ~40 columns, reading them all costs
    more than the rest of the read.
    """

    id: int
    key: str
    campaign_id: int
    contact_id: int
    phone_number_id: int
    round: int
    position: int
    try_no: int
    number: str
    instance_id: str
    status: AttemptStatus
    outcome: str | None
    claimed_at: datetime
    started_at: datetime | None


# the attempts a batch of results may close (built once per dialect: the keys are
# one parameter); PostgreSQL locks them
_OPEN = Read(
    lambda d: _open(
        select(*(_at.c[name] for name in OpenAttempt._fields)).where(
            in_values(_at.c.key, "keys", d)
        ),
        locked=d == "postgresql",
    ),
    ["keys"],
)
_WHOLE = select(_at).where(_at.c.id == bindparam("id"))


def _open(stmt: Select[Any], *, locked: bool) -> Select[Any]:
    stmt = stmt.where(
        (_at.c.status != AttemptStatus.done) | (_at.c.outcome == Outcome.interrupted.value)
    )
    return stmt.with_for_update() if locked else stmt


RuntimeFor = Callable[[int], CampaignRuntime | None]
__all__ = ["Pending", "Recorded", "record_outcome", "record_outcomes", "record_results"]


def record_results(
    conn: Connection, results: Sequence[DialResult], *, runtime_for: RuntimeFor, now: datetime
) -> list[Recorded]:
    """Classify and write PBX results; unknown keys and attempts already closed are skipped.

    An attempt already settled ``interrupted`` (its daemon looked gone) takes a real
    result that arrives later: the truth wins, once (:func:`corrections.record_late`).
    """
    if not results:
        return []
    dialect = conn.dialect.name
    keys = values_param(dialect, [r.key for r in results])
    open_attempts = {a.key: a for a in map(OpenAttempt._make, _OPEN.rows(conn, keys))}
    pending = []
    late: list[tuple[Pending, CampaignRuntime]] = []
    for result in results:
        attempt = open_attempts.pop(result.key, None)  # a result twice in a batch: once
        runtime = runtime_for(attempt.campaign_id) if attempt is not None else None
        if attempt is None or runtime is None:
            continue
        signals = result.signals
        settled = attempt.status == AttemptStatus.done
        if signals.lost:
            if not settled:
                soon = no_callee_reached(signals)
                rule = "the PBX stopped before the dial" if soon else "the PBX's word was lost"
                pending.append(Pending(attempt, Outcome.interrupted, signals, True, rule, soon))
            continue
        c = classify(signals, early_hangup_s=runtime.policy.early_hangup_s)
        if settled and c.outcome is not Outcome.interrupted:
            whole = conn.execute(_WHOLE, {"id": attempt.id}).one()
            late.append((Pending(whole, c.outcome, signals, c.known, c.rule), runtime))
        elif not settled:
            pending.append(Pending(attempt, c.outcome, signals, c.known, c.rule, c.retry_soon))
    recorded = record_outcomes(conn, pending, runtime_for=runtime_for, now=now)
    for p, runtime in late:
        recorded.append(
            record_late(
                conn,
                p.attempt,
                p.outcome,
                signals=p.signals,
                runtime=runtime,
                rule=p.rule,
                known=p.known,
                now=now,
            )
        )
    return recorded


def record_outcome(
    conn: Connection,
    attempt: Row[Any],
    outcome: Outcome,
    *,
    signals: PbxSignals,
    runtime: CampaignRuntime,
    now: datetime,
    rule: str = "",
) -> Recorded | None:
    """Close one attempt with ``outcome`` (failures before the dial, interrupted dials)."""
    done = record_outcomes(
        conn,
        [Pending(attempt, outcome, signals, True, rule)],
        runtime_for=lambda _c: runtime,
        now=now,
    )
    return done[0] if done else None


def record_outcomes(
    conn: Connection, pending: Sequence[Pending], *, runtime_for: RuntimeFor, now: datetime
) -> list[Recorded]:
    """Decide and write; a contact appears once per pass, so its decisions see each other."""
    recorded: list[Recorded] = []
    todo = list(pending)
    while todo:
        seen: set[int] = set()
        this: list[Pending] = []
        later: list[Pending] = []
        for p in todo:
            (later if p.attempt.contact_id in seen else this).append(p)
            seen.add(p.attempt.contact_id)
        recorded += _record_pass(conn, this, runtime_for, now)
        todo = later
    return recorded


def _policy_for(runtime_for: RuntimeFor) -> Callable[[int], DialPolicy]:
    def policy(campaign_id: int) -> DialPolicy:
        runtime = runtime_for(campaign_id)
        return runtime.policy if runtime is not None else DialPolicy()

    return policy


def _record_pass(
    conn: Connection, pending: Sequence[Pending], runtime_for: RuntimeFor, now: datetime
) -> list[Recorded]:
    contacts = load_contacts(
        conn, [p.attempt.contact_id for p in pending], now=now, policy_for=_policy_for(runtime_for)
    )
    writes = Writes()
    recorded = []
    for p in pending:
        loaded, runtime = contacts.get(p.attempt.contact_id), runtime_for(p.attempt.campaign_id)
        if loaded is None or runtime is None:
            continue
        a = p.attempt
        decision = decide(
            loaded.view,
            a.position,
            p.outcome,
            now=now,
            policy=runtime.policy,
            calendar=runtime.calendar,
            tz=loaded.timezone,
            callback_at=p.signals.callback_at,
            dialed_at=a.started_at or a.claimed_at,
            retry_after=RETRY_SOON if p.retry_soon else None,
        )
        writes.add(p, loaded, decision, runtime.name, now)
        recorded.append(
            Recorded(
                a.id,
                a.contact_id,
                runtime.name,
                p.outcome,
                p.known,
                p.rule,
                decision,
                p.signals,
                a.started_at or a.claimed_at,
            )
        )
    writes.flush(conn)
    return recorded
