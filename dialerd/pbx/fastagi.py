"""A small FastAGI server for the answered leg (``AGI(agi://127.0.0.1:4573/<script>,...)``).

Scripts (routed on ``agi_network_script``, the text after the host, before ``?``):

* ``answered,<DIALERD_ATTEMPT>,<AMDSTATUS>``: called right after ``AMD()``;
  records the answer time and the AMD verdict (``AMDCAUSE`` is read with
  ``GET VARIABLE``), plus a disposition if one is already set.
* ``disposition,<DIALERD_ATTEMPT>``: called when the IVR or agent flow has
  decided (or from a hangup handler); reads the channel variables
  ``DIALERD_DISPOSITION`` (an outcome code such as ``completed``, ``refused``,
  ``callback_requested``, ``dnc_requested``) and ``DIALERD_CALLBACK`` (ISO 8601
  with an offset, or epoch seconds).

Each session ends by closing the socket, so the dialplan goes on. Results go to
``on_answered(attempt_id, AnsweredInfo)``; the AMI adapter holds them per attempt
and merges them into the dial's PbxSignals. An inline ``HANGUP`` line from
Asterisk is noted and skipped. Never touches signal handlers (pyst2's
``asterisk.agi`` would), so it runs in worker threads.
"""

from __future__ import annotations

import dataclasses
import re
import socketserver
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from dialerd.domain.ports import AnsweredInfo as AnsweredInfo  # re-exported: its old home
from dialerd.logconfig import get_logger
from dialerd.settings import AgiSettings

log = get_logger(__name__)

SESSION_TIMEOUT_S = 10.0
MAX_ENV_LINES = 200
_RESULT = re.compile(r"^(\d{3})[ -]result=(-?\d+)(?:\s+\((.*)\))?")


AnsweredCallback = Callable[[int, AnsweredInfo], None]


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


class AgiSession:
    """One FastAGI conversation over a socket's text files."""

    def __init__(self, rfile: Any, wfile: Any) -> None:
        self._rfile = rfile
        self._wfile = wfile
        self.env: dict[str, str] = {}
        self.hung_up = False

    def read_env(self) -> dict[str, str]:
        for _ in range(MAX_ENV_LINES):
            line = self._readline()
            if line is None or line == "":
                break
            key, sep, value = line.partition(":")
            if sep:
                self.env[key.strip()] = value.strip()
        return self.env

    def command(self, text: str) -> tuple[int, int | None, str | None]:
        """Send one command; returns (code, result, data in parentheses)."""
        self._wfile.write(text.encode("utf-8") + b"\n")
        self._wfile.flush()
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

    def args(self) -> list[str]:
        found, n = [], 1
        while f"agi_arg_{n}" in self.env:
            found.append(self.env[f"agi_arg_{n}"])
            n += 1
        return found

    def _readline(self) -> str | None:
        raw = self._rfile.readline()
        if not raw:
            return None
        return str(raw.decode("utf-8", "replace").rstrip("\r\n"))


def _attempt_id(session: AgiSession, args: list[str]) -> int | None:
    value = args[0] if args and args[0] else session.get_variable("DIALERD_ATTEMPT")
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _disposition(session: AgiSession) -> tuple[str | None, datetime | None]:
    disposition = session.get_variable("DIALERD_DISPOSITION") or None
    callback = parse_callback_at(session.get_variable("DIALERD_CALLBACK"))
    return disposition, callback


class _Handler(socketserver.StreamRequestHandler):
    timeout = SESSION_TIMEOUT_S
    server: FastAgiServer._Server

    def handle(self) -> None:
        session = AgiSession(self.rfile, self.wfile)
        env = session.read_env()
        script = env.get("agi_network_script", "").split("?", 1)[0].strip("/")
        try:
            self.server.owner.serve_script(script, session)
        except OSError as exc:
            log.warning("agi_session_failed", script=script, error=str(exc))


class FastAgiServer:
    """ThreadingTCPServer with daemon threads; ``start()`` returns the bound (host, port)."""

    class _Server(socketserver.ThreadingTCPServer):
        daemon_threads = True
        allow_reuse_address = True
        owner: FastAgiServer

    def __init__(
        self,
        settings: AgiSettings,
        on_answered: AnsweredCallback,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._on_answered = on_answered
        self._now = now
        self._server: FastAgiServer._Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        server = self._Server((self._settings.host, self._settings.port), _Handler)
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="fastagi", daemon=True)
        self._thread.start()
        host, port = server.server_address[:2]
        log.info("agi_listening", host=host, port=port)
        return str(host), int(port)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_script(self, script: str, session: AgiSession) -> None:
        """Run one script and report what it learnt."""
        args = session.args()
        if script == "answered":
            attempt_id = _attempt_id(session, args)
            amd_status = args[1] if len(args) > 1 and args[1] else None
            info = AnsweredInfo(
                answered_at=self._now(),
                amd_status=amd_status or session.get_variable("AMDSTATUS"),
                amd_cause=session.get_variable("AMDCAUSE"),
            )
        elif script == "disposition":
            attempt_id = _attempt_id(session, args)
            info = AnsweredInfo()
        else:
            log.warning("agi_unknown_script", script=script[:40])
            return
        disposition, callback_at = _disposition(session)
        info = dataclasses.replace(info, disposition=disposition, callback_at=callback_at)
        if attempt_id is None:
            log.warning("agi_without_attempt", script=script)
            return
        log.info(
            "agi_answered",
            attempt_id=attempt_id,
            script=script,
            amd_status=info.amd_status,
            disposition=info.disposition,
        )
        self._on_answered(attempt_id, info)
