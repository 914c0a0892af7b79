from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialerd.domain.pacing import (
    Agent,
    AgentState,
    CallStats,
    Floor,
    PacingConfig,
    PacingMode,
    PacingStats,
    dials_to_start,
    predictive,
    progressive,
)
from dialerd.domain.pacing.pacer import over_cap
from dialerd.domain.pacing.stats import Histogram

READY = Agent(AgentState.READY)
PREDICTIVE = PacingConfig(mode=PacingMode.PREDICTIVE)
PROGRESSIVE = PacingConfig(mode=PacingMode.PROGRESSIVE)


def measured(
    *,
    humans: int = 200,
    others: int = 200,
    connected: int = 200,
    abandoned: int = 0,
    ring: float = 10.2,
    talk: float = 90.0,
    wrap: float = 20.0,
) -> PacingStats:
    """Statistics with every human answer after `ring` s, other dials ending at 30 s."""
    s = CallStats()
    for i in range(humans):
        s.dial_ended(i, ring, human=True)
    for i in range(others):
        s.dial_ended(i, 30.0, human=False)
    for i in range(connected):
        s.connected(i)
    for i in range(abandoned):
        s.abandoned(i)
    for _ in range(50):
        s.talk_ended(talk)
        s.wrap_up_ended(wrap)
    return s.snapshot(300.0)


# --- hand-computed cases


def test_progressive_tops_up_to_ratio_times_ready() -> None:
    floor = Floor([READY] * 3 + [Agent(AgentState.TALKING, 40)], ringing=[5.0])
    assert progressive(floor, 1.0) == 2  # 3 ready - 1 ringing
    assert progressive(floor, 2.0) == 5  # 6 - 1
    assert progressive(floor, 1.5) == 3  # floor(4.5) - 1
    assert progressive(Floor([READY] * 3, ringing=[1.0], waiting=2), 1.0) == 0
    assert progressive(Floor([READY], ringing=[1.0, 2.0]), 1.0) == 0  # never negative


def test_broadcast_returns_the_callers_cap() -> None:
    config = PacingConfig()
    assert config.mode is PacingMode.BROADCAST
    assert dials_to_start(config, Floor(), measured(), 17) == 17
    assert dials_to_start(config, Floor(), measured(), -3) == 0


def test_the_callers_cap_bounds_every_mode() -> None:
    floor = Floor([READY] * 10)
    assert dials_to_start(PROGRESSIVE, floor, measured(), 4) == 4
    assert dials_to_start(PREDICTIVE, floor, measured(), 4) == 4


def test_predictive_dials_ahead_by_the_risk_of_the_last_dial() -> None:
    # 10 ready agents, nothing else; half the dials are answered, all at 10-11 s.
    # Pressure: (0 abandons + 0.45 prior) / (200 + 30) answers / 3 % = 0.0652, so with
    # dial_risk 1 a dial may carry 3 % x (1 - 0.0652) = 2.80 % abandon risk. With j dials before
    # it, the next dial is abandoned when the j answers (mean j/2, var j/4) fill the
    # 10 agents: Phi((j/2 - 10 + 0.5) / (sqrt(j + 1) / 2)).
    # j = 12: Phi(-3.5 / 1.803) = 2.61 %: dial; j = 13: Phi(-3 / 1.871) = 5.4 %: stop.
    config = PacingConfig(mode=PacingMode.PREDICTIVE, dial_risk=1.0)
    decision = predictive(config, Floor([READY] * 10), measured())
    assert decision.reason == "predictive"
    assert decision.risk == pytest.approx(0.03 - 0.45 / 230)
    assert decision.dials == 13
    # the default dial_risk 0.4 allows 1.12 %: j = 11 (Phi(-4 / 1.732) = 1.05 %) is the last
    assert predictive(PREDICTIVE, Floor([READY] * 10), measured()).dials == 12


def test_predictive_counts_agents_about_to_free_and_dials_ringing() -> None:
    stats = measured()
    alone = predictive(PREDICTIVE, Floor([READY] * 4), stats).dials
    # four more agents 19 s into a 20 s wrap-up: free before any new dial is answered
    wrapping = [Agent(AgentState.WRAP_UP, 19.0)] * 4
    more = predictive(PREDICTIVE, Floor([READY] * 4 + wrapping), stats).dials
    assert more > alone
    # agents just starting a 90 s talk will not be free in time: no dials for them
    talking = [Agent(AgentState.TALKING, 0.0)] * 4
    assert predictive(PREDICTIVE, Floor([READY] * 4 + talking), stats).dials == alone
    # dials already ringing 2 s (half of them will be answered) take agents
    ringing = predictive(PREDICTIVE, Floor([READY] * 4, ringing=[2.0] * 4), stats).dials
    assert ringing < alone


def test_predictive_falls_back_to_progressive() -> None:
    four = Floor([READY] * 4)
    few = predictive(PREDICTIVE, Floor([READY] * 3), measured())
    assert (few.reason, few.dials) == ("few_agents", 3)
    scarce = predictive(PREDICTIVE, four, measured(humans=10, others=10, connected=10))
    assert (scarce.reason, scarce.dials) == ("scarce_data", 4)
    over = predictive(PREDICTIVE, four, measured(connected=97, abandoned=3))
    assert (over.reason, over.dials) == ("over_cap", 4)
    under = predictive(PREDICTIVE, Floor([READY] * 10), measured(connected=98, abandoned=2))
    assert under.reason == "predictive" and under.dials > 10


def test_throttles_harder_as_the_abandon_rate_nears_the_cap() -> None:
    floor = Floor([READY] * 20)
    got = [
        predictive(PREDICTIVE, floor, measured(connected=200 - a, abandoned=a)) for a in (0, 3, 5)
    ]
    assert [d.reason for d in got] == ["predictive"] * 3
    assert got[0].risk > got[1].risk > got[2].risk
    assert got[0].dials > got[1].dials > got[2].dials >= 20


def test_stats_window_and_day() -> None:
    s = CallStats(window=60.0)
    s.dial_ended(0.0, 12.0, human=True)
    s.connected(0.0)
    s.dial_ended(10.0, 30.0, human=False)
    s.abandoned(50.0)
    now = s.snapshot(75.0)  # the first three events have left the window
    assert (now.window.dials, now.window.abandoned, now.window.abandon_rate) == (0, 1, 1.0)
    assert (now.day.dials, now.day.human_answers, now.day.answer_rate) == (2, 1, 0.5)
    assert now.day.abandon_rate == 0.5
    s.start_day()
    assert s.snapshot(75.0).day.dials == 0
    assert s.snapshot(75.0).ring_human.n == 1  # distributions outlive the day


def test_survival_from_a_histogram() -> None:
    h = Histogram(1.0, 60.0)
    h.add(10.0)
    h.add(20.0)
    sv = h.survival()
    assert (sv(0), sv(5), sv(10.5), sv(15), sv(21), sv(500)) == (1.0, 1.0, 0.75, 0.5, 0.0, 0.0)
    assert sv.mean == pytest.approx(15.5)
    assert sv.ends_within(15.0, 10.0) == 1.0  # only the 20 s one is left, and it ends by 25
    assert sv.ends_within(10.5, 4.0) == pytest.approx(1 / 3)  # 0.75 alive, 0.5 after
    assert sv.ends_within(30.0, 15.5) == pytest.approx(1 - math.exp(-1))  # past all: the mean


def test_histogram_forgets_by_halving() -> None:
    h = Histogram(1.0, 10.0, max_samples=4)
    for v in (1.0, 1.0, 1.0, 1.0, 5.0):
        h.add(v)
    assert h.total == 2.5
    assert h.survival()(2.0) == pytest.approx(0.5 / 2.5)


def test_bad_config_names_the_field() -> None:
    with pytest.raises(ValueError, match="max_abandon_rate"):
        PacingConfig(max_abandon_rate=1.5)
    with pytest.raises(ValueError, match="ratio"):
        PacingConfig(ratio=0)


# --- properties

BUSY_STATES = [AgentState.RINGING, AgentState.TALKING, AgentState.WRAP_UP]
agents = st.lists(
    st.builds(
        Agent,
        st.sampled_from(list(AgentState)),
        st.floats(0, 600, allow_nan=False),
    ),
    max_size=30,
)
floors = st.builds(
    Floor,
    agents,
    st.lists(st.floats(0, 40, allow_nan=False), max_size=40),
    st.integers(0, 3),
)


@st.composite
def stats(draw: st.DrawFn) -> PacingStats:
    return measured(
        humans=draw(st.integers(0, 300)),
        others=draw(st.integers(0, 300)),
        connected=draw(st.integers(0, 300)),
        abandoned=draw(st.integers(0, 20)),
        ring=draw(st.floats(1, 40)),
        talk=draw(st.floats(5, 400)),
        wrap=draw(st.floats(0, 60)),
    )


configs = st.builds(
    PacingConfig,
    mode=st.sampled_from(list(PacingMode)),
    ratio=st.floats(0.5, 3),
    max_abandon_rate=st.floats(0.01, 0.1),
    min_agents=st.integers(1, 6),
)
caps = st.integers(-5, 500)


@given(configs, floors, stats(), caps)
def test_never_negative_never_over_the_cap(
    config: PacingConfig, floor: Floor, s: PacingStats, cap: int
) -> None:
    assert 0 <= dials_to_start(config, floor, s, cap) <= max(cap, 0)


@given(floors, stats(), caps)
def test_broadcast_is_the_cap(floor: Floor, s: PacingStats, cap: int) -> None:
    assert dials_to_start(PacingConfig(), floor, s, cap) == max(cap, 0)


@given(st.floats(0.5, 3), floors, stats())
def test_progressive_keeps_in_flight_within_ratio_times_ready(
    ratio: float, floor: Floor, s: PacingStats
) -> None:
    n = dials_to_start(PacingConfig(mode=PacingMode.PROGRESSIVE, ratio=ratio), floor, s, 10**6)
    assert n == 0 or floor.in_flight + floor.waiting + n <= ratio * floor.ready + 1e-9


@given(st.sampled_from([PROGRESSIVE, PREDICTIVE]), agents, stats())
def test_nobody_ready_nor_busy_means_no_dials(
    config: PacingConfig, team: list[Agent], s: PacingStats
) -> None:
    away = [a for a in team if a.state in (AgentState.PAUSED, AgentState.UNAVAILABLE)]
    assert dials_to_start(config, Floor(away), s, 10**6) == 0


@given(agents, stats())
def test_progressive_with_nobody_ready_dials_nothing(team: list[Agent], s: PacingStats) -> None:
    busy = [a for a in team if a.state is not AgentState.READY]
    assert dials_to_start(PROGRESSIVE, Floor(busy), s, 10**6) == 0


@given(floors, st.integers(0, 300), st.integers(3, 30))
def test_predictive_dials_no_further_ahead_over_the_days_cap(
    floor: Floor, connected: int, abandoned: int
) -> None:
    s = measured(connected=connected, abandoned=abandoned)
    if s.day.abandon_rate < PREDICTIVE.max_abandon_rate:
        return
    n = dials_to_start(PREDICTIVE, floor, s, 10**6)
    assert n == progressive(floor, 1.0)
    assert n == 0 or floor.in_flight + floor.waiting + n <= floor.ready


@given(st.sampled_from(list(PacingMode)), st.floats(0.5, 3), floors, stats())
def test_one_more_ready_agent_never_means_fewer_dials(
    mode: PacingMode, ratio: float, floor: Floor, s: PacingStats
) -> None:
    config = PacingConfig(mode=mode, ratio=ratio)
    more = Floor([*floor.agents, READY], floor.ringing, floor.waiting)
    assert dials_to_start(config, more, s, 10**6) >= dials_to_start(config, floor, s, 10**6)


@given(st.floats(0.5, 3), floors, stats())
def test_predictive_never_below_progressive_nor_over_the_lines(
    ratio: float, floor: Floor, s: PacingStats
) -> None:
    config = PacingConfig(mode=PacingMode.PREDICTIVE, ratio=ratio)
    n = dials_to_start(config, floor, s, 10**6)
    base = progressive(floor, min(ratio, 1.0) if over_cap(config, s) else ratio)
    assert n >= base
    lines = math.floor(config.max_lines_per_agent * floor.working)
    assert n == base or floor.in_flight + n <= lines


@given(
    st.lists(
        st.tuples(st.floats(0, 10), st.sampled_from(["human", "other", "ok", "abandon"])),
        max_size=60,
    ),
    st.floats(1, 100),
)
def test_window_counts_never_exceed_the_days(
    events: list[tuple[float, str]], window: float
) -> None:
    s = CallStats(window=window)
    now = 0.0
    for gap, kind in events:
        now += gap
        if kind in ("human", "other"):
            s.dial_ended(now, gap, human=kind == "human")
        elif kind == "ok":
            s.connected(now)
        else:
            s.abandoned(now)
    snap = s.snapshot(now)
    w, d = snap.window, snap.day
    assert 0 <= w.dials <= d.dials and 0 <= w.abandoned <= d.abandoned
    assert 0 <= w.human_answers <= w.dials and 0 <= d.abandon_rate <= 1
