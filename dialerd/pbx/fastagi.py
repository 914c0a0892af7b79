"""A bounded FastAGI server for the answered leg.

What a conversation means (the scripts, the check of who is talking) is
:mod:`dialerd.pbx.agiscripts`.

Bounds: lines of at most ``agi.max_line_bytes`` (a longer one closes the
connection), at most ``agi.max_connections`` connections (when full, the oldest
one still sending its environment is closed to make room), a fixed pool of
``agi.workers`` session threads, which only get a connection once its whole
environment has arrived; a connection silent for ``agi.idle_timeout_s`` is
closed with one ``agi_idle_timeout`` line. Never touches signal handlers
(pyst2's ``asterisk.agi`` would).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dialerd.domain.ports import AnsweredInfo as AnsweredInfo  # re-exported: its old home
from dialerd.domain.ports import Verdict as Verdict
from dialerd.logconfig import get_logger
from dialerd.pbx.agilines import LineBuffer, LineTooLong
from dialerd.pbx.agiscripts import (
    RECV_BYTES,
    RESULT_VARIABLE,
    AgiSession,
    AnsweredCallback,
    IdleTimeout,
    serve_script,
)
from dialerd.pbx.agiscripts import HeldAnswer as HeldAnswer  # re-exported: its old home
from dialerd.pbx.agiscripts import parse_callback_at as parse_callback_at
from dialerd.pbx.agitoken import AgiTokens
from dialerd.settings import AgiSettings

log = get_logger(__name__)

MAX_ENV_LINES = 200


@dataclass(eq=False)
class _Waiting:
    """A connection still sending its environment (held by the acceptor thread)."""

    sock: socket.socket
    peer: str
    opened: float
    lines: LineBuffer
    env: dict[str, str] = field(default_factory=dict)


class FastAgiServer:
    """Acceptor thread (selectors) + a fixed pool of session threads; ``start()`` → (host, port)."""

    def __init__(
        self,
        settings: AgiSettings,
        on_answered: AnsweredCallback,
        *,
        tokens: AgiTokens | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._on_answered = on_answered
        self._tokens = tokens or AgiTokens(settings.secret.get_secret_value() or None)
        self._now = now
        self._listener: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._waiting: dict[socket.socket, _Waiting] = {}  # oldest first
        self._active = 0
        self._active_lock = threading.Lock()
        self._stopping = threading.Event()
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None

    @property
    def tokens(self) -> AgiTokens:
        """The signer whose tokens this server accepts (the dispatcher signs with it)."""
        return self._tokens

    def start(self) -> tuple[str, int]:
        s = self._settings
        listener = socket.create_server((s.host, s.port), backlog=s.backlog, reuse_port=False)
        listener.setblocking(False)
        self._listener = listener
        self._selector = selectors.DefaultSelector()
        self._selector.register(listener, selectors.EVENT_READ)
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        self._pool = ThreadPoolExecutor(s.workers, thread_name_prefix="fastagi-session")
        self._thread = threading.Thread(target=self._loop, name="fastagi", daemon=True)
        self._thread.start()
        host, port = listener.getsockname()[:2]
        log.info("agi_listening", host=host, port=port, max_connections=s.max_connections)
        return str(host), int(port)

    def stop(self) -> None:
        if self._thread is None:
            return
        assert self._pool is not None and self._wake_r is not None and self._wake_w is not None
        self._stopping.set()
        self._wake_w.send(b"x")
        self._thread.join()
        self._thread = None
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._wake_r.close()
        self._wake_w.close()

    @property
    def connections(self) -> int:
        """Connections held now (waiting for their environment, or in a session)."""
        return len(self._waiting) + self._active

    # -- the acceptor thread ----------------------------------------------------------
    def _loop(self) -> None:
        assert self._selector is not None and self._listener is not None
        try:
            while not self._stopping.is_set():
                for key, _ in self._selector.select(self._next_deadline()):
                    if key.fileobj is self._listener:
                        self._accept()
                    elif key.fileobj is self._wake_r:
                        self._wake_r.recv(64)  # stop() woke us
                    else:
                        self._read(self._waiting[key.fileobj])  # type: ignore[index]
                self._expire_idle()
        finally:
            for waiting in list(self._waiting.values()):
                self._drop(waiting)
            self._selector.close()
            self._listener.close()

    def _next_deadline(self) -> float:
        if not self._waiting:
            return 1.0
        oldest = next(iter(self._waiting.values()))
        left = oldest.opened + self._settings.idle_timeout_s - time.monotonic()
        return min(1.0, max(0.0, left))

    def _accept(self) -> None:
        assert self._listener is not None and self._selector is not None
        while True:
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. out of file descriptors: try again next round
                log.warning("agi_accept_failed", error=str(exc))
                return
            peer = f"{address[0]}:{address[1]}" if isinstance(address, tuple) else str(address)
            if self.connections >= self._settings.max_connections:
                if not self._waiting:
                    log.warning("agi_connection_refused", peer=peer, reason="max_connections")
                    sock.close()
                    continue
                oldest = next(iter(self._waiting.values()))
                log.warning("agi_connection_evicted", peer=oldest.peer, reason="max_connections")
                self._drop(oldest)
            sock.setblocking(False)
            waiting = _Waiting(
                sock, peer, time.monotonic(), LineBuffer(self._settings.max_line_bytes)
            )
            self._waiting[sock] = waiting
            self._selector.register(sock, selectors.EVENT_READ)

    def _read(self, w: _Waiting) -> None:
        try:
            data = w.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(w)
            return
        try:
            w.lines.feed(data)
            while (line := w.lines.next_line()) is not None:
                if line == "":
                    self._hand_over(w)
                    return
                key, sep, value = line.partition(":")
                if sep:
                    w.env[key.strip()] = value.strip()
                if len(w.env) > MAX_ENV_LINES:
                    log.warning("agi_environment_too_long", peer=w.peer, lines=len(w.env))
                    self._drop(w)
                    return
        except LineTooLong:
            log.warning("agi_line_too_long", peer=w.peer, limit=self._settings.max_line_bytes)
            self._drop(w)

    def _expire_idle(self) -> None:
        cutoff = time.monotonic() - self._settings.idle_timeout_s
        for w in list(self._waiting.values()):
            if w.opened > cutoff:
                break
            log.info("agi_idle_timeout", peer=w.peer, phase="environment")
            self._drop(w)

    def _drop(self, w: _Waiting) -> None:
        self._unwatch(w)
        w.sock.close()

    def _unwatch(self, w: _Waiting) -> None:
        assert self._selector is not None
        self._waiting.pop(w.sock, None)
        try:
            self._selector.unregister(w.sock)
        except (KeyError, ValueError):
            pass

    def _hand_over(self, w: _Waiting) -> None:
        assert self._pool is not None
        self._unwatch(w)
        with self._active_lock:
            self._active += 1
        try:
            self._pool.submit(self._session, w)
        except RuntimeError:  # stopping
            self._finished(w)

    def _finished(self, w: _Waiting) -> None:
        with self._active_lock:
            self._active -= 1
        try:
            w.sock.close()
        except OSError:
            pass

    # -- session threads ---------------------------------------------------------------
    def _session(self, w: _Waiting) -> None:
        script = w.env.get("agi_network_script", "").split("?", 1)[0].strip("/")
        try:
            w.sock.setblocking(True)
            w.sock.settimeout(self._settings.idle_timeout_s)
            session = AgiSession(w.sock, w.lines, w.env)
            result = self.serve_script(script, session, peer=w.peer)
            if result is not None and not session.hung_up:
                session.set_variable(RESULT_VARIABLE, result)
        except IdleTimeout:
            log.info("agi_idle_timeout", peer=w.peer, phase="session", script=script[:40])
        except LineTooLong:
            log.warning("agi_line_too_long", peer=w.peer, limit=self._settings.max_line_bytes)
        except OSError as exc:
            log.warning("agi_session_failed", peer=w.peer, script=script[:40], error=str(exc))
        finally:
            self._finished(w)

    def serve_script(self, script: str, session: AgiSession, *, peer: str = "") -> str | None:
        """Run one script; returns what to tell the caller (None: nothing, it is not ours)."""
        return serve_script(
            script,
            session,
            tokens=self._tokens,
            on_answered=self._on_answered,
            now=self._now,
            peer=peer,
        )
