"""The one place where pyst2 0.5.1 is patched: a ``Manager`` subclass and a fixed message parse.

pyst2's ``Manager`` keeps doing what it does well (one object per connection,
its ``login``, its event-dispatch thread and ``register_event('*')``); this
subclass replaces the parts that break a dialer (see docs/asterisk.md):

* ``connect``: ``socket.create_connection`` with a timeout (pyst2 has none) and a
  buffered socket file; the greeting is awaited with a deadline.
* the reader (``message_loop``): pyst2 reads one byte per ``recv`` and hands raw
  lines to a second thread. Here one thread reads up to 256 KiB at a time,
  decodes once per read, drops the events nobody listens to (and VarSet events
  of other variables) with one prefix test each, parses the rest, and routes
  responses by ActionID to whoever registered it (``expect``); other responses go
  to ``send_action``'s FIFO as in pyst2. Each read's events go to the ``'*'``
  callbacks as one :class:`EventBatch`, on the reader thread
  (``inline_dispatch``, the default) or through pyst2's ``event_dispatch`` thread.
* ``call_soon(fn)`` runs ``fn`` on pyst2's event-dispatch thread.
* :class:`FixedManagerMsg` fixes ``ManagerMsg.parse``: ``ChanVariable`` headers
  crashed it (``dict.has_key``) and wedged the reader for good.
* ``close`` never logs off through the racy pyst2 path, never blocks, and may be
  called twice (also from ``__del__``).

pyst2's DeprecationWarnings (``setDaemon``, ``isSet``, ``currentThread``) are
silenced for the ``asterisk.manager`` module only.
"""

from __future__ import annotations

import queue
import socket
import threading
import warnings
from collections.abc import Callable, Collection
from typing import Any

from asterisk.manager import Manager, ManagerMsg, ManagerSocketException

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"asterisk\.manager")

READ_CHUNK = 1 << 18  # large reads: each GIL turn of the reader takes what is there
_MSG_END = b"\r\n\r\n"

ResponseHandler = Callable[[ManagerMsg], None]
EventListHandler = Callable[[dict[str, Any]], bool]


class FixedManagerMsg(ManagerMsg):  # type: ignore[misc]
    """``ManagerMsg`` whose parse survives ``ChanVariable``/``DestChanVariable`` headers.

    Channel variables are collected as pyst2 meant to: ``headers['ChanVariable']``
    (or ``'DestChanVariable'``) is a dict of name to value.
    """

    def parse(self, response: list[str]) -> None:
        self.headers, self.data = parse_headers("\r\n".join(x.rstrip("\r\n") for x in response))


def parse_headers(text: str) -> tuple[dict[str, Any], str]:
    """A message's lines to a dict (last duplicate wins, as in pyst2) and trailing data."""
    if "ChanVariable" not in text:  # fast path: every line is exactly one "Key: value"
        parts = text.replace("\r\n", ": ").split(": ")
        if len(parts) == 2 * (text.count("\r\n") + 1):
            it = iter(parts)
            return dict(zip(it, it, strict=True)), ""
    headers: dict[str, Any] = {}
    lines = text.split("\r\n")
    for n, line in enumerate(lines):
        key, sep, value = line.partition(": ")
        if not sep:
            key, sep, value = line.partition(":")
            if not sep:
                return headers, "\r\n".join(lines[n:])
        if "ChanVariable" in key:
            group = "DestChanVariable" if key.startswith("Dest") else "ChanVariable"
            name, _, var_value = value.partition("=")
            headers.setdefault(group, {})[name.strip()] = var_value.strip()
        else:
            headers[key.strip()] = value.strip()
    return headers, ""


class EventBatch:
    """The events of one read, handed to pyst2's dispatch thread in one queue item."""

    name = "*batch"

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events


class Call:
    """A function to run on the dispatch thread, in order with the events."""

    name = "*call"

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn


def _message(msg: str) -> ManagerMsg:
    """A pyst2 ``ManagerMsg`` without its line-by-line constructor (one per Originate ack)."""
    message = FixedManagerMsg.__new__(FixedManagerMsg)
    message.response = msg
    message.headers, message.data = parse_headers(msg)
    if "Event" not in message.headers and "Response" not in message.headers:
        message.headers["Response"] = "Generated Header"  # as pyst2 marks an unknown message
    return message


def _strip_junk(msg: str) -> str:
    """Drop blank or header-less lines in front of a message (a confused peer's junk)."""
    lines = msg.split("\r\n")
    for n, line in enumerate(lines):
        if ": " in line:
            return "\r\n".join(lines[n:])
    return ""


class DialerdManager(Manager):  # type: ignore[misc]
    """pyst2 ``Manager`` with a buffered reader, ActionID routing and a safe close.

    ``wanted_events``: event names to keep (None keeps all); ``wanted_variables``:
    the VarSet events to keep (None keeps all). ``expect(action_id, handler)``
    routes that action's response to ``handler`` on the reader thread,
    ``expect_list`` the events of a list action until the handler returns True.
    """

    def __init__(
        self,
        wanted_events: Collection[str] | None = None,
        wanted_variables: Collection[str] | None = None,
    ) -> None:
        super().__init__()
        self._raw: socket.socket | None = None
        self._wanted = None if wanted_events is None else frozenset(wanted_events)
        self._keep = (
            ("",) if self._wanted is None else tuple(f"Event: {e}\r\n" for e in self._wanted)
        )
        self._varsets = (
            None
            if wanted_variables is None
            else tuple(f"\r\nVariable: {v}\r\n" for v in wanted_variables)
        )
        self._routes: dict[str, ResponseHandler] = {}
        self._lists: dict[str, EventListHandler] = {}
        self._closed = False
        self.inline_dispatch = True
        self.bytes_received = 0

    # -- connection -------------------------------------------------------
    def connect(self, host: str, port: int = 5038, timeout: float = 5.0) -> ManagerMsg:
        """Connect with a deadline; returns the greeting (``m.title``/``m.version`` set)."""
        try:
            raw = socket.create_connection((host, int(port)), timeout=timeout)
        except OSError as exc:
            raise ManagerSocketException(exc.errno, str(exc)) from exc
        raw.settimeout(None)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._raw = raw
        self._sock = raw.makefile(mode="rwb")  # pyst2's send_action writes + flushes here
        self._connected.set()
        self._running.set()
        self.message_thread.start()
        self.event_dispatch_thread.start()
        try:
            greeting = self._response_queue.get(timeout=timeout)
        except queue.Empty:
            self.abort()
            raise ManagerSocketException(0, "no AMI greeting") from None
        if not greeting:
            raise ManagerSocketException(0, "Connection Terminated")
        return greeting

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

    # Route tables: single dict operations, atomic under the GIL; no lock on the hot path.
    def expect(self, action_id: str, handler: ResponseHandler) -> None:
        self._routes[action_id] = handler

    def expect_list(self, action_id: str, handler: EventListHandler) -> None:
        """Route the events of a list action (e.g. CoreShowChannels) until handler is done."""
        self._lists[action_id] = handler

    def forget(self, action_id: str) -> None:
        self._routes.pop(action_id, None)
        self._lists.pop(action_id, None)

    # -- reader thread (replaces pyst2's message_loop + _receive_data) -----
    def message_loop(self) -> None:
        try:
            self._read_forever()
        except (OSError, ValueError):
            pass
        finally:
            self._connected.clear()
            self._event_queue.put(None)
            for _ in list(self._reswaiting):
                self._response_queue.put(None)
            self._response_queue.put(None)

    def _read_forever(self) -> None:
        raw = self._raw
        assert raw is not None
        buf = b""
        greeted = False
        while self._running.is_set():
            chunk = raw.recv(READ_CHUNK)
            if not chunk:
                return
            self.bytes_received += len(chunk)
            buf += chunk
            if not greeted:
                end = buf.find(b"\r\n")
                if end < 0:
                    continue
                self._greeting(buf[:end].decode("utf-8", "replace"))
                buf = buf[end + 2 :]
                greeted = True
            end = buf.rfind(_MSG_END)
            if end < 0:
                continue
            # Cut at a message end (ASCII), so no UTF-8 sequence is split; decode once per read.
            text, buf = buf[:end].decode("utf-8", "replace"), buf[end + 4 :]
            batch = self._split(text)
            if batch:
                self._deliver(EventBatch(batch))

    def _split(self, text: str) -> list[dict[str, Any]]:
        """The wanted events of a run of messages, in order; responses and odd ones are routed.

        Written as whole-list passes (C-level prefix tests) because most of what
        Asterisk sends is unwanted and this runs for every byte of the session.
        """
        keep, lists, varsets = self._keep, self._lists, self._varsets
        msgs = text.split("\r\n\r\n")
        batch: list[dict[str, Any]] = []
        for msg in [m for m in msgs if not m.startswith("Event: ")]:
            self._route(msg, batch)  # responses, junk in front of a message
        if lists:
            for msg in [m for m in msgs if m.startswith("Event: ") and not m.startswith(keep)]:
                if "ActionID: " in msg:
                    self._route(msg, batch)  # a list action's events
        kept = [m for m in msgs if m.startswith(keep)]
        if varsets is not None:
            kept = [
                m
                for m in kept
                if not m.startswith("Event: VarSet\r\n") or any(v in m for v in varsets)
            ]
        for msg in kept:
            parts = msg.replace("\r\n", ": ").split(": ")
            if len(parts) == 2 * (msg.count("\r\n") + 1) and "ChanVariable" not in msg:
                it = iter(parts)
                batch.append(dict(zip(it, it, strict=True)))
            else:
                batch.append(parse_headers(msg)[0])
        if lists:
            batch = [headers for headers in batch if not self._list_event(headers)]
        return batch

    def _list_event(self, headers: dict[str, Any]) -> bool:
        action_id = headers.get("ActionID")
        handler = self._lists.get(action_id) if isinstance(action_id, str) else None
        if handler is None or not isinstance(action_id, str):
            return False
        if handler(headers):
            self.forget(action_id)
        return True

    def _deliver(self, batch: EventBatch) -> None:
        """Hand a batch to the ``'*'`` callbacks: on this thread, or via pyst2's dispatch thread."""
        if self.inline_dispatch:
            for callback in self._event_callbacks.get("*", ()):
                callback(batch, self)
        else:
            self._event_queue.put(batch)

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the dispatch thread after the events read so far."""
        self._event_queue.put(Call(fn))

    def _greeting(self, line: str) -> None:
        self.title, _, self.version = (x.strip() for x in line.partition("/"))
        self._response_queue.put(FixedManagerMsg(["Response: Generated Header\r\n", line + "\r\n"]))

    def _route(self, msg: str, batch: list[dict[str, Any]]) -> None:
        """The slow path: junk in front, unknown events with an ActionID, responses."""
        if not msg.startswith(("Event: ", "Response: ")):
            msg = _strip_junk(msg)
            if not msg:
                return
        if msg.startswith("Event: "):
            name = msg[7 : msg.find("\r\n") if "\r\n" in msg else len(msg)].strip()
            if self._wanted is not None and name not in self._wanted and not self._lists:
                return
            headers, _ = parse_headers(msg)
            if not self._list_event(headers) and (self._wanted is None or name in self._wanted):
                batch.append(headers)
            return
        message = _message(msg)
        headers = message.headers
        if "Response" not in headers or headers["Response"] == "Generated Header":
            return  # garbage: neither an event nor a response
        action_id = headers.get("ActionID")
        route = self._routes.pop(action_id, None) if action_id is not None else None
        if route is not None:
            route(message)
        else:
            self._response_queue.put(message)

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
        for closable in (self._sock, self._raw):
            if closable is not None:
                try:
                    closable.close()
                except (OSError, ValueError):
                    pass

    def __del__(self) -> None:
        if not getattr(self, "_closed", True):
            self.close(join_timeout=0.1)
