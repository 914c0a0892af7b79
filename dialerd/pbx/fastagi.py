"""A bounded FastAGI server for the answered leg, that checks who is talking.

Scripts (routed on ``agi_network_script``, the text after the host, before ``?``):

* ``answered,<DIALERD_ATTEMPT>,<DIALERD_TOKEN>,<AMDSTATUS>``: called right after
  ``AMD()``; records the answer time and the AMD verdict (``AMDCAUSE`` is read
  with ``GET VARIABLE``), plus a disposition if one is already set. The token may be
  left out (``answered,<DIALERD_ATTEMPT>,<AMDSTATUS>``): it is then read from the
  channel's ``DIALERD_TOKEN``, which the Originate set.
* ``disposition,<DIALERD_ATTEMPT>,<DIALERD_TOKEN>``: called when the IVR or agent
  flow has decided (or from a hangup handler); reads the channel variables
  ``DIALERD_DISPOSITION`` (an outcome code or its Chinese label, e.g. ``completed``,
  ``停机保号``) and ``DIALERD_CALLBACK`` (ISO 8601 with an offset, or epoch seconds).

Who is talking: a request is served only with the attempt's token (``agitoken``);
the telephony adapter then accepts a report only for a dial in flight, a
disposition only for an answered one, and only once (``Verdict``). Each refusal
is one ``agi_refused`` log line; the session ends with ``SET VARIABLE
DIALERD_AGI_RESULT`` (``accepted`` or the refusal's reason) so the dialplan can tell.

Bounds: lines of at most ``agi.max_line_bytes`` (a longer one closes the
connection), at most ``agi.max_connections`` connections (when full, the oldest
one still sending its environment is closed to make room), a fixed pool of
``agi.workers`` session threads, which only get a connection once its whole
environment has arrived; a connection silent for ``agi.idle_timeout_s`` is
closed with one ``agi_idle_timeout`` line. Never touches signal handlers
(pyst2's ``asterisk.agi`` would).
"""

from __future__ import annotations

import dataclasses
import re
import selectors
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dialerd.domain.outcomes import lookup
from dialerd.domain.ports import AnsweredInfo as AnsweredInfo  # re-exported: its old home
from dialerd.domain.ports import Verdict as Verdict
from dialerd.logconfig import get_logger
from dialerd.pbx.agilines import LineBuffer, LineTooLong
from dialerd.pbx.agitoken import TOKEN_VARIABLE, AgiTokens
from dialerd.settings import AgiSettings

log = get_logger(__name__)

MAX_ENV_LINES = 200
# AMD() verdicts: an argument that is one of these is the AMD status, any other the token,
# so ``answered,<attempt>,<AMDSTATUS>`` works too (the token then comes from the channel)
AMD_STATUSES = frozenset({"HUMAN", "MACHINE", "NOTSURE", "HANGUP"})
RESULT_VARIABLE = "DIALERD_AGI_RESULT"
RECORDING_VARIABLE = "DIALERD_RECORDING_FILE"  # set by the dialplan before MixMonitor
MAX_RECORDING_PATH = 255  # attempts.recording_file is VARCHAR(255)
ACCEPTED = "accepted"
_RESULT = re.compile(r"^(\d{3})[ -]result=(-?\d+)(?:\s+\((.*)\))?")
_RECV = 65536


AnsweredCallback = Callable[[int, AnsweredInfo], Verdict]


@dataclass
class HeldAnswer:
    """What an adapter holds for one dial in flight: the reports it accepted."""

    info: AnsweredInfo = field(default_factory=AnsweredInfo)

    def take(self, report: AnsweredInfo, *, answered_by_pbx: bool) -> Verdict:
        """Accept ``report`` or say why not (the checks every adapter makes)."""
        if report.disposition is not None:
            if self.info.disposition is not None:
                return Verdict.already_recorded
            answered = answered_by_pbx or self.info.answered_at or report.answered_at
            if not answered:
                return Verdict.not_answered
        self.info = self.info.merged(report)
        return Verdict.accepted


def parse_callback_at(value: str | None) -> datetime | None:
    """ISO 8601 with an offset, or epoch seconds; None when empty or unreadable."""
    if not value:
        return None
    try:
        if re.fullmatch(r"\d+(\.\d+)?", value):
            return datetime.fromtimestamp(float(value), UTC)
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        log.warning("agi_bad_callback", value=value[:40])
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


class _IdleTimeout(Exception):
    pass


class AgiSession:
    """One FastAGI conversation on a connected socket (the environment already read)."""

    def __init__(self, sock: socket.socket, lines: LineBuffer, env: dict[str, str]) -> None:
        self._sock = sock
        self._lines = lines
        self.env = env
        self.hung_up = False

    def command(self, text: str) -> tuple[int, int | None, str | None]:
        """Send one command; returns (code, result, data in parentheses)."""
        self._sock.sendall(text.encode("utf-8") + b"\n")
        while True:
            line = self._readline()
            if line is None:
                return 0, None, None
            if line == "HANGUP":
                self.hung_up = True
                continue
            match = _RESULT.match(line)
            if match:
                return int(match[1]), int(match[2]), match[3]
            if line[:3].isdigit() and line[3:4] != "-":
                return int(line[:3]), None, None  # 510, 511, 520 end of usage

    def get_variable(self, name: str) -> str | None:
        code, result, data = self.command(f"GET VARIABLE {name}")
        return data if code == 200 and result == 1 else None

    def set_variable(self, name: str, value: str) -> None:
        self.command(f'SET VARIABLE {name} "{value}"')

    def args(self) -> list[str]:
        found, n = [], 1
        while f"agi_arg_{n}" in self.env:
            found.append(self.env[f"agi_arg_{n}"])
            n += 1
        return found

    def _readline(self) -> str | None:
        while (line := self._lines.next_line()) is None:
            try:
                data = self._sock.recv(_RECV)
            except TimeoutError as exc:
                raise _IdleTimeout from exc
            if not data:
                return None
            self._lines.feed(data)
        return line


def _arg(args: list[str], n: int) -> str | None:
    return args[n] if len(args) > n and args[n] else None


def _attempt_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


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
            data = w.sock.recv(_RECV)
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
        except _IdleTimeout:
            log.info("agi_idle_timeout", peer=w.peer, phase="session", script=script[:40])
        except LineTooLong:
            log.warning("agi_line_too_long", peer=w.peer, limit=self._settings.max_line_bytes)
        except OSError as exc:
            log.warning("agi_session_failed", peer=w.peer, script=script[:40], error=str(exc))
        finally:
            self._finished(w)

    def serve_script(self, script: str, session: AgiSession, *, peer: str = "") -> str | None:
        """Run one script; returns what to tell the caller (None: nothing, it is not ours)."""
        if script not in ("answered", "disposition"):
            log.warning("agi_refused", reason="unknown_script", script=script[:40], peer=peer)
            return None
        args = session.args()
        attempt_id = _attempt_id(_arg(args, 0) or session.get_variable("DIALERD_ATTEMPT"))
        if attempt_id is None:
            log.warning("agi_refused", reason="no_attempt", script=script, peer=peer)
            return "no_attempt"
        extra = [a for a in args[1:3] if a]
        amd_arg = next((a for a in extra if a.upper() in AMD_STATUSES), None)
        token_arg = next((a for a in extra if a.upper() not in AMD_STATUSES), None)
        token = token_arg or session.get_variable(TOKEN_VARIABLE)
        if not self._tokens.verify(attempt_id, token):
            forged = "bad_token" if token else "no_token"
            log.warning(
                "agi_refused", reason=forged, script=script, attempt_id=attempt_id, peer=peer
            )
            return forged
        info = AnsweredInfo()
        if script == "answered":
            info = AnsweredInfo(
                answered_at=self._now(),
                amd_status=amd_arg or session.get_variable("AMDSTATUS"),
                amd_cause=session.get_variable("AMDCAUSE"),
            )
        raw = session.get_variable("DIALERD_DISPOSITION") or None
        callback_at = parse_callback_at(session.get_variable("DIALERD_CALLBACK"))
        outcome = lookup(raw) if raw else None
        recording = _recording_file(session.get_variable(RECORDING_VARIABLE))
        if recording is not None:
            info = dataclasses.replace(info, recording_file=recording)
        if outcome is not None:
            info = dataclasses.replace(info, disposition=outcome.value, callback_at=callback_at)
        verdict = self._on_answered(attempt_id, info)
        reason = verdict.value if verdict is not Verdict.accepted else None
        if reason is None and raw and outcome is None:
            reason = "unknown_disposition"  # the rest of the report stands; no reason is invented
        if reason is not None:
            log.warning(
                "agi_refused",
                reason=reason,
                script=script,
                attempt_id=attempt_id,
                disposition=raw[:64] if raw else None,
                peer=peer,
            )
            return reason
        log.info(
            "agi_answered",
            attempt_id=attempt_id,
            script=script,
            amd_status=info.amd_status,
            disposition=info.disposition,
        )
        return ACCEPTED


def _recording_file(value: str | None) -> str | None:
    """The recording's path as the dialplan set it; None when unset or not a plain path."""
    if not value or len(value) > MAX_RECORDING_PATH:
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return None
    return value
