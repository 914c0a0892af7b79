"""The one place where pyst2 0.5.1 is patched: a ``Manager`` whose reader is dialerd's parser.

pyst2's ``Manager`` stays the connection object: its ``send_action`` writes the
Login and waits for the reply, and its ``event_dispatch`` thread runs
``call_soon`` functions through ``register_event('*')``. What breaks a dialer
(docs/asterisk.md, "How the adapter works") is replaced:

* ``connect``: ``socket.create_connection`` with a timeout (pyst2 has none);
  the greeting is awaited with a deadline.
* the reader (``message_loop``, which pyst2's ``message_thread`` runs): pyst2
  reads one byte per ``recv``, its ``ManagerMsg`` crashes on ``ChanVariable``
  headers and every reply is matched first-in-first-out. Here one thread reads
  up to 256 KiB at a time into :class:`~dialerd.pbx.ami.protocol.AmiParser`,
  the AMI framing that the simulator and the tests use too; it drops the
  unwanted events before decoding them, and the messages go to
  ``on_messages`` (the client's :class:`~dialerd.pbx.ami.routing.Router`) on
  this thread. Replies nobody expects go to pyst2's FIFO (:meth:`fifo`).
* ``close`` never logs off through pyst2's racy path, never blocks, and may be
  called twice (also from ``__del__``).

Every pyst2 private attribute used here is listed in :data:`PYST2_PRIVATE`;
tests/unit/test_pyst2_fixes.py fails if a pyst2 release changes one of them.
pyst2's DeprecationWarnings (``setDaemon``, ``isSet``) are silenced for the
``asterisk.manager`` module only.
"""

from __future__ import annotations

import queue
import socket
import threading
import warnings
from collections.abc import Callable, Collection, Mapping
from typing import Any

from asterisk.manager import Manager, ManagerSocketException

from dialerd.logconfig import get_logger
from dialerd.pbx.ami.protocol import AmiMessage, AmiParser

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"asterisk\.manager")

__all__ = ["PYST2_PRIVATE", "Call", "DialerdManager"]

log = get_logger(__name__)

READ_CHUNK = 1 << 18  # large reads: each GIL turn of the reader takes what is there

#: pyst2 ``Manager`` private attributes dialerd reads or writes, with their type
#: after ``Manager()`` and the pyst2 code that depends on them.
PYST2_PRIVATE: Mapping[str, tuple[type, str]] = {
    "_sock": (type(None), "send_action writes and flushes the Login here"),
    "_connected": (threading.Event, "send_action and connected() refuse unless set"),
    "_running": (threading.Event, "event_dispatch runs while set"),
    "_response_queue": (queue.Queue, "send_action returns its next item; None: link lost"),
    "_event_queue": (queue.Queue, "event_dispatch hands each item to the '*' callbacks"),
}

MessagesHandler = Callable[[list[AmiMessage]], None]


class Call:
    """A function to run on pyst2's dispatch thread (an item of its event queue)."""

    name = "*call"  # event_dispatch looks up callbacks by the item's name

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn


def _run_call(item: object, _manager: object) -> bool:
    """The ``'*'`` callback: run a :class:`Call`; never raises (pyst2 would stop dispatching)."""
    if isinstance(item, Call):
        try:
            item.fn()
        except Exception:
            log.exception("ami_call_soon_failed")
    return False


class DialerdManager(Manager):  # type: ignore[misc]
    """pyst2 ``Manager`` with a deadline on connect, dialerd's reader and a safe close.

    ``on_messages`` gets every read's parsed messages on the reader thread;
    ``wanted_events`` / ``wanted_variables`` (None: all) filter events and
    VarSet events in the parser, before they are decoded.
    """

    def __init__(
        self,
        on_messages: MessagesHandler,
        wanted_events: Collection[str] | None = None,
        wanted_variables: Collection[str] | None = None,
    ) -> None:
        super().__init__()
        self._on_messages = on_messages
        self._parser = AmiParser(only_events=wanted_events, only_variables=wanted_variables)
        self._raw: socket.socket | None = None
        self._greeted = threading.Event()
        self._closed = False
        self.bytes_received = 0
        self.register_event("*", _run_call)

    # -- connection -------------------------------------------------------
    def connect(self, host: str, port: int = 5038, timeout: float = 5.0) -> str:
        """Connect with a deadline; returns the greeting (``title``/``version`` set)."""
        try:
            raw = socket.create_connection((host, int(port)), timeout=timeout)
        except OSError as exc:
            raise ManagerSocketException(exc.errno, str(exc)) from exc
        raw.settimeout(None)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._raw = raw
        self._sock = raw.makefile(mode="rwb")
        self._connected.set()
        self._running.set()
        self.message_thread.start()
        self.event_dispatch_thread.start()
        if not self._greeted.wait(timeout):
            self.abort()
            raise ManagerSocketException(0, "no AMI greeting")
        banner = self._parser.banner
        if banner is None:
            raise ManagerSocketException(0, "Connection Terminated")
        self.title, _, self.version = (x.strip() for x in banner.partition("/"))
        return banner

    def connected(self) -> bool:
        return self._connected.is_set() and not self._closed

    def send_raw(self, payload: bytes) -> None:
        """Write bytes as they are (callers hold the client's send lock)."""
        raw = self._raw
        if raw is None or not self.connected():
            raise ManagerSocketException(0, "Not connected")
        try:
            raw.sendall(payload)
        except OSError as exc:
            self.abort()
            raise ManagerSocketException(exc.errno, str(exc)) from exc

    def fifo(self, reply: AmiMessage) -> None:
        """Hand a reply to pyst2's ``send_action`` (first in, first out)."""
        self._response_queue.put(reply)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on pyst2's dispatch thread, after the functions queued before it."""
        self._event_queue.put(Call(fn))

    # -- the reader thread (replaces pyst2's message_loop and _receive_data) ----
    def message_loop(self) -> None:
        raw, parser, greeted = self._raw, self._parser, self._greeted
        assert raw is not None
        try:
            while chunk := raw.recv(READ_CHUNK):
                self.bytes_received += len(chunk)
                messages = parser.feed(chunk)
                if parser.banner is not None and not greeted.is_set():
                    greeted.set()
                if messages:
                    self._on_messages(messages)
        except (OSError, ValueError):
            pass
        finally:
            self._connected.clear()
            greeted.set()
            self._response_queue.put(None)  # releases a send_action waiting for its reply
            self._event_queue.put(None)  # stops the dispatch thread

    # -- shutdown ---------------------------------------------------------
    def abort(self) -> None:
        """Cut the TCP connection: the reader sees EOF, every waiter is released."""
        raw = self._raw
        if raw is not None:
            try:
                raw.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self, join_timeout: float = 2.0) -> None:
        """Idempotent, bounded close; no Logoff through pyst2's racy path."""
        if self._closed:
            return
        self._closed = True
        self.abort()
        self._running.clear()
        current = threading.current_thread()
        for thread in (self.message_thread, self.event_dispatch_thread):
            if thread.is_alive() and thread is not current:
                thread.join(join_timeout)
        closables: tuple[Any, ...] = (self._sock, self._raw)
        for closable in closables:
            if closable is not None:
                try:
                    closable.close()
                except (OSError, ValueError):
                    pass

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close(join_timeout=0.1)
