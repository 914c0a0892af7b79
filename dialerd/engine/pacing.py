"""Pacing by agents: each campaign's measured call statistics and the pacer's answer.

The result writer feeds every recorded result (``observe``); the dispatcher asks
``allowance`` how many of the dials its caps allow a campaign may start now, which
also feeds the wrap-up spells the queue tracker saw end since the last ask. A
broadcast campaign is not paced here. A campaign paced by agents starts nothing
while its queue's floor is unknown (logged once until it is known again).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from dialerd.domain.agents import AgentFloors
from dialerd.domain.agenttime import QueueTime
from dialerd.domain.outcomes import Group, Outcome, info
from dialerd.domain.pacing import CallStats, PacingMode, dials_to_start
from dialerd.domain.ports import Clock, Telephony
from dialerd.engine.pending import Recorded
from dialerd.engine.runtime import CampaignRuntime
from dialerd.logconfig import get_logger

log = get_logger("dialerd.pacing")

# Answered by a person, yet no agent took the call: the callee's own doing.
NOT_CONNECTED = frozenset({Outcome.early_hangup, Outcome.answering_machine, Outcome.abandoned})


class Pacing:
    """Per-campaign ``CallStats`` (by campaign name) and the pacer's share of the caps."""

    def __init__(
        self,
        telephony: Telephony,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pbx = telephony
        self._clock = clock
        self._monotonic = monotonic
        self._stats: dict[str, CallStats] = {}
        self._days: dict[str, date] = {}
        self._blind: set[str] = set()  # campaigns whose queue floor is unknown (logged)
        self._wraps_seen: dict[str, int] = {}  # campaign -> its queue's wrap-ups fed so far
        self._lock = threading.Lock()

    def stats(self, campaign: str) -> CallStats:
        with self._lock:
            return self._stats.setdefault(campaign, CallStats())

    def observe(self, rec: Recorded) -> None:
        """One recorded result (the writer's thread): ring, answer, abandon and talk."""
        signals = rec.signals
        ours = info(rec.outcome).group is Group.our_fault and rec.outcome is not Outcome.abandoned
        if signals is None or ours:
            return  # never reached the callee's phone (or the PBX's word was lost)
        now = self._monotonic()
        human = signals.answered_at is not None and rec.outcome is not Outcome.answering_machine
        end = signals.answered_at if human else signals.ended_at
        ring = (end - rec.dialed_at).total_seconds() if end and rec.dialed_at else 0.0
        with self._lock:
            stats = self._stats.get(rec.campaign)
            if stats is None:  # not `setdefault`: it would build a CallStats every result
                stats = self._stats[rec.campaign] = CallStats()
            stats.dial_ended(now, max(ring, 0.0), human=human)
            if not human:
                return
            if rec.outcome is Outcome.abandoned:
                stats.abandoned(now)
            elif rec.outcome not in NOT_CONNECTED:
                stats.connected(now)
                if signals.talk_seconds is not None:
                    stats.talk_ended(max(signals.talk_seconds, 0.0))

    def allowance(
        self, rt: CampaignRuntime, cap: int, dials: Mapping[int, float] | None = None
    ) -> int:
        """The dials ``rt`` may start now, at most ``cap`` (its caps' allowance).

        ``dials``: the dials in flight of every campaign on ``rt``'s queue, every
        daemon's (attempt id -> seconds since claimed): the PBX counts those not yet
        answered as ringing.
        """
        if rt.pacing.mode is PacingMode.BROADCAST:
            return cap
        floor = self._pbx.floor(rt.queue, dials) if rt.queue is not None else None
        if floor is None:
            if rt.name not in self._blind:
                self._blind.add(rt.name)
                log.warning("pacing_floor_unknown", campaign=rt.name, queue=rt.queue)
            return 0
        if rt.name in self._blind:
            self._blind.discard(rt.name)
            log.info("pacing_floor_known", campaign=rt.name, queue=rt.queue)
        times = self._pbx.agent_times() if isinstance(self._pbx, AgentFloors) else []
        with self._lock:
            stats = self._stats.setdefault(rt.name, CallStats())
            self._new_day(rt, stats, self._clock.now())
            for t in times:
                if t.queue == rt.queue:
                    self._feed_wraps(rt.name, stats, t)
            snapshot = stats.snapshot(self._monotonic())
        return dials_to_start(rt.pacing, floor, snapshot, cap)

    def _feed_wraps(self, campaign: str, stats: CallStats, time: QueueTime) -> None:
        """Under the lock: the queue's wrap-up spells this campaign has not seen yet."""
        seen = self._wraps_seen.get(campaign)
        new = time.total.wrap_ups - seen if seen is not None else len(time.wraps)
        for seconds in time.wraps[len(time.wraps) - min(max(new, 0), len(time.wraps)) :]:
            stats.wrap_up_ended(seconds)
        self._wraps_seen[campaign] = time.total.wrap_ups

    def _new_day(self, rt: CampaignRuntime, stats: CallStats, now: datetime) -> None:
        """Under the lock: the day's counts start again on the campaign's new local day."""
        today = now.astimezone(ZoneInfo(rt.timezone)).date()
        if self._days.setdefault(rt.name, today) != today:
            self._days[rt.name] = today
            stats.start_day()
