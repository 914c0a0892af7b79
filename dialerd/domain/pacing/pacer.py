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
from collections.abc import Callable
from dataclasses import dataclass

from dialerd.domain.pacing.config import PacingConfig, PacingMode
from dialerd.domain.pacing.floor import AgentState, Floor
from dialerd.domain.pacing.stats import PacingStats, Survival

# The abandon rate over a window is shrunk toward half the cap by this many human
# answers' worth of prior, so one early abandon does not read as a 50 % rate.
PRIOR_ANSWERS = 30.0


def dials_to_start(config: PacingConfig, floor: Floor, stats: PacingStats, cap: int) -> int:
    """Dials to start now, in [0, max(cap, 0)].

    broadcast: `cap` (the caller's caps alone pace the campaign). progressive:
    enough to keep `ratio` x ready agents' worth of dials in flight. predictive:
    `predictive()`, never fewer than progressive at `ratio` would start (at most
    ratio 1 once the abandon cap is reached).
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
    risk: float = 0.0  # the abandon risk allowed to each new dial


def abandon_pressure(config: PacingConfig, stats: PacingStats) -> float:
    """The measured abandon rate as a fraction of the cap (window or day, the higher).

    Both rates are shrunk toward half the cap by `PRIOR_ANSWERS`, so little data
    pulls neither way hard.
    """
    cap = config.max_abandon_rate
    prior = 0.5 * cap * PRIOR_ANSWERS
    periods = (stats.window, stats.day)
    return max((r.abandoned + prior) / (r.outcomes + PRIOR_ANSWERS) for r in periods) / cap


def dial_risk(config: PacingConfig, stats: PacingStats) -> float:
    """The abandon risk a new dial may carry: `dial_risk` x the cap, less as the rate nears it."""
    pressure = min(abandon_pressure(config, stats), 1.0)
    return (
        config.max_abandon_rate * config.dial_risk * (1.0 - math.pow(pressure, config.risk_curve))
    )


def over_cap(config: PacingConfig, stats: PacingStats) -> bool:
    """The day's abandon rate, or the window's (shrunk as in `abandon_pressure`), is at the cap."""
    cap = config.max_abandon_rate
    day, window = stats.day, stats.window
    if day.outcomes and day.abandon_rate >= cap:
        return True
    prior = 0.5 * cap * PRIOR_ANSWERS
    return (window.abandoned + prior) / (window.outcomes + PRIOR_ANSWERS) >= cap


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

    Never fewer dials than progressive at `ratio`; exactly that while data is
    scarce or the team is small; progressive at ratio 1 at most (no customer
    waits without a ready agent) once the day's or the window's abandon rate
    reaches the cap.
    """
    if over_cap(config, stats):
        return Decision(progressive(floor, min(config.ratio, 1.0)), "over_cap")
    base = progressive(floor, config.ratio)
    if floor.working < config.min_agents:
        return Decision(base, "few_agents")
    if scarce(config, stats):
        return Decision(base, "scarce_data")
    risk = dial_risk(config, stats)
    room = math.floor(config.max_lines_per_agent * floor.working) - floor.in_flight
    ahead = min(_dials_ahead(config, floor, stats, risk), room)
    return Decision(max(base, ahead, 0), "predictive", risk)


def _horizon(ring_human: Survival) -> float:
    """The time by which 99 % of human answers have come."""
    for i, s in enumerate(ring_human.tail):
        if s <= 0.01:
            return max(i * ring_human.width, ring_human.width)
    return len(ring_human.tail) * ring_human.width


def _dials_ahead(config: PacingConfig, floor: Floor, stats: PacingStats, risk: float) -> int:
    """The most new dials, each of which would meet an agent with probability >= 1 - risk.

    On a look-ahead grid of times t after now, with the answered calls waiting, the
    expected human answers of the dials ringing and the agents expected to finish
    their talk and wrap-up:

        X(t) = answers by t,   Y(t) = agents free by t + abandon_after

    (sums of Bernoulli trials; mean and variance). A new dial answered at t is
    abandoned when X(t) >= Y(t): P ~ Phi((E[X] - E[Y] + 0.5) / sd). Its risk is that
    probability averaged over when a person answers (the measured ring times); the
    j-th new dial sees the j - 1 before it among the answers. The result is the
    number of new dials whose risk stays within `risk`.
    """
    p, sh = stats.answer_rate, stats.ring_human
    times, weights = _answer_grid(sh, config.step)
    ey, vy = _agents_free(config, floor, stats, times)
    ex, vx = _answers_by(config, floor, stats, times)
    points = [
        (w, ex[i] - ey[i], vx[i] + vy[i], p * (1 - sh(times[i]))) for i, w in enumerate(weights)
    ]
    total = sum(w for w, _, _, _ in points)
    if total <= 0:
        return 0

    def risk_of(j: int) -> float:
        """The abandon risk of a new dial with j new dials before it."""
        acc = 0.0
        for w, gap, var, a in points:
            sd = math.sqrt(var + j * a * (1 - a) + 0.25)
            acc += w * _phi((gap + j * a + 0.5) / sd)
        return acc / total

    return _most_within(risk_of, risk)


def _answer_grid(sh: Survival, step: float) -> tuple[list[float], list[float]]:
    """Grid times, each with P(a person answers in the step before it | a person answers)."""
    times: list[float] = []
    weights: list[float] = []
    before = 1.0
    for k in range(1, math.ceil(_horizon(sh) / step) + 1):
        after = sh(k * step)
        if before - after > 1e-6:
            times.append(k * step)
            weights.append(before - after)
        before = after
    return times, weights


def _agents_free(
    config: PacingConfig, floor: Floor, stats: PacingStats, times: list[float]
) -> tuple[list[float], list[float]]:
    """Mean and variance of the agents free by each t + abandon_after."""
    step, aa = config.step, config.abandon_after
    talk, wrap = stats.talk, stats.wrap_up
    wrap_mean = wrap.mean if wrap.n else 0.0
    ey = [float(floor.ready)] * len(times)
    vy = [0.0] * len(times)
    busy = Counter(
        (a.state, round(a.elapsed / step) * step)
        for a in floor.agents
        if a.state in (AgentState.RINGING, AgentState.TALKING, AgentState.WRAP_UP)
    )
    for (state, e), m in busy.items():
        # P(free by t + aa) = 1 - S(e + t + aa - lag) / S(e); after a talk comes wrap-up
        dist, lag = (wrap, 0.0) if state is AgentState.WRAP_UP else (talk, wrap_mean)
        e = e if state is not AgentState.RINGING else 0.0
        for i, t in enumerate(times):
            f = dist.ends_within(e, t + aa - lag)
            ey[i] += m * f
            vy[i] += m * f * (1 - f)
    return ey, vy


def _answers_by(
    config: PacingConfig, floor: Floor, stats: PacingStats, times: list[float]
) -> tuple[list[float], list[float]]:
    """Mean and variance of the calls answered by each t: those waiting and those ringing."""
    p, sh, so, step = stats.answer_rate, stats.ring_human, stats.ring_other, config.step
    ex = [float(floor.waiting)] * len(times)
    vx = [0.0] * len(times)
    for r, m in Counter(round(r / step) * step for r in floor.ringing).items():
        alive = p * sh(r) + (1 - p) * so(r)
        if alive <= 1e-9:
            continue
        start_h = sh(r)
        for i, t in enumerate(times):
            q = p * (start_h - sh(r + t)) / alive
            ex[i] += m * q
            vx[i] += m * q * (1 - q)
    return ex, vx


def _most_within(risk_of: Callable[[int], float], risk: float) -> int:
    """The most new dials whose risk (non-decreasing in j) stays within ``risk``."""
    if risk_of(0) > risk:
        return 0
    lo, hi = 0, 1  # risk_of(lo) <= risk; grow hi until it fails
    while risk_of(hi) <= risk:
        lo, hi = hi, hi * 2
        if hi > 100_000:
            return hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if risk_of(mid) <= risk:
            lo = mid
        else:
            hi = mid
    return lo + 1


def _phi(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))
