"""AMI events joined to pending dials, and a dial's completion (pure; time is passed in).

The Originate assigns no channel ids (docs/asterisk.md, "Correlation"), so channels
carry Asterisk's own Uniqueids, and events are joined to a dial by: the
``DIALERD_ATTEMPT`` VarSet of a channel (the Originate's variable, set on the
originated channel and copied to a Local ``;2`` half), the Linkedid of an
already joined channel (every channel of the call carries the originated one's
Uniqueid), and the OriginateResponse, by its ActionID (= key), with its
Uniqueid naming the originated channel. Channels seen before they can be
joined (a Newchannel precedes its VarSet) wait as orphans.

Only :data:`CORRELATED_EVENTS` are read, and of the VarSet events only
:data:`KEPT_VARIABLES`. The AMI client's filters are built from these two sets
(``client.WANTED_EVENTS``, ``client.WANTED_VARIABLES``), so production receives
every event that a join path above needs; docs/asterisk.md gives the same
filter for manager.conf.

A dial is final when its final word (OriginateResponse event, or the reply to a
synchronous Originate) is known and every channel joined to it has hung up; if
no channel was ever joined, ``tick`` emits it ``settle_s`` after the final word.

Asterisk writes an OriginateResponse at once but queues the channel events, and an
overloaded Asterisk's queue falls seconds behind: a dial whose events were still
queued after ``settle_s`` would be emitted with none (``internal_failure``, not what
the PBX reported). So the wait grows with the lag seen: when a failed dial's last
Hangup comes after its OriginateResponse, that delay is the queue's lag, and a dial
without channels waits at least twice the largest lag of the last minute (at most
``MAX_SETTLE_S``).
The dials are registered through :class:`dialerd.pbx.ami.correlate.Correlator`,
built on :class:`EventJoiner`. Not thread-safe: the caller serialises access.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from dialerd.domain.ports import DialResult
from dialerd.pbx.ami.dialstate import Chan, Dial, build_signals

ATTEMPT_VARIABLE = "DIALERD_ATTEMPT"
SPOOL_FAILED_CHANNEL = "OutgoingSpoolFailed"
KEPT_VARIABLES = frozenset({"AMDSTATUS", "AMDCAUSE", "AGISTATUS", ATTEMPT_VARIABLE})
DEFAULT_SETTLE_S = 1.0
MAX_SETTLE_S = 30.0
LAG_FACTOR = 2.0  # a dial without channels waits this many times the lag seen lately
LAG_MEMORY_S = 60.0  # a lag is remembered this long
DEFAULT_MAX_ORPHANS = 10_000
# The only events the correlator reads: pass to AmiParser(only_events=...) or an AMI filter
# (with only_variables=KEPT_VARIABLES for the VarSet events).
CORRELATED_EVENTS = frozenset(
    {
        "Newchannel",
        "VarSet",
        "Newstate",
        "DialState",
        "DialEnd",
        "SoftHangupRequest",
        "Hangup",
        "OriginateResponse",
    }
)
# SoftHangupRequest's Cause is Asterisk's soft-hangup flag set; this bit is
# AST_SOFTHANGUP_SHUTDOWN: the PBX hangs the channel up because it is shutting down
# (`core stop now`, `core restart now`). It comes before the channel's Hangup.
SOFTHANGUP_SHUTDOWN = 4

Message = Mapping[str, str]  # an AmiMessage (a dict of first values) or any such mapping


class EventJoiner:
    """Joins AMI events to registered dials and emits one DialResult per finished dial."""

    def __init__(
        self,
        on_result: Callable[[DialResult], None],
        settle_s: float = DEFAULT_SETTLE_S,
        max_orphans: int = DEFAULT_MAX_ORPHANS,
    ) -> None:
        self._on_result = on_result
        self._settle_s = settle_s
        self._max_orphans = max_orphans
        self._dials: dict[str, Dial] = {}
        self._by_tag: dict[str, Dial] = {}
        self._chans: dict[str, Chan] = {}
        self._orphans: dict[str, Chan] = {}  # insertion-ordered: oldest evicted first
        self._orphans_by_link: dict[str, list[Chan]] = {}
        self._settling: dict[str, Dial] = {}
        self._lag: tuple[float, datetime] | None = None  # the largest lately, and when
        self._handlers: dict[str, Callable[[Message, datetime], None]] = {
            "Newchannel": self._on_newchannel,
            "VarSet": self._on_varset,
            "Newstate": self._on_newstate,
            "DialState": self._on_dialstate,
            "DialEnd": self._on_dialend,
            "SoftHangupRequest": self._on_softhangup,
            "Hangup": self._on_hangup,
            "OriginateResponse": self._on_originate_response,
        }

    # -- events -------------------------------------------------------------------
    def feed(self, msg: Message, now: datetime) -> None:
        """Take one AMI message; events that matter update their dial."""
        name = msg.get("Event")
        if name is not None:
            handler = self._handlers.get(name)
            if handler is not None:
                handler(msg, now)

    def tick(self, now: datetime) -> None:
        """Emit dials whose final word came with no channel, once settled."""
        wait = self.settle_s(now)
        for dial in list(self._settling.values()):
            if dial.final_at and (now - dial.final_at).total_seconds() >= wait:
                self._emit(dial, now)

    def settle_s(self, now: datetime) -> float:
        """How long a dial without channels waits after its final word now."""
        return max(self._settle_s, min(MAX_SETTLE_S, LAG_FACTOR * self._lately(now)))

    def _lately(self, now: datetime) -> float:
        lag = self._lag
        return lag[0] if lag and (now - lag[1]).total_seconds() <= LAG_MEMORY_S else 0.0

    def _saw_lag(self, dial: Dial, now: datetime) -> None:
        """A failed dial's last Hangup came after its OriginateResponse: the events' lag."""
        if dial.sync or dial.final_at is None or dial.response != "Failure":
            return
        lag = (now - dial.final_at).total_seconds()
        if lag > 0 and lag >= self._lately(now):
            self._lag = (lag, now)

    # -- joining ---------------------------------------------------------------
    def _dial_for(self, linkedid: str | None) -> Dial | None:
        root = self._chans.get(linkedid) if linkedid else None
        return root.dial if root is not None else None

    def _chan(self, msg: Message, prefix: str = "") -> Chan | None:
        """The channel an event is about (``prefix="Dest"`` for Dial* events)."""
        uid = msg.get(prefix + "Uniqueid")
        if not uid:
            return None
        chan = self._chans.get(uid)
        if chan is None:
            linkedid = msg.get(prefix + "Linkedid")
            dial = self._dial_for(linkedid)
            if dial is None:
                return None
            chan = self._new_chan(uid, msg.get(prefix + "Channel"), linkedid)
            self._attach(chan, dial)
        return chan

    def _new_chan(self, uid: str, name: str | None, linkedid: str | None) -> Chan:
        chan = Chan(uid, name, linkedid)
        self._chans[uid] = chan
        return chan

    def _attach(self, chan: Chan, dial: Dial) -> None:
        if chan.dial is not None:
            return
        chan.dial = dial
        self._drop_orphan(chan.uniqueid)
        dial.chans.append(chan)
        self._settling.pop(dial.key, None)
        uid, name = chan.uniqueid, chan.name or ""
        if uid == dial.orig_uniqueid or name.endswith(";1"):
            chan.role = "primary"
        elif name.endswith(";2"):
            chan.role = "callee"
        elif uid == chan.linkedid and not any(c.role == "primary" for c in dial.chans):
            chan.role = "primary"
        related = list(self._orphans_by_link.get(uid, ()))
        root = self._orphans.get(chan.linkedid or "")
        if root is not None:
            related.append(root)
        for other in related:
            self._attach(other, dial)

    # -- event handlers -----------------------------------------------------------
    def _on_newchannel(self, msg: Message, now: datetime) -> None:
        uid, name = msg.get("Uniqueid"), msg.get("Channel")
        if not uid or name == SPOOL_FAILED_CHANNEL or uid in self._chans:
            return
        linkedid = msg.get("Linkedid")
        chan = self._new_chan(uid, name, linkedid)
        dial = self._dial_for(linkedid)
        if dial is not None:
            self._attach(chan, dial)
            return
        self._orphans[uid] = chan
        if linkedid:
            self._orphans_by_link.setdefault(linkedid, []).append(chan)
        while len(self._orphans) > self._max_orphans:
            self._drop_orphan(next(iter(self._orphans)), forget=True)

    def _drop_orphan(self, uid: str, forget: bool = False) -> None:
        chan = self._orphans.pop(uid, None)
        if chan is None:
            return
        if forget:
            self._chans.pop(uid, None)
        siblings = self._orphans_by_link.get(chan.linkedid or "")
        if siblings is not None:
            siblings.remove(chan)
            if not siblings:
                del self._orphans_by_link[chan.linkedid or ""]

    def _on_varset(self, msg: Message, now: datetime) -> None:
        variable = msg.get("Variable")
        if variable not in KEPT_VARIABLES or msg.get("Channel") == SPOOL_FAILED_CHANNEL:
            return
        value = msg.get("Value") or ""
        chan = self._chan(msg)
        if variable == ATTEMPT_VARIABLE:
            dial = self._by_tag.get(value)
            if dial is None:
                return
            if chan is None:
                uid = msg.get("Uniqueid")
                if not uid:
                    return
                chan = self._new_chan(uid, msg.get("Channel"), msg.get("Linkedid"))
            self._attach(chan, dial)
        if chan is not None:
            chan.variables[variable] = value

    def _on_newstate(self, msg: Message, now: datetime) -> None:
        chan = self._chan(msg)
        if chan is None:
            return
        state = msg.get("ChannelStateDesc")
        if state == "Ringing":
            chan.rang = True
        elif state == "Up" and chan.up_at is None:
            chan.up_at = now

    def _on_dialstate(self, msg: Message, now: datetime) -> None:
        chan = self._chan(msg, "Dest")
        if chan is not None and msg.get("DialStatus") == "RINGING":
            chan.rang = True

    def _on_dialend(self, msg: Message, now: datetime) -> None:
        chan = self._chan(msg, "Dest")
        if chan is not None:
            chan.dial_status = msg.get("DialStatus")

    def _on_softhangup(self, msg: Message, now: datetime) -> None:
        try:
            flags = int(msg.get("Cause") or "0")
        except ValueError:
            return
        if flags & SOFTHANGUP_SHUTDOWN:
            chan = self._chan(msg)
            if chan is not None and chan.dial is not None:
                chan.dial.shutdown = True

    def _on_hangup(self, msg: Message, now: datetime) -> None:
        uid = msg.get("Uniqueid")
        if uid in self._orphans:
            self._drop_orphan(uid, forget=True)
            return
        chan = self._chan(msg)
        if chan is None or chan.hung_at is not None:
            return
        chan.hung_at, chan.cause, chan.cause_txt = now, msg.get("Cause"), msg.get("Cause-txt")
        if chan.dial is not None:
            self._check(chan.dial, now)

    def _on_originate_response(self, msg: Message, now: datetime) -> None:
        dial = self._dials.get(msg.get("ActionID") or "")
        if dial is None or dial.final_at is not None:
            return
        dial.final_at = now
        dial.response, dial.reason = msg.get("Response"), msg.get("Reason")
        dial.orig_channel = msg.get("Channel")
        uid = msg.get("Uniqueid")
        if uid and uid != "<unknown>":
            dial.orig_uniqueid = uid
            chan = self._chans.get(uid)
            if chan is not None:
                self._attach(chan, dial)
                chan.role = "primary"
        self._check(dial, now)

    # -- completion ------------------------------------------------------------------
    def _check(self, dial: Dial, now: datetime) -> None:
        if dial.final_at is None:
            return
        if not dial.chans:
            self._settling[dial.key] = dial
        elif all(c.hung_at is not None for c in dial.chans):
            self._saw_lag(dial, now)
            self._emit(dial, now)

    def _emit(self, dial: Dial, now: datetime) -> None:
        self._on_result(self._forget(dial, now))

    def _forget(self, dial: Dial, now: datetime) -> DialResult:
        self._dials.pop(dial.key, None)
        if self._by_tag.get(dial.tag) is dial:
            del self._by_tag[dial.tag]
        self._settling.pop(dial.key, None)
        for chan in dial.chans:
            self._chans.pop(chan.uniqueid, None)
        return DialResult(dial.key, dial.attempt_id, build_signals(dial, now))
