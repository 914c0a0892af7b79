"""The one place where pyst2 0.5.1 is patched: a ``Manager`` subclass and a fixed message parse.

pyst2's ``Manager`` keeps doing what it does well (one object per connection,
its ``login``, its event-dispatch thread and ``register_event('*')``); this
subclass replaces the parts that break a dialer (see docs/asterisk.md):

* ``connect``: ``socket.create_connection`` with a timeout (pyst2 has none) and a
  buffered socket file; the greeting is awaited with a deadline.
* the reader (``message_loop``): pyst2 reads one byte per ``recv`` and hands raw
  lines to a second thread. Here one thread reads 64 KiB chunks, splits messages on
  the blank line, drops events nobody listens to before parsing them, parses the
  rest with :class:`FixedManagerMsg`, routes responses whose ActionID a caller
  registered (``expect``) to that caller, and queues everything else exactly like
  pyst2 (events to ``event_dispatch``, other responses to ``send_action``'s FIFO).
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

from asterisk.manager import Event, Manager, ManagerMsg, ManagerSocketException

warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"asterisk\.manager")

READ_CHUNK = 1 << 16
_MSG_END = b"\r\n\r\n"

ResponseHandler = Callable[[ManagerMsg], None]
EventListHandler = Callable[[ManagerMsg], bool]


class FixedManagerMsg(ManagerMsg):  # type: ignore[misc]
    """``ManagerMsg`` whose parse survives ``ChanVariable``/``DestChanVariable`` headers.

    Channel variables are collected as pyst2 meant to: ``headers['ChanVariable']``
    (or ``'DestChanVariable'``) is a dict of name to value.
    """

    def parse(self, response: list[str]) -> None:
        headers: dict[str, Any] = self.headers
        data: list[str] = []
        for n, line in enumerate(response):
            key, sep, value = line.partition(":")
            if not sep or not line.endswith("\r\n"):
                data.extend(response[n:])
                break
            key = key.strip()
            value = value.strip()
            if "ChanVariable" in key:
                group = "DestChanVariable" if key.startswith("Dest") else "ChanVariable"
                name, _, var_value = value.partition("=")
                headers.setdefault(group, {})[name.strip()] = var_value.strip()
            else:
                headers[key] = value
        self.data = "".join(data)


def _message_lines(text: str) -> list[str]:
    """One message's lines, each with its CRLF, as pyst2's parser expects them."""
    return [line + "\r\n" for line in text.split("\r\n")]


def _event_name(chunk: bytes) -> bytes | None:
    if not chunk.startswith(b"Event:"):
        return None
    end = chunk.find(b"\r\n")
    return chunk[6 : end if end >= 0 else len(chunk)].strip()


class DialerdManager(Manager):  # type: ignore[misc]
    """pyst2 ``Manager`` with a buffered reader, ActionID routing and a safe close.

    ``wanted_events``: event names to keep (None keeps all); ``expect(action_id,
    handler)`` routes that action's response (and, for list actions, its events
    until the handler returns True) to ``handler`` on the reader thread.
    """

    def __init__(self, wanted_events: Collection[str] | None = None) -> None:
        super().__init__()
        self._raw: socket.socket | None = None
        self._wanted = None if wanted_events is None else {e.encode() for e in wanted_events}
        self._routes: dict[str, ResponseHandler] = {}
        self._lists: dict[str, EventListHandler] = {}
        self._routes_lock = threading.Lock()
        self._closed = False
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

    def expect(self, action_id: str, handler: ResponseHandler) -> None:
        with self._routes_lock:
            self._routes[action_id] = handler

    def expect_list(self, action_id: str, handler: EventListHandler) -> None:
        """Route the events of a list action (e.g. CoreShowChannels) until handler is done."""
        with self._routes_lock:
            self._lists[action_id] = handler

    def forget(self, action_id: str) -> None:
        with self._routes_lock:
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
            if _MSG_END not in buf:
                continue
            parts = buf.split(_MSG_END)
            buf = parts.pop()
            for part in parts:
                self._route(part)

    def _greeting(self, line: str) -> None:
        self.title, _, self.version = (x.strip() for x in line.partition("/"))
        self._response_queue.put(FixedManagerMsg(["Response: Generated Header\r\n", line + "\r\n"]))

    def _route(self, part: bytes) -> None:
        part = part.lstrip(b"\r\n")
        if not part:
            return
        name = _event_name(part)
        if name is not None and self._wanted is not None and name not in self._wanted:
            if not self._lists or b"ActionID:" not in part:
                return
        message = FixedManagerMsg(_message_lines(part.decode("utf-8", "replace")))
        headers = message.headers
        action_id = headers.get("ActionID")
        if name is not None:
            if action_id is not None and action_id in self._lists:
                self._list_event(action_id, message)
                return
            self._event_queue.put(Event(message))
            return
        if "Response" not in headers or headers["Response"] == "Generated Header":
            return  # garbage: neither an event nor a response
        handler = self._routes.pop(action_id, None) if action_id is not None else None
        if handler is not None:
            handler(message)
        else:
            self._response_queue.put(message)

    def _list_event(self, action_id: str, message: ManagerMsg) -> None:
        handler = self._lists.get(action_id)
        if handler is not None and handler(message):
            self.forget(action_id)

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
