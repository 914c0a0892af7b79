"""How many dials to start now, from what the queue looks like and what was measured.

`dials_to_start()` is pure: the caller passes the floor (agents, dials in flight),
the statistics snapshot and `cap`, the most dials its own limits allow now (the
campaign's max_concurrent and calls_per_second, the PBX's). The result is a
non-negative int never above `cap`; the caller may min() it with any other cap.
docs/pacing.md explains the modes and the predictive estimate.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from dialerd.domain.pacing.config import PacingConfig, PacingMode
from dialerd.domain.pacing.floor import AgentState, Floor
from dialerd.domain.pacing.stats import PacingStats, Survival

# The abandon rate over a window is shrunk toward half the cap by this many human
# answers' worth of prior, so one early abandon does not read as a 50 % rate.
PRIOR_ANSWERS = 30.0
# Window rates count from this many known human answers on.
MIN_WINDOW_ANSWERS = 20


def dials_to_start(config: PacingConfig, floor: Floor, stats: PacingStats, cap: int) -> int:
    """Dials to start now, in [0, max(cap, 0)].

    broadcast: `cap` (the caller's caps alone pace the campaign). progressive:
    enough to keep `ratio` x ready agents' worth of dials in flight. predictive:
    `predictive()`, never fewer than progressive at ratio 1 would start.
    """
    cap = max(cap, 0)
    if config.mode is PacingMode.BROADCAST:
        return cap
    if config.mode is PacingMode.PROGRESSIVE:
        return min(cap, progressive(floor, config.ratio))
    return min(cap, predictive(config, floor, stats).dials)


def progressive(floor: Floor, ratio: float) -> int:
    """Top the dials in flight (and answered calls waiting) up to ratio x ready agents."""
    target = math.floor(ratio * floor.ready + 1e-9)
    return max(0, target - floor.in_flight - floor.waiting)


@dataclass(frozen=True, slots=True)
class Decision:
    """The predictive pacer's answer and why (for logs and the bench)."""

    dials: int
    reason: str  # predictive | over_cap | few_agents | scarce_data
    margin: float = 0.0  # standard deviations of safety used


def abandon_pressure(config: PacingConfig, stats: PacingStats) -> float:
    """The measured abandon rate as a fraction of the cap (window or day, the higher).

    Both rates are shrunk toward half the cap by `PRIOR_ANSWERS`, so little data
    pulls neither way hard.
    """
    cap = config.max_abandon_rate
    prior = 0.5 * cap * PRIOR_ANSWERS
    periods = (stats.window, stats.day)
    return max((r.abandoned + prior) / (r.outcomes + PRIOR_ANSWERS) for r in periods) / cap


def over_cap(config: PacingConfig, stats: PacingStats) -> bool:
    """The day's abandon rate, or the window's (from 20 answers on), has reached the cap."""
    cap = config.max_abandon_rate
    day, window = stats.day, stats.window
    if day.outcomes and day.abandon_rate >= cap:
        return True
    return window.outcomes >= MIN_WINDOW_ANSWERS and window.abandon_rate >= cap


def scarce(config: PacingConfig, stats: PacingStats) -> bool:
    return (
        stats.window.dials + stats.day.dials == 0
        or stats.day.dials < config.min_dials
        or stats.ring_human.n < config.min_human_answers
        or stats.talk.n < config.min_talks
        or stats.answer_rate <= 0
    )


def predictive(config: PacingConfig, floor: Floor, stats: PacingStats) -> Decision:
    """Dial ahead of agents becoming free, holding the abandon rate under its cap.

    Falls back to progressive (at `ratio`) while data is scarce or the team is
    small, and to progressive at ratio 1 (no customer waits without a ready agent)
    once the day's or the window's abandon rate reaches the cap.
    """
    base = progressive(floor, min(config.ratio, 1.0))
    if over_cap(config, stats):
        return Decision(base, "over_cap")
    if floor.working < config.min_agents:
        return Decision(progressive(floor, config.ratio), "few_agents")
    if scarce(config, stats):
        return Decision(progressive(floor, config.ratio), "scarce_data")
    margin = config.safety + config.safety_gain * abandon_pressure(config, stats) ** 2
    room = math.floor(config.max_lines_per_agent * floor.working) - floor.in_flight
    ahead = min(_dials_ahead(config, floor, stats, margin), room)
    return Decision(max(base, ahead, 0), "predictive", margin)


def _horizon(ring_human: Survival) -> float:
    """The time by which 99 % of human answers have come."""
    for i, s in enumerate(ring_human.tail):
        if s <= 0.01:
            return max(i * ring_human.width, ring_human.width)
    return len(ring_human.tail) * ring_human.width


def _dials_ahead(config: PacingConfig, floor: Floor, stats: PacingStats, z: float) -> int:
    """The most new dials for which, at every time t on the look-ahead grid,

        answers(t) + z * sd  <=  agents free by t + abandon_after

    (answers: the waiting calls, the expected human answers of the dials ringing
    and of the new ones; agents: the ready ones and those expected to finish
    their talk and wrap-up; sd: both sums' Bernoulli spread).
    """
    p = stats.answer_rate
    step, aa = config.step, config.abandon_after
    sh, so, talk, wrap = stats.ring_human, stats.ring_other, stats.talk, stats.wrap_up
    wrap_mean = wrap.mean if wrap.n else 0.0
    grid = [k * step for k in range(1, math.ceil(_horizon(sh) / step) + 1)]

    ringing = Counter(round(r / step) * step for r in floor.ringing)
    dials = []  # (count, ring time so far, P(still ringing) = p*sh(r) + (1-p)*so(r))
    for r, m in ringing.items():
        alive = p * sh(r) + (1 - p) * so(r)
        if alive > 1e-9:
            dials.append((m, r, alive))
    busy = Counter(
        (a.state, round(a.elapsed / step) * step)
        for a in floor.agents
        if a.state in (AgentState.RINGING, AgentState.TALKING, AgentState.WRAP_UP)
    )

    best: float = math.inf
    for t in grid:
        h = t + aa
        ey, vy = float(floor.ready), 0.0
        for (state, e), m in busy.items():
            if state is AgentState.WRAP_UP:
                f = wrap.ends_within(e, h)
            else:
                f = talk.ends_within(e if state is AgentState.TALKING else 0.0, h - wrap_mean)
            ey += m * f
            vy += m * f * (1 - f)
        ex, vx = float(floor.waiting), 0.0
        for m, r, alive in dials:
            q = p * (sh(r) - sh(r + t)) / alive
            ex += m * q
            vx += m * q * (1 - q)
        a = p * (1 - sh(t))
        if a <= 0:
            continue
        best = min(best, _most_new(a, ey - ex, vx + vy, z))
        if best <= 0:
            return 0
    return 0 if best == math.inf else int(best)


def _most_new(a: float, slack: float, var: float, z: float) -> float:
    """The largest n >= 0 with n*a + z*sqrt(var + n*a*(1-a)) <= slack (0 if none)."""
    if slack - z * math.sqrt(var) < 0:
        return 0.0
    b = a * (1 - a)
    if b <= 1e-12:
        return math.floor(slack - z * math.sqrt(var) + 1e-9)
    k = a / b
    u = (-z + math.sqrt(z * z + 4 * k * (slack + k * var))) / (2 * k)
    return math.floor(max(0.0, (u * u - var) / b) + 1e-9)
