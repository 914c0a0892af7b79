"""What an operator names on the do-not-call list: a number, a prefix (``+86755*``) or a contact.

A number is normalised to E.164 as :func:`dialerd.domain.phones.normalize` does it
(same checks, same refusals), without the number type and carrier ``normalize``
also works out: those need ``phonenumbers``' carrier tables, a third of a
``dialerd dnc add`` run, and an entry keeps only the number.
tests/unit/test_dnc_targets.py compares the two on the inputs of tests/unit/test_phones.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers

MIN_PREFIX_DIGITS = 3  # "+86*" would block a whole country: ask for more
MAX_RAW_LEN = 64  # dialerd.domain.phones.MAX_RAW_LEN
_SEPARATORS = re.compile(r"[ \-().]")
_PREFIX = re.compile(rf"\+[0-9]{{{MIN_PREFIX_DIGITS},15}}")
_FORBIDDEN = re.compile(r"[^0-9 +\-().]")
_CN_MOBILE = re.compile(r"(?:\+86|0086|0)?(1[3-9][0-9]{9})")
_LIST_SEPARATORS = re.compile(r"[、,;/|]")
_MIN_LISTED_DIGITS = 5
_SEPARATOR_FORMS = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\u2500", "-"),
        **dict.fromkeys("\u00b7\u30fb\u2027", "."),
    }
)


class DncInputError(ValueError):
    """A number, prefix or contact id that cannot become an entry; the message says why."""


@dataclass(frozen=True)
class Target:
    kind: str  # number | prefix | contact
    value: str  # E.164, "+86755*" or an external id

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


def fold_digits(raw: str) -> str:
    """:func:`dialerd.domain.phones.fold_digits`: digits and separators as typed, in ASCII."""
    if raw.isascii():
        return raw
    visible = "".join(ch for ch in raw if ch.isascii() or unicodedata.category(ch) != "Cf")
    text = unicodedata.normalize("NFKC", visible).translate(_SEPARATOR_FORMS)
    if text.isascii():
        return text
    return "".join(ch if ch.isascii() else _ascii_digit(ch) for ch in text)


def _ascii_digit(ch: str) -> str:
    digit = unicodedata.decimal(ch, None)
    return ch if digit is None else str(digit)


def _refusal(raw: str) -> tuple[str, str] | None:
    """``normalize``'s refusals before parsing: (reason, message), or None."""
    if len(raw.strip()) > MAX_RAW_LEN:
        return "too_long", f"longer than {MAX_RAW_LEN} characters"
    folded = fold_digits(raw)
    bad = _FORBIDDEN.search(folded)
    if bad is not None:
        parts = _LIST_SEPARATORS.split(folded)
        if len(parts) > 1 and all(
            sum(ch.isdigit() for ch in p) >= _MIN_LISTED_DIGITS for p in parts
        ):
            return (
                "several_numbers",
                f"{len(parts)} numbers in one value (separated by {bad.group()!r}): "
                "put each in its own phone1..phone4 column",
            )
        return (
            "unsafe_characters",
            f"character {bad.group()!r} is not allowed (digits, spaces and + - ( ) . only)",
        )
    if not folded.strip():
        return "empty", "no number"
    return None


def e164(raw: str, region: str) -> str | tuple[str, str]:
    """``raw`` in E.164 as ``normalize`` gives it, or ``normalize``'s (reason, message)."""
    refused = _refusal(raw)
    if refused is not None:
        return refused
    text, region = fold_digits(raw).strip(), region.upper()
    if region == "CN":
        mobile = _CN_MOBILE.fullmatch(_SEPARATORS.sub("", text))
        if mobile is not None:  # valid or not by its first five digits, as normalize
            national = mobile.group(1)
            sample = _parse(national[:5] + "0" * 6, "CN")
            if isinstance(sample, tuple):
                return "invalid_number", "not a valid number"
            return "+86" + national
    return _parse(text, region)


def _parse(text: str, region: str) -> str | tuple[str, str]:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return "invalid_number", f"not a phone number ({exc._msg})"
    if not phonenumbers.is_valid_number(number):
        if number.country_code == phonenumbers.country_code_for_region(region):
            return "invalid_number", "not a valid number (a landline needs its area code)"
        return "invalid_number", "not a valid number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def number_target(raw: str, region: str) -> Target:
    found = e164(raw, region)
    if isinstance(found, tuple):
        reason, message = found
        if reason == "invalid_number":
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
