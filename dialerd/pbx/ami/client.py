"""dialerd's small AMI client over pyst2: one connection, one send lock, deadlines everywhere.

One :class:`AmiClient` is one TCP connection (pyst2 cannot reconnect an object;
the adapter builds a new client per connection). Every action goes through one
lock and carries our own ActionID. The reader thread
(:class:`~dialerd.pbx.ami.pyst2_fixes.DialerdManager`) parses what arrives with
:class:`~dialerd.pbx.ami.protocol.AmiParser`, and a
:class:`~dialerd.pbx.ami.routing.Router` hands replies over by ActionID (never
FIFO, except the Login through pyst2's ``send_action``) and events in batches.
Originates are pipelined: ``send_nowait`` queues the bytes for a writer thread
(one ``sendall`` per burst) and returns; the reply is handed to a callback. With
a ``pace`` (the PBX's calls per second), actions sent ``paced`` (the Originates)
leave evenly at that rate, a few milliseconds' worth at a time, instead of a
tick's worth at once: Asterisk sets up a burst of calls with its threads
contending for channel locks, and spends less CPU a call on an even stream
(BENCHMARKS.md, "Against a real Asterisk"). Other actions never wait behind them.
Synchronous actions wait with ``action_timeout_s``; a missed deadline cuts the
socket (``shutdown(SHUT_RDWR)``), which releases every waiter, and the link
counts as dead.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Collection, Sequence

from asterisk.manager import ManagerException

from dialerd.errors import TelephonyUnavailable
from dialerd.pbx.ami.correlate import CORRELATED_EVENTS, KEPT_VARIABLES
from dialerd.pbx.ami.pacer import Pacer
from dialerd.pbx.ami.protocol import AmiMessage, format_action
from dialerd.pbx.ami.pyst2_fixes import DialerdManager
from dialerd.pbx.ami.queues import QUEUE_EVENTS
from dialerd.pbx.ami.routing import EventsHandler, Router
from dialerd.settings import AmiSettings

#: Login event classes: system (Shutdown, FullyBooted: a PBX going away or back), call
#: (OriginateResponse, Hangup, Dial*, Newstate, SoftHangupRequest...), user (UserEvent),
#: dialplan (VarSet: AMDSTATUS, AMDCAUSE, DIALERD_ATTEMPT), agent (the queue events:
#: QueueMemberStatus, AgentConnect, QueueCallerJoin...). Asterisk sends only the classes
#: the manager.conf user may read; a class the user lacks is simply not sent.
EVENT_CLASSES = "system,call,user,dialplan,agent"
#: Events dialerd reads: what the correlator joins, the queue tracker's, the list
#: actions' rows, and the link's own. The parser drops every other one before decoding it.
WANTED_EVENTS = (
    CORRELATED_EVENTS
    | QUEUE_EVENTS
    | {
        "UserEvent",
        "FullyBooted",
        "Shutdown",
        "CoreShowChannel",
        "CoreShowChannelsComplete",
    }
)
#: VarSet events dialerd reads: exactly those the correlator keeps.
WANTED_VARIABLES = KEPT_VARIABLES

Headers = Sequence[tuple[str, str]]


def encode_action(action: str, headers: Headers) -> bytes:
    """``format_action`` with a one-pass check: the hot path for pipelined Originates.

    The text must hold exactly one CR and one LF per line and no NUL; anything
    else (a CR or LF inside a value) goes to ``format_action``, which names it.
    """
    text = "".join([f"Action: {action}\r\n", *(f"{k}: {v}\r\n" for k, v in headers), "\r\n"])
    lines = len(headers) + 2
    if text.count("\r") != lines or text.count("\n") != lines or "\0" in text:
        return format_action(action, headers)  # raises UnsafeDialInput naming the header
    return text.encode("utf-8")


class AmiLinkDown(TelephonyUnavailable):
    """The AMI link is down or did not answer in time."""


class AmiLoginRejected(AmiLinkDown):
    """Asterisk refused the AMI username or secret."""


class AmiClient:
    """One authenticated AMI connection (build a new one to reconnect)."""

    def __init__(
        self,
        settings: AmiSettings,
        on_events: EventsHandler,
        wanted_events: Collection[str] | None = WANTED_EVENTS,
        wanted_variables: Collection[str] | None = WANTED_VARIABLES,
        pace: float | None = None,
    ) -> None:
        """``pace``: paced actions per second (None: they leave as soon as queued)."""
        self._pacer = Pacer(pace) if pace is not None else None
        self._settings = settings
        self._router = router = Router(on_events, unclaimed=lambda reply: manager.fifo(reply))
        self._manager = manager = DialerdManager(router.dispatch, wanted_events, wanted_variables)
        self._send_lock = threading.Lock()
        self._wqueue: deque[bytes] = deque()
        self._pqueue: deque[bytes] = deque()  # paced actions, in order
        self._wready = threading.Event()
        self._wake_pending = False
        self._closing = False
        self._writer = threading.Thread(target=self._write_loop, name="ami-writer", daemon=True)
        self._ids = itertools.count(1)
        self._prefix = f"dialerd-{uuid.uuid4().hex[:8]}-"
        self.peer = f"{settings.host}:{settings.port}"

    # -- lifecycle ---------------------------------------------------------------
    def connect(self) -> None:
        """TCP connect, greeting, Login with our event mask; raises AmiLinkDown/AmiLoginRejected."""
        s = self._settings
        fields = [
            ("ActionID", self._next_id()),
            ("Username", s.username),
            ("Secret", s.secret.get_secret_value()),
            ("Events", EVENT_CLASSES),
        ]
        format_action("Login", fields)  # refuses CR/LF in the username or secret, unsent
        try:
            self._manager.connect(s.host, s.port, timeout=s.connect_timeout_s)
        except ManagerException as exc:
            self._manager.close()
            raise AmiLinkDown(f"cannot connect to AMI at {self.peer}: {exc}") from exc
        self._login(fields)
        self._writer.start()

    def _login(self, fields: list[tuple[str, str]]) -> None:
        """pyst2's ``send_action`` (FIFO is safe: nothing else is in flight) with a deadline."""
        s = self._settings
        # Asterisk answers a wrong secret after 1 s; allow for it on top of the deadline.
        watchdog = threading.Timer(s.action_timeout_s + 1.0, self._manager.abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            reply: AmiMessage = self._manager.send_action({"Action": "Login", **dict(fields)})
        except ManagerException as exc:
            self._manager.close()
            raise AmiLinkDown(f"AMI login to {self.peer} got no answer: {exc}") from exc
        finally:
            watchdog.cancel()
        if reply.get("Response") != "Success":
            self._manager.close()
            raise AmiLoginRejected(f"AMI login rejected by {self.peer}")

    def connected(self) -> bool:
        return bool(self._manager.connected())

    def close(self) -> None:
        """Best-effort Logoff, then cut and release the connection; never blocks long."""
        manager = self._manager
        self._closing = True
        self._wready.set()
        if manager.connected() and self._send_lock.acquire(timeout=0.2):
            try:
                manager.send_raw(format_action("Logoff", [("ActionID", self._next_id())]))
            except ManagerException:
                pass
            finally:
                self._send_lock.release()
        manager.close()

    @property
    def bytes_received(self) -> int:
        return int(self._manager.bytes_received)

    # -- actions -------------------------------------------------------------------
    def send_nowait(
        self,
        action: str,
        headers: Headers,
        action_id: str,
        on_reply: Callable[[AmiMessage], None],
        *,
        paced: bool = False,
    ) -> None:
        """Queue one action for the writer; ``on_reply`` gets its response on the reader thread.

        ``paced``: it leaves at the client's pace, after the paced actions queued before it.
        """
        payload = encode_action(action, [("ActionID", action_id), *headers])
        self._router.expect(action_id, on_reply)
        try:
            self._write(payload, self._pqueue if paced and self._pacer else self._wqueue)
        except AmiLinkDown:
            self._router.forget(action_id)
            raise

    def request(self, action: str, headers: Headers, timeout: float | None = None) -> AmiMessage:
        """Send one action and wait for its response (matched by ActionID)."""
        action_id = self._next_id()
        done = threading.Event()
        box: list[AmiMessage] = []

        def on_reply(message: AmiMessage) -> None:
            box.append(message)
            done.set()

        self.send_nowait(action, headers, action_id, on_reply)
        self._await(done, action, action_id, timeout)
        return box[0]

    def collect(self, action: str, headers: Headers, complete_event: str) -> list[AmiMessage]:
        """Run a list action (e.g. CoreShowChannels) and return its events.

        Its events must be among the wanted ones. The rows are complete when every
        event sent before the list has been handed to ``on_events``.
        """
        action_id = self._next_id()
        done = threading.Event()
        rows: list[AmiMessage] = []
        errors: list[str] = []

        def on_reply(message: AmiMessage) -> None:
            if message.get("Response") != "Success":
                errors.append(message.get("Message") or "refused")
                done.set()

        def on_event(event: AmiMessage) -> bool:
            if event.name == complete_event:
                done.set()
                return True
            rows.append(event)
            return False

        self._router.expect_list(action_id, on_event)
        self.send_nowait(action, headers, action_id, on_reply)
        self._await(done, action, action_id, None)
        if errors:
            raise AmiLinkDown(f"AMI {action} refused by {self.peer}: {errors[0]}")
        return rows

    def getvars(self, pairs: Sequence[tuple[str, str]]) -> list[str]:
        """Read one variable per channel (pipelined ``Getvar``s); "" when unset or gone."""
        if not pairs:
            return []
        values = [""] * len(pairs)
        left = [len(pairs)]
        done = threading.Event()
        lock = threading.Lock()
        ids = [self._next_id() for _ in pairs]

        def reply_to(index: int) -> Callable[[AmiMessage], None]:
            def on_reply(message: AmiMessage) -> None:
                if message.get("Response") == "Success":
                    values[index] = message.get("Value") or ""
                with lock:
                    left[0] -= 1
                    if not left[0]:
                        done.set()

            return on_reply

        for index, ((channel, variable), action_id) in enumerate(zip(pairs, ids, strict=True)):
            headers = [("Channel", channel), ("Variable", variable)]
            self.send_nowait("Getvar", headers, action_id, reply_to(index))
        try:
            self._await(done, "Getvar", ids[-1], None)
        finally:
            for action_id in ids:
                self._router.forget(action_id)
        return values

    def ping(self) -> None:
        """Ping with the action deadline; raises AmiLinkDown when unanswered."""
        self.request("Ping", [])

    # -- internals -------------------------------------------------------------------
    def _next_id(self) -> str:
        return f"{self._prefix}{next(self._ids)}"

    def _write(self, payload: bytes, queue: deque[bytes]) -> None:
        """Queue bytes for the writer thread: a burst of actions goes out in one ``sendall``.

        Lock-free on the caller's side (``deque.append`` is atomic); the writer is
        woken once per burst, not once per action.
        """
        if self._closing or not self._manager.connected():
            raise AmiLinkDown(f"AMI link to {self.peer} is down")
        queue.append(payload)
        if not self._wake_pending:
            self._wake_pending = True
            self._wready.set()

    def _write_loop(self) -> None:
        """Writer thread: send what is queued under the send lock, the paced queue at the
        pacer's pace; a failed write cuts the link."""
        queue, paced, pacer = self._wqueue, self._pqueue, self._pacer
        wait: float | None = None
        while not self._closing:
            self._wready.wait(wait)
            self._wready.clear()
            self._wake_pending = False  # appends from now on wake us again
            while queue and not self._closing:
                batch = [queue.popleft() for _ in range(len(queue))]
                if not self._send(b"".join(batch)):
                    return
            wait = None
            if paced and pacer is not None and not self._closing:
                n, wait = pacer.take(time.monotonic(), len(paced))
                if n and not self._send(b"".join([paced.popleft() for _ in range(n)])):
                    return

    def _send(self, payload: bytes) -> bool:
        if not self._send_lock.acquire(timeout=self._settings.action_timeout_s):
            self._manager.abort()
            return False
        try:
            self._manager.send_raw(payload)
        except ManagerException:
            return False  # send_raw cut the connection; the supervisor notices
        finally:
            self._send_lock.release()
        return True

    def _await(
        self, done: threading.Event, action: str, action_id: str, timeout: float | None
    ) -> None:
        limit = self._settings.action_timeout_s if timeout is None else timeout
        deadline = time.monotonic() + limit
        while not done.wait(0.05):
            if not self._manager.connected():
                self._router.forget(action_id)
                raise AmiLinkDown(f"AMI link to {self.peer} lost during {action}")
            if time.monotonic() >= deadline:
                self._router.forget(action_id)
                self._manager.abort()
                raise AmiLinkDown(f"AMI {action} unanswered by {self.peer} within {limit:g} s")

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on pyst2's dispatch thread, in order with other ``call_soon`` functions."""
        self._manager.call_soon(fn)
