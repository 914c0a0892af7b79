"""What may reach the AMI wire: strict checks for every value bound for an Originate.

AMI frames are ``Key: Value`` lines ended by CRLF, so a CR or LF inside a value
starts a new header, and an empty line ends the action: a number holding
``"\\r\\nAction: Command"`` would run a second action. Beyond CR/LF/NUL, dial
strings and variables have their own separators inside Asterisk:

* channel (``Tech/resource``): letters, digits and ``/@._-+#*:`` only.
  ``&`` would fork the Dial to several channels, ``,`` and ``|`` separate
  application arguments, ``;`` is the Local channel half suffix that Asterisk
  adds itself, ``$`` ``{`` ``(`` would evaluate dialplan functions, spaces and
  quotes have no place in a dial string;
* ``Variable: NAME=value``: Asterisk splits the value on ``,`` (several variables
  per header) and applies quote/backslash processing, so values may not hold
  ``,`` ``"`` ``\\`` (nor CR/LF/NUL); names are ``[A-Za-z_][A-Za-z0-9_]*``;
* caller ID: digits with an optional leading ``+``, optionally as
  ``"Name" <digits>`` where the name holds no ``"`` ``<`` ``>`` or control characters.

Every check raises :class:`UnsafeDialInput` naming the field; the message never
repeats the value (it may be a phone number).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from dialerd.domain.ports import AnsweredTarget, DialRequest
from dialerd.errors import UnsafeDialInput

MAX_RING_TIMEOUT_S = 600.0
MAX_KEY_LEN = 140  # ChannelId allows 149; the key also gets a "-2" suffix

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NUMBER = re.compile(r"\+?[0-9]{1,15}")
_CALLER_DIGITS = r"\+?[0-9]{1,20}"
_CALLER_ID = re.compile(rf'(?:"[^"<>\\]*"\s*<{_CALLER_DIGITS}>|{_CALLER_DIGITS})')
_CHANNEL = re.compile(r"[A-Za-z][A-Za-z0-9_]*/[A-Za-z0-9/@._+#*:-]+")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,79}")
_VAR_VALUE_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f,"\\]')
_CONTEXT = re.compile(r"[A-Za-z0-9_.-]{1,79}")
_EXTEN = re.compile(r"[A-Za-z0-9_+*#.-]{1,79}")
_PRIORITY = re.compile(r"[A-Za-z0-9_]{1,40}")
_APPLICATION = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
_KEY = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_KEY_LEN}}}")


def _fail(field: str, why: str) -> UnsafeDialInput:
    return UnsafeDialInput(f"{field}: {why}")


def _no_control(field: str, value: str) -> None:
    if _CONTROL.search(value):
        raise _fail(field, "holds a control character (CR, LF, NUL or similar)")


def _match(field: str, value: object, pattern: re.Pattern[str], what: str) -> str:
    if not isinstance(value, str):
        raise _fail(field, "must be a string")
    _no_control(field, value)
    if not pattern.fullmatch(value):
        raise _fail(field, f"must be {what}")
    return value


def check_number(value: str, field: str = "number") -> str:
    """E.164 digits with an optional leading ``+`` (at most 15 digits)."""
    return _match(field, value, _NUMBER, "E.164 digits with an optional leading +")


def check_caller_id(value: str, field: str = "caller_id") -> str:
    """``+8610...``, ``4000`` or ``"Name" <4000>``; empty means none."""
    if value == "":
        return value
    return _match(field, value, _CALLER_ID, 'digits (optional +) or "Name" <digits>')


def check_channel(value: str, field: str = "channel") -> str:
    """A single dial string ``Tech/resource``: letters, digits and ``/@._-+#*:``."""
    return _match(field, value, _CHANNEL, "Tech/resource of letters, digits and /@._-+#*:")


def check_variable(name: str, value: str, field: str = "variables") -> str:
    """One ``NAME=value`` for an Originate ``Variable`` header; returns that text."""
    _match(f"{field}.name", name, _VAR_NAME, "a name of letters, digits and _")
    if not isinstance(value, str):
        raise _fail(f"{field}.{name}", "must be a string")
    if _VAR_VALUE_FORBIDDEN.search(value):
        raise _fail(f"{field}.{name}", 'must not hold control characters, ",", quotes or "\\"')
    return f"{name}={value}"


def check_variables(values: Mapping[str, str], field: str = "variables") -> list[str]:
    """All of a mapping, as ``NAME=value`` strings in order."""
    return [check_variable(name, value, field) for name, value in values.items()]


def check_key(value: str, field: str = "key") -> str:
    """An idempotency key used as ActionID and ChannelId."""
    return _match(field, value, _KEY, f"1-{MAX_KEY_LEN} of letters, digits and ._-")


def check_context(value: str, field: str = "context") -> str:
    return _match(field, value, _CONTEXT, "a dialplan context of letters, digits and _.-")


def check_exten(value: str, field: str = "exten") -> str:
    return _match(field, value, _EXTEN, "an extension of letters, digits and _+*#.-")


def check_priority(value: str, field: str = "priority") -> str:
    return _match(field, value, _PRIORITY, "a priority number or label")


def check_application(value: str, field: str = "application") -> str:
    return _match(field, value, _APPLICATION, "an application name")


def check_data(value: str, field: str = "data") -> str:
    """Application arguments: anything but control characters."""
    if not isinstance(value, str):
        raise _fail(field, "must be a string")
    _no_control(field, value)
    return value


def check_ring_timeout(value: float, field: str = "ring_timeout_s") -> float:
    if not math.isfinite(value) or not 0 < value <= MAX_RING_TIMEOUT_S:
        raise _fail(field, f"must be more than 0 and at most {MAX_RING_TIMEOUT_S:g} seconds")
    return value


def check_answered(target: AnsweredTarget, field: str = "answered") -> None:
    """Either context+exten(+priority) or an application (+data)."""
    if target.application is not None:
        check_application(target.application, f"{field}.application")
        if target.data is not None:
            check_data(target.data, f"{field}.data")
        return
    if target.context is None or target.exten is None:
        raise _fail(field, "needs context and exten, or an application")
    check_context(target.context, f"{field}.context")
    check_exten(target.exten, f"{field}.exten")
    check_priority(target.priority, f"{field}.priority")


def check_dial_request(request: DialRequest) -> None:
    """Validate every field of a dial that goes on the AMI wire."""
    check_key(request.key)
    if isinstance(request.attempt_id, bool) or not isinstance(request.attempt_id, int):
        raise _fail("attempt_id", "must be an integer")
    check_number(request.number)
    check_channel(request.channel)
    check_caller_id(request.caller_id)
    check_ring_timeout(request.ring_timeout_s)
    check_answered(request.answered)
    check_variables(request.variables)
