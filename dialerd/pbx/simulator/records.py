"""What the simulator remembers for tests: client bytes and accepted Originates."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["OriginateRecord", "SessionRecord"]


@dataclass
class OriginateRecord:
    """One Originate the simulator accepted, as the client sent it."""

    action_id: str | None
    channel: str
    channel_id: str | None
    other_channel_id: str | None
    caller_id: str | None
    timeout_ms: int
    variables: list[tuple[str, str]]
    is_async: bool
    template: str
    headers: list[tuple[str, str]]


@dataclass
class SessionRecord:
    """One client connection: every byte it sent, and its state."""

    id: int
    peer: str
    received: bytearray = field(default_factory=bytearray)
    logged_in: bool = False
    events_on: bool = True
    closed: bool = False
