"""Correlation: AMI events -> one PbxSignals per dial (pure; time is passed in).

A dial is registered with ``expect`` before its Originate is written; the events
are joined to it by :class:`dialerd.pbx.ami.joins.EventJoiner` (the join paths,
orphans, completion). The adapter's other inputs are here: the reply to a
synchronous Originate (``sync_response``), the PBX's channel list (``listed_up``,
``adopted``, ``bind``) and expiry, which is the adapter's decision
(``pending``/``expire``). Not thread-safe: the caller serialises access.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from dialerd.domain.ports import DialResult
from dialerd.pbx.ami.dialstate import Dial, PendingDial
from dialerd.pbx.ami.joins import (
    ATTEMPT_VARIABLE,
    CORRELATED_EVENTS,
    KEPT_VARIABLES,
    EventJoiner,
    Message,
)

__all__ = [
    "ATTEMPT_VARIABLE",
    "CORRELATED_EVENTS",
    "KEPT_VARIABLES",
    "Correlator",
    "Message",
    "PendingDial",
]


class Correlator(EventJoiner):
    """Joins AMI events to registered dials and emits one DialResult per dial."""

    # -- registration and adapter-side inputs ---------------------------------
    def expect(
        self,
        key: str,
        attempt_id: int,
        ring_timeout_s: float,
        started_at: datetime,
        attempt_tag: str | None = None,
    ) -> None:
        """Register a dial before its Originate is sent.

        ``attempt_tag`` is the DIALERD_ATTEMPT value sent (default ``str(attempt_id)``).
        """
        if key in self._dials:
            raise ValueError(f"dial {key!r} is already pending")
        dial = Dial(key, attempt_id, attempt_tag or str(attempt_id), ring_timeout_s, started_at)
        self._dials[key] = dial
        self._by_tag[dial.tag] = dial

    def sync_response(self, key: str, response: str, message: str | None, now: datetime) -> None:
        """The reply to an Originate that is the dial's final word (sync, or a refusal)."""
        dial = self._dials.get(key)
        if dial is None or dial.final_at is not None:
            return
        dial.response, dial.message, dial.sync, dial.final_at = response, message, True, now
        self._check(dial, now)

    def pending(self) -> list[PendingDial]:
        """Every dial not emitted yet."""
        return [
            PendingDial(
                d.key,
                d.attempt_id,
                d.started_at,
                d.ring_timeout_s,
                d.final_at is not None,
                sum(1 for c in d.chans if c.hung_at is None),
            )
            for d in self._dials.values()
        ]

    def answered(self, key: str) -> bool:
        """Whether the PBX said a pending dial was answered (Reason 4, or a channel Up)."""
        dial = self._dials.get(key)
        return dial is not None and (
            dial.reason == "4"
            or dial.answered_at is not None
            or any(c.up_at is not None for c in dial.chans)
        )

    def listed_up(self, key: str, at: datetime) -> None:
        """The PBX's channel list shows a pending dial's originated channel Up: answered."""
        dial = self._dials.get(key)
        if dial is not None and dial.answered_at is None:
            dial.answered_at = at

    def adopted(self, key: str, at: datetime, *, up: bool, ringing: bool) -> None:
        """A dial an earlier run started, as the PBX's channel list shows it now.

        Its start and the events before ``at`` are unknown: no timing is inferred.
        """
        dial = self._dials.get(key)
        if dial is None:
            return
        dial.adopted = True
        dial.rang = dial.rang or ringing or up
        if up:
            self.listed_up(key, at)

    @property
    def tracked_channels(self) -> int:
        """Channels held in memory (joined to a pending dial, or orphans waiting for one)."""
        return len(self._chans)

    def bind(self, key: str, channels: Iterable[Message]) -> None:
        """Join live channels listed by ``CoreShowChannels`` to a pending dial.

        For a dial whose joining events were lost (an outage) or seen by an earlier
        run (adoption): its later events then join by Uniqueid and Linkedid.
        """
        dial = self._dials.get(key)
        if dial is None:
            return
        for row in channels:
            uid = row.get("Uniqueid")
            if uid:
                chan = self._chans.get(uid) or self._new_chan(
                    uid, row.get("Channel"), row.get("Linkedid")
                )
                self._attach(chan, dial)

    def expire(self, key: str, now: datetime) -> DialResult | None:
        """Forget a dial and return what was collected for it (None if unknown)."""
        dial = self._dials.get(key)
        if dial is None:
            return None
        return self._forget(dial, now)
