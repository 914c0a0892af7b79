"""The dispatcher tick: decide how many dials each campaign may start, claim, originate.

Runs on one thread (APScheduler's ``max_instances=1``). Every dial's attempt row is
committed before its Originate is sent; DNC and the calling window are checked
for each row immediately before the dial.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, select, update

from dialerd.db import tables
from dialerd.db.models import Campaign
from dialerd.domain.due import fit_window
from dialerd.domain.outcomes import Outcome
from dialerd.domain.phones import render_channel
from dialerd.domain.ports import Clock, DialRequest, PbxSignals, Telephony
from dialerd.domain.sharing import Demand, share
from dialerd.domain.states import CampaignState, NumberState
from dialerd.engine import claims, limits
from dialerd.engine.dnc import DncCheck
from dialerd.engine.pacing import Pacing
from dialerd.engine.results import record_outcome
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.schedule import flag_contact, reschedule_contacts
from dialerd.errors import TelephonyUnavailable, UnsafeDialInput
from dialerd.logconfig import get_logger
from dialerd.pbx.agitoken import AgiTokens

log = get_logger("dialerd.dispatcher")
_pn = tables.phone_numbers
_at = tables.attempts
PRIORITY_REFRESH_S = 60.0


@dataclass
class TickReport:
    """What one tick did, for metrics, status lines and tests."""

    claimed: int = 0
    sent: int = 0
    pushed_to_window: int = 0
    dnc_blocked: int = 0
    failed: int = 0
    lateness_s: list[float] = field(default_factory=list)


@dataclass
class _RateWindow:
    """Sliding window of this daemon's originates (the per-PBX rate, limits.rate_window)."""

    per_second: float
    sent: deque[float] = field(default_factory=deque)

    def budget(self, now: float) -> int:
        window, allowed = limits.rate_window(self.per_second)
        while self.sent and now - self.sent[0] >= window.total_seconds():
            self.sent.popleft()
        return max(0, allowed - len(self.sent))

    def spend(self, now: float, n: int) -> None:
        self.sent.extend([now] * n)


class Dispatcher:
    """Claims due dials from the database and hands them to the PBX."""

    def __init__(
        self,
        engine: Engine,
        telephony: Telephony,
        clock: Clock,
        *,
        instance_id: str,
        max_channels: int,
        calls_per_second: float,
        batch: int = 500,
        on_dial: Callable[[CampaignRuntime, int], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        agi_tokens: AgiTokens | None = None,
        hold: Callable[[], str | None] | None = None,
        pace: Callable[[Connection], Mapping[int, Mapping[str, float]]] | None = None,
        on_load: Callable[[], object] | None = None,
        pacing: Pacing | None = None,
    ) -> None:
        self._engine = engine
        self._pbx = telephony
        self._clock = clock
        self._instance = instance_id
        self._max_channels = max_channels
        self._batch = batch
        self._rate = _RateWindow(calls_per_second)
        self._runtimes: dict[int, CampaignRuntime] = {}
        self._priorities: dict[int, tuple[float, list[int]]] = {}
        self._lock = threading.Lock()
        self._on_dial = on_dial
        self._monotonic = monotonic
        self._agi_tokens = agi_tokens or AgiTokens()
        self._dnc = DncCheck()
        self._hold = hold
        self._held: str | None = None
        self._pace = pace  # operators' pace overrides, read on each tick
        self._on_load = on_load  # after each (re)load of the campaigns: drops stale overrides
        # pacing by agents; share one with the result writer's on_recorded to feed it
        self.pacing = pacing or Pacing(telephony, clock, monotonic=monotonic)
        self.paused = threading.Event()

    def set_campaigns(self, runtimes: Mapping[int, CampaignRuntime]) -> None:
        """Swap the campaign rules (reload); progress lives in the database."""
        with self._lock:
            self._runtimes = dict(runtimes)
            self._priorities.clear()
        if self._on_load is not None:
            self._on_load()

    def campaigns(self) -> dict[int, CampaignRuntime]:
        with self._lock:
            return dict(self._runtimes)

    def tick(self) -> TickReport:
        report = TickReport()
        if self.paused.is_set() or not self._pbx.is_up() or self._is_held():
            return report
        now = self._clock.now()
        runtimes = self.campaigns()
        with self._engine.connect() as conn:
            states = dict(conn.execute(select(Campaign.id, Campaign.state)).all())
            if self._pace is not None:
                paced = self._pace(conn)
                runtimes = {cid: rt.paced(paced.get(cid)) for cid, rt in runtimes.items()}
            own = sum(limits.in_flight_by_campaign(conn, self._instance).values())
            everyone = limits.in_flight_by_campaign(conn)
            conn.rollback()
        capacity = min(self._max_channels - own, self._rate.budget(self._monotonic()))
        demands = [
            Demand(
                rt.id,
                rt.priority,
                rt.weight,
                min(self._batch, rt.max_concurrent - everyone.get(rt.id, 0)),
            )
            for rt in runtimes.values()
            if states.get(rt.id) == CampaignState.active and rt.calendar.next_open(now) is not None
        ]
        for campaign_id, n in share(max(capacity, 0), demands).items():
            if n > 0:
                self._dispatch_campaign(runtimes[campaign_id], n, now, report)
        return report

    def _is_held(self) -> bool:
        """The gate (e.g. results cannot be written): no dial starts; logged once per hold."""
        reason = self._hold() if self._hold is not None else None
        if reason is not None and self._held is None:
            log.warning("dispatch_held", reason=reason)
        elif reason is None and self._held is not None:
            log.info("dispatch_resumed")
        self._held = reason
        return reason is not None

    def _dispatch_campaign(
        self, rt: CampaignRuntime, n: int, now: datetime, report: TickReport
    ) -> None:
        with self._engine.begin() as conn:
            if not limits.lock_campaign(conn, rt.id):
                return
            n = min(n, rt.max_concurrent - limits.in_flight_by_campaign(conn).get(rt.id, 0))
            window, allowed = limits.rate_window(rt.calls_per_second)
            n = min(n, allowed - limits.dials_since(conn, rt.id, now - window))
            n = self.pacing.allowance(rt, n)  # by agents: no more than the floor takes
            if n <= 0:
                return
            rows = claims.select_due(
                conn,
                campaign_id=rt.id,
                now=now,
                limit=n,
                priorities=self._priority_levels(conn, rt.id),
            )
            todo = self._screen(conn, rt, rows, now, report)
            ids = claims.write_claims(
                conn, todo, campaign_id=rt.id, instance_id=self._instance, now=now
            )
        report.claimed += len(ids)
        self._originate(rt, [c for c in todo if c.key in ids], ids, now, report)

    def _priority_levels(self, conn: Connection, campaign_id: int) -> list[int]:
        cached = self._priorities.get(campaign_id)
        if cached is None or self._monotonic() - cached[0] > PRIORITY_REFRESH_S:
            cached = (self._monotonic(), claims.priority_levels(conn, campaign_id))
            self._priorities[campaign_id] = cached
        return cached[1] or [0]

    def _screen(
        self,
        conn: Connection,
        rt: CampaignRuntime,
        rows: list[claims.DueRow],
        now: datetime,
        report: TickReport,
    ) -> list[claims.Claim]:
        """Window and DNC checks right before the dial; builds the claims that pass."""
        blocked = self._dnc.blocked(conn, rt.id, rows)
        if blocked:
            self._take_out(conn, rt, [r for r in rows if r.number_id in blocked], blocked, now)
            report.dnc_blocked += len(blocked)
        todo = []
        for row in rows:
            if row.number_id in blocked:
                continue
            # the same dial, at the first instant from now where it fits the window
            at = fit_window(now, calendar=rt.calendar, tz=row.contact_tz, policy=rt.policy)
            if at != now:
                report.pushed_to_window += 1
                conn.execute(update(_pn).where(_pn.c.id == row.number_id).values(next_dial_at=at))
                continue
            todo.append(self._claim(rt, row))
        return todo

    @staticmethod
    def _take_out(
        conn: Connection,
        rt: CampaignRuntime,
        rows: list[claims.DueRow],
        rules: Mapping[int, str],
        now: datetime,
    ) -> None:
        """Numbers a DNC entry forbids leave the queue; their contacts move on."""
        conn.execute(
            update(_pn)
            .where(_pn.c.id.in_([r.number_id for r in rows]))
            .values(state=NumberState.dnc, next_dial_at=None)
        )
        reschedule_contacts(conn, [r.contact_id for r in rows], runtime=rt, now=now)
        for row in rows:
            log.info(
                "dial_blocked_dnc",
                campaign=rt.name,
                contact_id=row.contact_id,
                number=row.e164,
                rule=rules[row.number_id],
            )

    @staticmethod
    def _claim(rt: CampaignRuntime, row: claims.DueRow) -> claims.Claim:
        key = claims.attempt_key(rt.id, row)
        caller_id, template = rt.caller_ids.choose(row.e164, row.carrier)
        try:
            channel = render_channel(template, row.e164, rt.dial_prefix)
        except UnsafeDialInput as exc:
            return claims.Claim(row=row, key=key, caller_id=caller_id, channel="", refused=exc)
        return claims.Claim(row=row, key=key, caller_id=caller_id, channel=channel)

    def _originate(
        self,
        rt: CampaignRuntime,
        todo: list[claims.Claim],
        ids: Mapping[str, int],
        now: datetime,
        report: TickReport,
    ) -> None:
        sent: list[int] = []
        failed: list[tuple[claims.Claim, Exception]] = []
        for claim in todo:
            if claim.refused is not None:
                failed.append((claim, claim.refused))
                continue
            request = DialRequest(
                attempt_id=ids[claim.key],
                key=claim.key,
                campaign=rt.name,
                number=claim.row.e164,
                channel=claim.channel,
                caller_id=claim.caller_id,
                ring_timeout_s=rt.policy.ring_timeout.total_seconds(),
                answered=rt.answered,
                record=rt.record,
                variables=self._agi_tokens.variables(ids[claim.key]),
            )
            try:
                self._pbx.originate(request)
            except (TelephonyUnavailable, UnsafeDialInput) as exc:
                failed.append((claim, exc))
                continue
            sent.append(request.attempt_id)
            report.lateness_s.append(max(0.0, (now - claim.row.due_at).total_seconds()))
            log.debug(
                "call_originated",
                campaign=rt.name,
                contact_id=claim.row.contact_id,
                attempt_id=request.attempt_id,
                number=claim.row.e164,
            )
        self._rate.spend(self._monotonic(), len(sent))
        report.sent += len(sent)
        if failed:
            with self._engine.begin() as conn:
                claims.mark_not_sent(conn, [ids[c.key] for c, _ in failed])
                for claim, error in failed:
                    self._record_failure(conn, rt, ids[claim.key], error)
        report.failed += len(failed)
        if self._on_dial is not None and sent:
            self._on_dial(rt, len(sent))

    def _record_failure(
        self, conn: Connection, rt: CampaignRuntime, attempt_id: int, error: Exception
    ) -> None:
        """Our fault: not counted against the contact; unsafe input also flags the contact."""
        attempt = conn.execute(select(_at).where(_at.c.id == attempt_id)).one()
        now = self._clock.now()
        record_outcome(
            conn,
            attempt,
            Outcome.internal_failure,
            signals=PbxSignals(error=str(error), ended_at=now),
            runtime=rt,
            now=now,
        )
        log.warning(
            "call_not_sent",
            campaign=rt.name,
            contact_id=attempt.contact_id,
            attempt_id=attempt_id,
            error=str(error),
        )
        if isinstance(error, UnsafeDialInput):
            flag_contact(conn, attempt.contact_id, reason=str(error), now=now)
