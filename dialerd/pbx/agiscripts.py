"""The FastAGI scripts of the answered leg, and the check of who is talking.

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
The server that carries the conversations is :mod:`dialerd.pbx.fastagi`.
"""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dialerd.domain.outcomes import lookup
from dialerd.domain.ports import AnsweredInfo, Verdict
from dialerd.logconfig import get_logger
from dialerd.pbx.agilines import LineBuffer
from dialerd.pbx.agitoken import TOKEN_VARIABLE, AgiTokens

log = get_logger(__name__)

# AMD() verdicts: an argument that is one of these is the AMD status, any other the token,
# so ``answered,<attempt>,<AMDSTATUS>`` works too (the token then comes from the channel)
AMD_STATUSES = frozenset({"HUMAN", "MACHINE", "NOTSURE", "HANGUP"})
RESULT_VARIABLE = "DIALERD_AGI_RESULT"
RECORDING_VARIABLE = "DIALERD_RECORDING_FILE"  # set by the dialplan before MixMonitor
MAX_RECORDING_PATH = 255  # attempts.recording_file is VARCHAR(255)
ACCEPTED = "accepted"
RECV_BYTES = 65536
_RESULT = re.compile(r"^(\d{3})[ -]result=(-?\d+)(?:\s+\((.*)\))?")


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


class IdleTimeout(Exception):
    """The caller said nothing for the session's idle timeout."""


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
                data = self._sock.recv(RECV_BYTES)
            except TimeoutError as exc:
                raise IdleTimeout from exc
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


def serve_script(
    script: str,
    session: AgiSession,
    *,
    tokens: AgiTokens,
    on_answered: AnsweredCallback,
    now: Callable[[], datetime],
    peer: str = "",
) -> str | None:
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
    if not tokens.verify(attempt_id, token):
        forged = "bad_token" if token else "no_token"
        log.warning("agi_refused", reason=forged, script=script, attempt_id=attempt_id, peer=peer)
        return forged
    info = AnsweredInfo()
    if script == "answered":
        info = AnsweredInfo(
            answered_at=now(),
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
    verdict = on_answered(attempt_id, info)
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
