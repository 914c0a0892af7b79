"""What the engine keeps in memory per campaign: its rules, never its contacts."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.callerid import CallerIdRules
from dialerd.domain.pacing import PacingConfig
from dialerd.domain.policy import DialPolicy
from dialerd.domain.ports import AnsweredTarget


@dataclass(frozen=True)
class CampaignRuntime:
    """A loaded campaign's rules, as the dispatcher and the result writer use them."""

    id: int
    name: str
    policy: DialPolicy
    calendar: CallingCalendar
    caller_ids: CallerIdRules
    answered: AnsweredTarget
    record: bool = False
    max_concurrent: int = 10
    calls_per_second: float = 1.0
    priority: int = 0
    weight: int = 1
    dial_prefix: str = ""
    pacing: PacingConfig = field(default_factory=PacingConfig)  # default broadcast: caps only
    queue: str | None = None  # the agents' Asterisk queue, unless broadcast

    @property
    def timezone(self) -> str:
        return self.calendar.timezone

    def paced(self, overrides: Mapping[str, int | float] | None) -> CampaignRuntime:
        """This runtime with an operator's pace overrides (``dialerd campaign set``) applied."""
        pace = {k: v for k, v in (overrides or {}).items() if k in PACE_KEYS}
        return dataclasses.replace(self, **pace) if pace else self  # type: ignore[arg-type]


PACE_KEYS = frozenset({"max_concurrent", "calls_per_second", "priority", "weight"})
