"""What an operator names on the do-not-call list: a number, a prefix (``+86755*``) or a contact.

A number is read by :func:`dialerd.domain.phones.e164`: ``normalize``'s checks and
refusals without the number type and carrier, whose tables an entry does not need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from dialerd.domain.phones import Rejection, e164, fold_digits

MIN_PREFIX_DIGITS = 3  # "+86*" would block a whole country: ask for more
_SEPARATORS = re.compile(r"[ \-().]")
_PREFIX = re.compile(rf"\+[0-9]{{{MIN_PREFIX_DIGITS},15}}")


class DncInputError(ValueError):
    """A number, prefix or contact id that cannot become an entry; the message says why."""


@dataclass(frozen=True)
class Target:
    kind: str  # number | prefix | contact
    value: str  # E.164, "+86755*" or an external id

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def number_target(raw: str, region: str) -> Target:
    found = e164(raw, region)
    if isinstance(found, Rejection):
        message = found.message
        if found.reason == "invalid_number":
            message += "; " + prefix_hint(raw, region)
        raise DncInputError(message)
    return Target("number", found)


def prefix_hint(raw: str, region: str) -> str:
    """``a prefix ends with *; did you mean 0755*?`` for digits given without their ``*``.

    Digits that start with the region's country code get the ``+`` form as well, since
    without it they are read as a national prefix (``86755*`` is ``+8686755*``).
    """
    body = _SEPARATORS.sub("", fold_digits(raw).strip())
    hint = f"a prefix ends with *; did you mean {body}*"
    code = str(phonenumbers.country_code_for_region(region.upper()))
    if body.isdigit() and code != "0" and body.startswith(code):
        hint += f" (read as +{code}{body.removeprefix('0')}*) or +{body}*"
    return hint + "?"


def prefix_target(raw: str, region: str) -> Target:
    """``+86755*``, ``0755*``, ``00867 55*`` or ``138*`` (national, in ``region``) → ``+86…*``.

    Full-width and other Unicode digits are read as digits (:func:`fold_digits`).
    """
    body = _SEPARATORS.sub("", fold_digits(raw).strip()).removesuffix("*")
    if not body or not re.fullmatch(r"\+?[0-9]+", body):
        raise DncInputError("a prefix is digits, optionally after +, ending in *")
    if body.startswith("+"):
        found = body
    elif body.startswith("00"):
        found = "+" + body[2:]
    else:
        code = phonenumbers.country_code_for_region(region.upper())
        if code == 0:
            raise DncInputError(f"unknown region {region!r}")
        found = f"+{code}{body.removeprefix('0')}"
    if not _PREFIX.fullmatch(found):
        raise DncInputError(f"prefix {found}* is too short or too long")
    return Target("prefix", found + "*")


def contact_target(raw: str) -> Target:
    value = raw.strip()
    if not value or len(value) > 100:
        raise DncInputError("a contact id is 1 to 100 characters")
    if any(ch < " " for ch in value):
        raise DncInputError("a contact id has no control characters")
    return Target("contact", value)


def parse_target(raw: str, region: str) -> Target:
    """A number, or a prefix when it ends in ``*`` (full-width ``＊`` too)."""
    if fold_digits(raw).strip().endswith("*"):
        return prefix_target(raw, region)
    return number_target(raw, region)
