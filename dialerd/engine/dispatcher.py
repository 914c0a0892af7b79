"""The dispatcher tick: decide how many dials each campaign may start, claim, originate.

Runs on one thread (``jobs.TickLoop``). Every dial's attempt row is committed
before its Originate is sent; DNC and the calling window are checked for each
row immediately before the dial, the contact's deadline in the claim. Each tick
also settles the queued contacts whose deadline has passed (closed or paused,
``deadline_missed``), and offers each campaign capacity only up to the dials it
can start now (``domain.sharing``). Dials are paced: a tick claims at most each
rate × the time since the previous tick (at least ``tick_s``, at most 1 s), so
a rate is spread over the second in short ticks rather than sent in one burst;
the one-second windows (``limits.rate_window``) stay the hard caps. ``batch``
(rows per campaign) is per ``tick_s`` too: a tick that comes late claims more.
The pace is in :mod:`ticks`, the checks right before the dial in :mod:`screening`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Connection, Engine, select

from dialerd.db import tables
from dialerd.db.models import Campaign
from dialerd.domain.clock import utc_offset_s
from dialerd.domain.due import at_deadline
from dialerd.domain.outcomes import Outcome
from dialerd.domain.ports import Clock, DialRequest, PbxSignals, Telephony
from dialerd.domain.sharing import Demand, Sharer
from dialerd.domain.states import CampaignState
from dialerd.engine import claims, limits, rowwrites, screening
from dialerd.engine.dnc import DncCheck
from dialerd.engine.pacing import Pacing
from dialerd.engine.results import record_outcome
from dialerd.engine.runtime import CampaignRuntime
from dialerd.engine.schedule import flag_contact
from dialerd.engine.ticks import RateWindow, TickReport, paced
from dialerd.errors import TelephonyUnavailable, UnsafeDialInput
from dialerd.logconfig import get_logger
from dialerd.pbx.agitoken import AgiTokens

log = get_logger("dialerd.dispatcher")
_stdlog = logging.getLogger("dialerd.dispatcher")
_at = tables.attempts
PRIORITY_REFRESH_S = 60.0
MAX_PACE_S = 1.0  # a tick never claims for more than one second of any rate
_STATES = select(Campaign.id, Campaign.state)  # built once: a tick's first read

__all__ = ["MAX_PACE_S", "PRIORITY_REFRESH_S", "Dispatcher", "TickReport", "paced"]


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
        tick_s: float = 0.2,
        on_dial: Callable[[CampaignRuntime, int], None] | None = None,
        on_missed: Callable[[CampaignRuntime, int], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        agi_tokens: AgiTokens | None = None,
        hold: Callable[[], str | None] | None = None,
        pace: Callable[[Connection], Mapping[int, Mapping[str, float]]] | None = None,
        on_load: Callable[[], object] | None = None,
        pacing: Pacing | None = None,
        carriers: Callable[[], Mapping[str, str]] | None = None,
        reader: Engine | None = None,
    ) -> None:
        self._engine = engine
        # the tick's reads: on SQLite a deferred BEGIN, so they neither wait for the
        # result writer's write lock nor hold it (the claims re-check under the lock)
        self._reader = reader or engine
        self._pbx = telephony
        self._clock = clock
        self._instance = instance_id
        self._max_channels = max_channels
        self._batch = batch
        self._rate = RateWindow(calls_per_second)
        self._tick_s = tick_s
        self._last_tick: float | None = None
        self._runtimes: dict[int, CampaignRuntime] = {}
        self._priorities: dict[int, tuple[float, list[int]]] = {}
        self._lock = threading.Lock()
        self._on_dial = on_dial
        self._on_missed = on_missed
        self._sharer = Sharer()
        self._monotonic = monotonic
        self._agi_tokens: AgiTokens | None = agi_tokens or AgiTokens()
        self._dnc = DncCheck()
        self._hold = hold
        self._held: str | None = None
        self._pace = pace  # operators' pace overrides, read on each tick
        # ported numbers (E.164 → carrier now), asked when the dials are built
        self._carriers = carriers
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

    def send_unsigned(self) -> None:
        """Dials carry no FastAGI token from now on (no FastAGI server: ``dialerd simulate``)."""
        self._agi_tokens = None

    def campaigns(self) -> dict[int, CampaignRuntime]:
        with self._lock:
            return dict(self._runtimes)

    def tick(self) -> TickReport:
        report = TickReport()
        if self.paused.is_set() or not self._pbx.is_up() or self._is_held():
            return report
        now = self._clock.now()
        runtimes = self.campaigns()
        elapsed = self._elapsed()
        with self._reader.connect() as conn:
            states = dict(conn.execute(_STATES).all())
            if self._pace is not None:
                overrides = self._pace(conn)
                runtimes = {cid: rt.paced(overrides.get(cid)) for cid, rt in runtimes.items()}
            flying = limits.in_flight(conn, self._instance)
            late = [rt for rt in runtimes.values() if self._has_missed(conn, rt, now)]
            demands = [
                self._demand(conn, rt, flying.by_campaign.get(rt.id, 0), now, elapsed)
                for rt in runtimes.values()
                if states.get(rt.id) == CampaignState.active
                and rt.calendar.next_open(now) is not None
            ]
            conn.rollback()
        for rt in late:
            report.deadline_missed += self._settle_missed(rt, now)
        capacity = min(
            self._max_channels - flying.own,
            self._rate.budget(self._monotonic()),
            paced(self._rate.per_second, elapsed),
        )
        for campaign_id, n in self._sharer.share(max(capacity, 0), demands).items():
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

    def _demand(
        self, conn: Connection, rt: CampaignRuntime, in_flight: int, now: datetime, elapsed: float
    ) -> Demand:
        """What ``rt`` can start now: its due dials, within its own channel and rate caps
        (paced: its rate and batch over the ``elapsed`` seconds since the previous tick)."""
        window, allowed = limits.rate_window(rt.calls_per_second)
        caps = min(
            paced(self._batch / self._tick_s, elapsed),
            rt.max_concurrent - in_flight,
            allowed - limits.dials_since(conn, rt.id, now - window),
            paced(rt.calls_per_second, elapsed),
        )
        due = 0
        if caps > 0:
            levels = self._priority_levels(conn, rt.id)
            due = claims.count_due(conn, campaign_id=rt.id, now=now, limit=caps, priorities=levels)
        return Demand(rt.id, rt.priority, rt.weight, due)

    @staticmethod
    def _has_missed(conn: Connection, rt: CampaignRuntime, now: datetime) -> bool:
        return bool(claims.select_missed(conn, campaign_id=rt.id, now=now, limit=1))

    def _settle_missed(self, rt: CampaignRuntime, now: datetime) -> int:
        """Queued contacts whose deadline passed: closed or paused, as ``at_deadline`` says."""
        with self._engine.begin() as conn:
            rows = claims.select_missed(
                conn, campaign_id=rt.id, now=now, limit=self._batch, lock=True
            )
            # one campaign, one choice: every row past its deadline gets the same answer
            decided = [(r, at_deadline(r.deadline, now, rt.policy.on_deadline)) for r in rows]
            settled = [r for r, missed in decided if missed is not None]
            verdict = next((missed for _, missed in decided if missed is not None), None)
            if verdict is not None:
                changed = set(
                    rowwrites.write_missed(
                        conn,
                        [r.contact_id for r in settled],
                        state=verdict.state,
                        reason=verdict.reason,
                        now=now,
                    )
                )
                settled = [r for r in settled if r.contact_id in changed]
        for row in settled:
            log.info(
                "deadline_missed",
                campaign=rt.name,
                contact_id=row.contact_id,
                deadline=row.deadline.isoformat(),
                action=rt.policy.on_deadline.value,
            )
        if self._on_missed is not None and settled:
            self._on_missed(rt, len(settled))
        return len(settled)

    def _elapsed(self) -> float:
        """Seconds since the previous tick, within [tick_s, MAX_PACE_S]."""
        now, last = self._monotonic(), self._last_tick
        self._last_tick = now
        gap = self._tick_s if last is None else now - last
        return min(MAX_PACE_S, max(self._tick_s, gap))

    def _dispatch_campaign(
        self, rt: CampaignRuntime, n: int, now: datetime, report: TickReport
    ) -> None:
        with self._engine.begin() as conn:
            if not limits.lock_campaign(conn, rt.id):
                return
            window, allowed = limits.rate_window(rt.calls_per_second)
            in_flight, recent = limits.campaign_load(conn, rt.id, now - window)
            n = min(n, rt.max_concurrent - in_flight, allowed - recent)
            if rt.queue is not None:  # by agents: no more than the floor takes
                on_queue = [c.id for c in self.campaigns().values() if c.queue == rt.queue]
                n = self.pacing.allowance(rt, n, limits.dials_in_flight(conn, on_queue, now))
            if n <= 0:
                return
            rows = claims.select_due(
                conn,
                campaign_id=rt.id,
                now=now,
                limit=n,
                priorities=self._priority_levels(conn, rt.id),
            )
            todo = screening.screen(
                conn, rt, rows, now, report, dnc=self._dnc, carriers=self._carriers
            )
            ids = claims.write_claims(
                conn,
                todo,
                campaign_id=rt.id,
                instance_id=self._instance,
                now=now,
                utc_offset_s=utc_offset_s(rt.timezone, now),
            )
        report.claimed += len(ids)
        self._originate(rt, [c for c in todo if c.key in ids], ids, now, report)

    def _priority_levels(self, conn: Connection, campaign_id: int) -> list[int]:
        cached, now_s = self._priorities.get(campaign_id), self._monotonic()
        if cached is None or now_s - cached[0] > PRIORITY_REFRESH_S:
            cached = (now_s, claims.priority_levels(conn, campaign_id))
            self._priorities[campaign_id] = cached
        return cached[1] or [0]

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
        debug = _stdlog.isEnabledFor(logging.DEBUG)  # a dropped structlog line costs ~10 µs
        tokens = self._agi_tokens
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
                variables=tokens.variables(ids[claim.key]) if tokens is not None else {},
            )
            try:
                self._pbx.originate(request)
            except (TelephonyUnavailable, UnsafeDialInput) as exc:
                failed.append((claim, exc))
                continue
            sent.append(request.attempt_id)
            report.lateness_s.append(max(0.0, (now - claim.row.due_at).total_seconds()))
            if debug:
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
