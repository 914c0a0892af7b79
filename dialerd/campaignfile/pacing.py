"""``[pacing]``: how dials are paced, by agents of an Asterisk queue unless broadcast."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from dialerd.campaignfile.durations import Duration
from dialerd.campaignfile.fields import Strict

QUEUE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


def _queue_name(value: str) -> str:
    if not QUEUE_NAME.fullmatch(value):
        raise PydanticCustomError(
            "queue",
            'queue "{value}" is not an Asterisk queue name (letters, digits, _ . -; at most 80)',
            {"value": value[:100]},
        )
    return value


QueueName = Annotated[str, AfterValidator(_queue_name)]


class Pacing(Strict):
    """``[pacing]``: how dials are paced; by agents of an Asterisk queue unless broadcast."""

    mode: Literal["broadcast", "progressive", "predictive"] = "broadcast"
    queue: QueueName | None = None
    ratio: float = Field(1.0, gt=0, le=10)
    max_abandon_rate: float = Field(0.03, gt=0, lt=1)
    abandon_after: Duration = timedelta(seconds=2)

    @field_validator("abandon_after")
    @classmethod
    def _abandon_after(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(minutes=1):
            raise PydanticCustomError("abandon_after", "abandon_after must be between 1s and 1m")
        return value

    @model_validator(mode="after")
    def _queue_needed(self) -> Self:
        if self.mode != "broadcast" and self.queue is None:
            raise PydanticCustomError(
                "pacing_queue",
                'mode = "{mode}" paces by agents: name their queue (queue = "callback-team")',
                {"mode": self.mode, "at": "mode"},
            )
        return self
