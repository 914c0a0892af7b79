"""What the engine keeps in memory per campaign: its rules, never its contacts."""

from __future__ import annotations

from dataclasses import dataclass

from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.callerid import CallerIdRules
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

    @property
    def timezone(self) -> str:
        return self.calendar.timezone
