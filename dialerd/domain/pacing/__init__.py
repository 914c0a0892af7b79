"""Pacing: how many dials to start now so that answered customers find an agent.

Pure code (no I/O, no clock): see `pacer.dials_to_start()` and docs/pacing.md.
"""

from dialerd.domain.pacing.config import PacingConfig, PacingMode
from dialerd.domain.pacing.floor import Agent, AgentState, Floor
from dialerd.domain.pacing.pacer import Decision, dials_to_start, predictive, progressive
from dialerd.domain.pacing.stats import CallStats, PacingStats, Rates, Survival

__all__ = [
    "Agent",
    "AgentState",
    "CallStats",
    "Decision",
    "Floor",
    "PacingConfig",
    "PacingMode",
    "PacingStats",
    "Rates",
    "Survival",
    "dials_to_start",
    "predictive",
    "progressive",
]
