"""``[pacing]`` in campaign files, and the engine's per-campaign pacing state."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from dialerd.campaignfile.convert import to_calendar, to_caller_id_rules, to_pacing, to_policy
from dialerd.campaignfile.loader import parse_text
from dialerd.domain.agents import QueueCounts
from dialerd.domain.agenttime import AgentSeconds, CustomerWait, QueueHour, QueueTime
from dialerd.domain.clock import VirtualClock
from dialerd.domain.outcomes import Outcome
from dialerd.domain.pacing import Agent, AgentState, Floor, PacingConfig, PacingMode
from dialerd.domain.ports import AnsweredTarget, PbxSignals, Telephony
from dialerd.engine.pacing import Pacing
from dialerd.engine.pending import Recorded
from dialerd.engine.runtime import CampaignRuntime
from tests.unit.test_campaignfile import BASE, PATH

QUEUE = '\n[pacing]\nmode = "progressive"\nqueue = "callback-team"\n'


def problems(text: str) -> list[str]:
    return [str(p) for p in parse_text(text, PATH)[1] if "warning" not in str(p)]


def test_no_pacing_table_is_broadcast() -> None:
    model, _ = parse_text(BASE, PATH)
    assert model is not None
    assert model.pacing.mode == "broadcast" and model.pacing.queue is None
    assert to_pacing(model) == PacingConfig()


def test_the_keys_become_the_pacers_config() -> None:
    text = BASE + QUEUE + 'ratio = 1.5\nmax_abandon_rate = 0.02\nabandon_after = "3s"\n'
    model, found = parse_text(text, PATH)
    assert model is not None, found
    assert model.pacing.queue == "callback-team"
    config = to_pacing(model)
    assert (config.mode, config.ratio, config.max_abandon_rate, config.abandon_after) == (
        PacingMode.PROGRESSIVE,
        1.5,
        0.02,
        3.0,
    )


def _line(text: str, key: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith(key))


@pytest.mark.parametrize("mode", ["progressive", "predictive"])
def test_agents_need_a_queue(mode: str) -> None:
    text = BASE + f'\n[pacing]\nmode = "{mode}"\n'
    (problem,) = problems(text)
    assert problem.startswith(f"{PATH}:{_line(text, 'mode =')}: pacing.mode: ")
    assert "queue" in problem


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ('queue = "callback team"', "pacing.queue", "not an Asterisk queue name"),
        ('abandon_after = "0s"', "pacing.abandon_after", "between 1s and 1m"),
        ("abandon_after = 2", "pacing.abandon_after", "write the unit"),
        ("max_abandon_rate = 1.5", "pacing.max_abandon_rate", "less than 1"),
        ("ratio = 0", "pacing.ratio", "greater than 0"),
        ('mode = "preview"', "pacing.mode", "broadcast"),
        ("agents = 3", "pacing.agents", ""),
    ],
)
def test_bad_values_are_located(line: str, field: str, words: str) -> None:
    text = BASE + "\n[pacing]\n" + line + "\n"
    found = problems(text)
    at = f"{PATH}:{len(text.splitlines())}: {field}: "
    assert any(p.startswith(at) and words in p for p in found), found


class _Floors:
    """A Telephony stand-in: only ``floor`` is asked."""

    def __init__(self) -> None:
        self.floor_now: Floor | None = None

    def floor(self, queue: str, dials: Mapping[int, float] | None = None) -> Floor | None:
        return self.floor_now


def test_pacing_state_gates_by_the_floor_and_counts_results() -> None:
    model, _ = parse_text(BASE, PATH)
    assert model is not None
    t0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    clock = VirtualClock(t0)
    pbx = _Floors()
    pacing = Pacing(cast(Telephony, pbx), clock, monotonic=lambda: clock.now().timestamp())
    rt = CampaignRuntime(
        id=1,
        name="c",
        policy=to_policy(model),
        calendar=to_calendar(model),
        caller_ids=to_caller_id_rules(model),
        answered=AnsweredTarget(context="dialerd-queue", exten="s"),
        pacing=PacingConfig(mode=PacingMode.PROGRESSIVE, ratio=2.0),
        queue="callback-team",
    )
    assert pacing.allowance(rt, 10) == 0  # unknown floor
    pbx.floor_now = Floor(agents=(Agent(AgentState.READY), Agent(AgentState.PAUSED)))
    assert pacing.allowance(rt, 10) == 2
    assert pacing.allowance(rt, 1) == 1  # never above the caps
    pbx.floor_now = Floor(agents=(Agent(AgentState.PAUSED),) * 2)
    assert pacing.allowance(rt, 10) == 0

    def rec(outcome: Outcome, answered: bool) -> Recorded:
        ring = timedelta(seconds=5)
        signals = PbxSignals(
            answered_at=t0 + ring if answered else None, ended_at=t0 + ring + timedelta(seconds=40)
        )
        decision: Any = None  # the pacer reads no decision
        return Recorded(1, 1, rt.name, outcome, True, "", decision, signals, t0)

    for outcome, answered in [
        (Outcome.answered, True),
        (Outcome.abandoned, True),
        (Outcome.busy, False),
        (Outcome.answering_machine, True),
        (Outcome.internal_failure, False),
    ]:
        pacing.observe(rec(outcome, answered))
    day = pacing.stats(rt.name).snapshot(clock.now().timestamp()).day
    assert (day.dials, day.human_answers, day.connected, day.abandoned) == (4, 2, 1, 1)
    clock.advance(timedelta(days=1))
    pbx.floor_now = Floor(agents=(Agent(AgentState.READY),))
    assert pacing.allowance(rt, 10) == 2  # a new day in the campaign's zone: day counts reset
    assert pacing.stats(rt.name).snapshot(clock.now().timestamp()).day.dials == 0


class _Queues(_Floors):
    """A Telephony with agent queues: the tracker's wrap-up spells of one queue."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[QueueTime] = []

    def queues(self) -> list[QueueCounts]:
        return []

    def queue_call(self, ident: str) -> None:
        return None

    def agent_times(self) -> list[QueueTime]:
        return self.times

    def take_agent_hours(self) -> list[QueueHour]:
        return []

    def give_back_agent_hours(self, hours: list[QueueHour]) -> None:
        pass

    def take_customer_waits(self) -> list[CustomerWait]:
        return []


def test_the_queues_wrap_ups_feed_the_pacers_statistics() -> None:
    model, _ = parse_text(BASE, PATH)
    assert model is not None
    clock = VirtualClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    pbx = _Queues()
    pbx.floor_now = Floor(agents=(Agent(AgentState.WRAP_UP, 3.0),))
    pacing = Pacing(cast(Telephony, pbx), clock, monotonic=lambda: clock.now().timestamp())

    def runtime(name: str, queue: str) -> CampaignRuntime:
        return CampaignRuntime(
            id=1,
            name=name,
            policy=to_policy(model),
            calendar=to_calendar(model),
            caller_ids=to_caller_id_rules(model),
            answered=AnsweredTarget(context="dialerd-queue", exten="s"),
            pacing=PacingConfig(mode=PacingMode.PROGRESSIVE),
            queue=queue,
        )

    ours, other = runtime("c", "callback-team"), runtime("d", "sales")

    def wraps(*seconds: float) -> None:
        total = AgentSeconds(wrap_up=sum(seconds), wrap_ups=len(seconds))
        pbx.times = [QueueTime("callback-team", total, total, tuple(seconds))]

    wraps(20.0, 22.0)
    pacing.allowance(ours, 10)
    pacing.allowance(other, 10)
    assert pacing.stats("c").wrap_up.total == 2  # what the queue saw before the first ask
    assert pacing.stats("d").wrap_up.total == 0  # another queue's agents
    pacing.allowance(ours, 10)
    assert pacing.stats("c").wrap_up.total == 2  # each spell once
    wraps(20.0, 22.0, 300.0)
    pacing.allowance(ours, 10)
    snap = pacing.stats("c").snapshot(clock.now().timestamp())
    assert pacing.stats("c").wrap_up.total == 3 and snap.wrap_up.mean > 100
