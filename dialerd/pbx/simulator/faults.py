"""Fault injection switches for the AMI simulator; change them at any time, from any thread."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["JUNK", "Faults"]

# What a confused or newer Asterisk might send between messages: an event nobody
# knows, and a line that is not a header (it ends up in front of the next message).
JUNK = (
    b"Event: SimulatorUnknownEvent\r\nPrivilege: system,all\r\nDetail: injected\r\n\r\n",
    b"garbage line without a colon\r\n",
)


@dataclass
class Faults:
    """What goes wrong. ``hung``: read everything, answer nothing (pings go unanswered),
    send no events. ``drop_after_originates``: abort every client connection right
    after the N-th accepted Originate (calls go on, like in Asterisk).
    ``event_delay_s``: every call's events come that much later.
    ``interleave``: calls' event groups are written one loop turn at a time, so
    concurrent calls interleave even at time_scale 0. ``junk_rate``: chance of
    junk after each written message.
    """

    reject_login: bool = False
    hung: bool = False
    drop_after_originates: int | None = None
    event_delay_s: float = 0.0
    interleave: bool = False
    junk_rate: float = 0.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def junk(self) -> bytes:
        """Junk to write after a message, or b"" (per ``junk_rate``)."""
        if self.junk_rate <= 0 or self._rng.random() >= self.junk_rate:
            return b""
        return self._rng.choice(JUNK)
