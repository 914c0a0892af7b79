"""Phone numbers: normalisation to E.164, number type and carrier, dial-string placeholders.

``normalize`` accepts what people type into spreadsheets (``+86 138 0013 8000``,
``0086 13800138000``, ``013800138000``, ``(021) 6234 5678``, ``0755-1234 5678``)
and refuses everything else with a :class:`Rejection`. Digits as people type them
are read as digits first (:func:`fold_digits`): full-width ``１３８…`` from Chinese
Excel exports and any other Unicode digit, the ideographic space, full-width and
typographic dashes and dots, and invisible format marks. After that only digits,
spaces and ``+ - ( ) .`` are allowed: a CR, LF, ``;``, ``@``, ``,`` or a letter in a
number is refused before parsing, so nothing of the kind can ever reach the AMI
wire. Two numbers in one cell (``13800138000、13900139000``) are refused with a
reason of their own (``several_numbers``).

Validity, type and carrier come from ``phonenumbers``. For Chinese mobile numbers
(11 digits starting with 1) they depend only on the first digits, so results are
cached per 5-digit prefix: a million mobiles cost a few regex matches each instead
of a full parse (tests/unit/test_phones.py checks the fast path against the slow one).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

import phonenumbers
import phonenumbers.phonenumberutil as _pnu
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from dialerd.domain.wire import check_channel
from dialerd.errors import UnsafeDialInput

MAX_RAW_LEN = 64  # phone_numbers.raw is VARCHAR(64)
_FORBIDDEN = re.compile(r"[^0-9 +\-().]")
_SEPARATORS = re.compile(r"[ \-().]")
_CN_MOBILE = re.compile(r"(?:\+86|0086|0)?(1[3-9][0-9]{9})")
_CN_PREFIX_DIGITS = 5  # the CN mobile pattern and carrier table look at most at 5 digits
_PLACEHOLDER = re.compile(r"\{([a-z0-9_]*)\}")
_DIAL_PREFIX = re.compile(r"[0-9*#]{0,16}")
# Group separators people type in numbers, after NFKC (which already turns the
# full-width forms and the ideographic space into ASCII): dashes and middle dots.
_SEPARATOR_FORMS = str.maketrans(
    {
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\u2500", "-"),
        **dict.fromkeys("\u00b7\u30fb\u2027", "."),
    }
)
# Between two numbers in one cell: Chinese enumeration comma, commas, semicolons, slashes.
_LIST_SEPARATORS = re.compile(r"[、,;/|]")
_MIN_LISTED_DIGITS = 5

_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
}


class NormalizedNumber(NamedTuple):
    """A valid number: ``e164`` (``+8613800138000``), its type, carrier and region.

    A named tuple rather than a dataclass: it is built once per imported number.
    """

    e164: str
    number_type: str
    carrier: str | None
    region: str | None


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a raw number was refused: a stable ``reason`` code and a readable ``message``.

    Reasons: ``empty``, ``unsafe_characters``, ``several_numbers``, ``too_long``,
    ``invalid_number``.
    """

    reason: str
    message: str


def fold_digits(raw: str) -> str:
    """Digits and separators as typed, in ASCII: ``＋８６ １３８－００１３　８０００`` →
    ``+86 138-0013 8000``.

    NFKC (full-width forms, the ideographic space, no-break spaces), then every
    other Unicode decimal digit to its ASCII digit, typographic dashes to ``-`` and
    middle dots to ``.``; invisible format characters (zero-width space, direction
    marks, a stray BOM) are dropped. Anything else is left for the caller to refuse.
    """
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


def normalize(raw: str, region: str) -> NormalizedNumber | Rejection:
    """Normalise ``raw`` as dialled from ``region`` (ISO 3166 code, e.g. ``CN``)."""
    found = _checked(raw, region)
    if isinstance(found, Rejection):
        return found
    text, region, national = found
    if national is not None:
        by_prefix = _cn_mobile_prefix(national[:_CN_PREFIX_DIGITS])
        if by_prefix is None:
            return Rejection("invalid_number", "not a valid number")
        number_type, carrier_name = by_prefix
        return NormalizedNumber("+86" + national, number_type, carrier_name, "CN")
    return _parse(text, region)


def e164(raw: str, region: str) -> str | Rejection:
    """``normalize(raw, region).e164`` (or its rejection) without the number type and
    carrier: no carrier tables are loaded (a third of a ``dialerd dnc add`` run)."""
    found = _checked(raw, region)
    if isinstance(found, Rejection):
        return found
    text, region, national = found
    if national is not None:
        if _cn_mobile_valid(national[:_CN_PREFIX_DIGITS]):
            return "+86" + national
        return Rejection("invalid_number", "not a valid number")
    parsed = _parsed(text, region)
    if isinstance(parsed, Rejection):
        return parsed
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def _checked(raw: str, region: str) -> tuple[str, str, str | None] | Rejection:
    """``normalize``'s refusals before parsing; else (folded text, region, the national
    digits of a CN mobile number or None)."""
    text = raw.strip()
    if len(text) > MAX_RAW_LEN:
        return Rejection("too_long", f"longer than {MAX_RAW_LEN} characters")
    folded = fold_digits(raw)
    bad = _FORBIDDEN.search(folded)
    if bad is not None:
        parts = _LIST_SEPARATORS.split(folded)
        if len(parts) > 1 and all(_digit_count(p) >= _MIN_LISTED_DIGITS for p in parts):
            return Rejection(
                "several_numbers",
                f"{len(parts)} numbers in one value (separated by {bad.group()!r}): "
                "put each in its own phone1..phone4 column",
            )
        return Rejection(
            "unsafe_characters",
            f"character {bad.group()!r} is not allowed (digits, spaces and + - ( ) . only)",
        )
    text = folded.strip()
    if not text:
        return Rejection("empty", "no number")
    region = region.upper()
    if region == "CN":
        mobile = _CN_MOBILE.fullmatch(_SEPARATORS.sub("", text))
        if mobile is not None:
            return text, region, mobile.group(1)
    return text, region, None


def _parsed(text: str, region: str) -> phonenumbers.PhoneNumber | Rejection:
    """A valid parsed number, or why not."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return Rejection("invalid_number", f"not a phone number ({exc._msg})")
    if not phonenumbers.is_valid_number(number):
        if number.country_code == phonenumbers.country_code_for_region(region):
            why = "not a valid number (a landline needs its area code)"
        else:
            why = "not a valid number"
        return Rejection("invalid_number", why)
    return number


def _parse(text: str, region: str) -> NormalizedNumber | Rejection:
    number = _parsed(text, region)
    if isinstance(number, Rejection):
        return number
    from phonenumbers import carrier  # its tables: loaded only when a carrier is asked for

    return NormalizedNumber(
        e164=phonenumbers.format_number(number, PhoneNumberFormat.E164),
        number_type=_TYPE_NAMES.get(phonenumbers.number_type(number), "unknown"),
        carrier=carrier.name_for_number(number, "en") or None,
        region=phonenumbers.region_code_for_number(number),
    )


def _digit_count(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


@cache
def _cn_mobile_prefix(prefix: str) -> tuple[str, str | None] | None:
    """(type, carrier) of every 11-digit CN number starting with ``prefix``, or None if invalid."""
    found = _parse(prefix + "0" * (11 - len(prefix)), "CN")
    if isinstance(found, Rejection):
        return None
    return found.number_type, found.carrier


@cache
def _cn_mobile_valid(prefix: str) -> bool:
    """Whether 11-digit CN numbers starting with ``prefix`` are valid (no carrier lookup)."""
    return not isinstance(_parsed(prefix + "0" * (11 - len(prefix)), "CN"), Rejection)


def national_digits(e164: str) -> str:
    """The national dialling form, digits only: ``13800138000``, ``01062345678``.

    Computed once per dial, so it takes a short cut where it gives the same answer:
    see :func:`_national_fast` (tests/unit/test_phones.py checks it against this).
    """
    formatted = _national_fast(e164)
    if formatted is None:
        number = phonenumbers.parse(e164, None)
        formatted = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    return "".join(ch for ch in formatted if ch.isascii() and ch.isdigit())


_E164_DIGITS = re.compile(r"\+([1-9][0-9]{2,19})")


def _national_fast(e164: str) -> str | None:
    """``format_number(parse(e164), NATIONAL)`` without re-parsing, or None to take the long way.

    ``parse`` of ``+`` and digits takes the first 1-3 digits that are a country code
    and keeps the rest as the national number, unless the country's national prefix
    pattern matches its start (then it may strip it: the long way). The formatting
    rule is chosen and applied as ``phonenumbers`` does it, with the patterns compiled once
    (compiling them again on every call is most of a ``format_number``).
    """
    m = _E164_DIGITS.fullmatch(e164)
    if m is None:
        return None
    digits = m.group(1)
    for n in (1, 2, 3):
        formats = _country_formats(int(digits[:n]))
        if formats is not None:
            break
    else:
        return None
    strip, rules = formats
    nsn = digits[n:]
    if not 2 <= len(nsn) <= 17 or (strip is not None and strip.match(nsn)):
        return None
    for leading, whole, template in rules:
        if (leading is None or leading.match(nsn)) and whole.fullmatch(nsn):
            return whole.sub(template, nsn)
    return nsn


_Rule = tuple["re.Pattern[str] | None", "re.Pattern[str]", str]


def _national_rule(f: phonenumbers.NumberFormat) -> _Rule | None:
    """A format's patterns, compiled, and the replacement ``_format_nsn_using_pattern`` makes
    for NATIONAL without a carrier code; None for a format without a pattern (the long way)."""
    if f.pattern is None or f.format is None:
        return None
    template = f.format
    if f.national_prefix_formatting_rule:
        template = re.sub(
            _pnu._FIRST_GROUP_PATTERN, f.national_prefix_formatting_rule, template, count=1
        )
    leading = re.compile(f.leading_digits_pattern[-1]) if f.leading_digits_pattern else None
    return leading, re.compile(f.pattern), template


@cache
def _country_formats(code: int) -> tuple[re.Pattern[str] | None, list[_Rule]] | None:
    """A country's national prefix pattern and its national formats, compiled; None if unknown."""
    if code not in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        return None
    region = phonenumbers.region_code_for_country_code(code)
    meta = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region.upper())
    if meta is None:
        return None
    prefix = meta.national_prefix_for_parsing
    rules = [_national_rule(f) for f in meta.number_format]
    if None in rules:
        return None
    return (re.compile(prefix) if prefix else None), [r for r in rules if r is not None]


def render_dial_number(e164: str, placeholder: str, dial_prefix: str = "") -> str:
    """The value of one channel-template placeholder for ``e164``.

    ``e164`` → ``+8613800138000``; ``number`` → ``8613800138000``;
    ``national`` → ``13800138000`` (``01062345678`` for a Beijing landline);
    ``prefix`` → the campaign's ``dial_prefix``.
    """
    if placeholder == "e164":
        return e164
    if placeholder == "number":
        return e164.lstrip("+")
    if placeholder == "national":
        return national_digits(e164)
    if placeholder == "prefix":
        if not _DIAL_PREFIX.fullmatch(dial_prefix):
            raise UnsafeDialInput("dial_prefix: must be at most 16 of digits, * and #")
        return dial_prefix
    raise UnsafeDialInput(
        f"channel: unknown placeholder {{{placeholder}}} (use e164, number, national, prefix)"
    )


def render_channel(template: str, e164: str, dial_prefix: str = "") -> str:
    """Fill ``{e164}``, ``{number}``, ``{national}``, ``{prefix}`` in a channel template.

    ``PJSIP/{prefix}{national}@carrier`` → ``PJSIP/913800138000@carrier``. The result
    is checked as a single dial string (:func:`dialerd.domain.wire.check_channel`).
    """
    rendered = _PLACEHOLDER.sub(
        lambda m: render_dial_number(e164, m.group(1), dial_prefix), template
    )
    return check_channel(rendered)
