"""Helpers shared by the AMI tests."""

from __future__ import annotations

from dialerd.domain.ports import PbxSignals


def signal_fields(s: PbxSignals) -> tuple[object, ...]:
    """What a dial's classification rests on, to compare with the transcripts README's tables."""
    return (
        s.originate_response,
        s.reason,
        s.hangup_cause,
        s.callee_cause,
        s.dial_status,
        s.rang,
        s.amd_status,
        s.answered_at is not None,
    )
