"""How a campaign paces its dials: the mode and its knobs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class PacingMode(StrEnum):
    BROADCAST = "broadcast"  # caps only: IVR flows, no agents (the default)
    PROGRESSIVE = "progressive"  # dials in flight <= ratio x agents ready
    PREDICTIVE = "predictive"  # dials ahead of agents becoming free, under an abandon cap


@dataclass(frozen=True, slots=True)
class PacingConfig:
    """A campaign's pacing. Times in seconds; rates as fractions (0.03 = 3 %)."""

    mode: PacingMode = PacingMode.BROADCAST
    ratio: float = 1.0  # progressive: lines per ready agent
    max_abandon_rate: float = 0.03  # abandoned / human answers, per rolling window and per day
    abandon_after: float = 2.0  # an answered call no agent takes within this is abandoned
    # predictive falls back to progressive below these:
    min_agents: int = 4  # agents logged in (ready, ringing, talking, wrapping up)
    min_dials: int = 100  # finished dials measured
    min_human_answers: int = 20  # human answers measured (ring times of answered calls)
    min_talks: int = 20  # finished talks measured
    max_lines_per_agent: float = 3.0  # predictive: dials in flight per logged-in agent, at most
    # predictive: the abandon risk a new dial may carry, as a multiple of max_abandon_rate;
    # scaled by 1 - pressure ** risk_curve (pressure: measured rate / cap)
    dial_risk: float = 0.4
    risk_curve: float = 1.0
    step: float = 1.0  # predictive: the look-ahead grid, seconds

    def __post_init__(self) -> None:
        checks = (
            ("ratio", self.ratio > 0),
            ("max_abandon_rate", 0 < self.max_abandon_rate < 1),
            ("abandon_after", self.abandon_after >= 0),
            ("min_agents", self.min_agents >= 1),
            ("min_dials", self.min_dials >= 0),
            ("min_human_answers", self.min_human_answers >= 1),
            ("min_talks", self.min_talks >= 1),
            ("max_lines_per_agent", self.max_lines_per_agent >= 1),
            ("dial_risk", self.dial_risk > 0),
            ("risk_curve", self.risk_curve > 0),
            ("step", self.step > 0),
        )
        for name, ok in checks:
            if not ok:
                raise ValueError(f"{name}: out of range ({getattr(self, name)!r})")
