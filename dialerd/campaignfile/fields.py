"""Validated types of campaign files: the tables' strict base, names, zones, days, dial text."""

from __future__ import annotations

import difflib
import functools
import re
import string
from collections.abc import Callable, Iterable
from datetime import time
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import phonenumbers
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

from dialerd.domain import wire
from dialerd.domain.phones import render_channel
from dialerd.errors import UnsafeDialInput

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PLACEHOLDERS = ("e164", "number", "national", "prefix")
NUMBER_PLACEHOLDERS = frozenset({"e164", "number", "national"})
_SAMPLE_E164 = "+8613800138000"
_CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")
_DIGITS = re.compile(r"\+?[0-9]{1,20}")
_PREFIX = re.compile(r"\+[0-9]{1,14}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def hint(word: str, choices: Iterable[str]) -> str:
    """``' (did you mean "busy"?)'`` when a choice is close to ``word``, else ``''``."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    close = close or [o for o in options if word and o.startswith(word)][:1]
    return f' (did you mean "{close[0]}"?)' if close else ""


def _error(kind: str, message: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, context or None)


def _check(fn: Callable[[str], object]) -> Callable[[str], str]:
    """Turn a ``dialerd.domain.wire`` check into a pydantic validator."""

    def validate(value: str) -> str:
        try:
            fn(value)
        except UnsafeDialInput as exc:
            raise _error("unsafe_dial_input", str(exc).split(": ", 1)[-1]) from None
        return value

    return validate


def _campaign_name(value: str) -> str:
    if not _NAME.fullmatch(value):
        raise _error(
            "campaign_name", "1-100 letters, digits and ._- starting with a letter or digit"
        )
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _error(
            "timezone", '"{value}" is not an IANA time zone like "Asia/Shanghai"', value=value
        ) from None
    return value


def _region(value: str) -> str:
    upper = value.upper()
    if upper not in phonenumbers.SUPPORTED_REGIONS:
        raise _error(
            "region",
            '"{value}" is not a phone region code like "CN"{hint}',
            value=value,
            hint=hint(upper, phonenumbers.SUPPORTED_REGIONS),
        )
    return upper


def _squash(name: str) -> str:
    return re.sub(r"[\s_-]", "", name).casefold()


@functools.cache
def _alpha2_by_name() -> dict[str, str]:
    """Country names (``china``, ``unitedstates``) and alpha-3 codes -> the alpha-2 code."""
    names: dict[str, str] = {}
    for module, (cls, alpha2, *others) in holidays.registry.COUNTRIES.items():
        for name in (module, cls, *others):
            if not name.startswith("Holidays"):
                names.setdefault(_squash(name), alpha2)
    return names


def _country_hint(country: str) -> str:
    """A did-you-mean with the alpha-2 code: ``"China"`` or ``"CHN"`` -> ``"CN"``."""
    by_name = _alpha2_by_name()
    exact = by_name.get(_squash(country))
    if exact is not None:
        return f' (did you mean "{exact}"?)'
    close = difflib.get_close_matches(_squash(country), list(by_name), n=1, cutoff=0.75)
    if close:
        return f' (did you mean "{by_name[close[0]]}"?)'
    alpha2 = sorted(set(by_name.values()))
    return hint(country.upper(), alpha2) if len(country) <= 2 else ""


@functools.cache
def _country_codes() -> frozenset[str]:
    """The codes the holidays package knows (aliases too), read from its registry.

    ``holidays.list_supported_countries()`` imports every country's module to list
    subdivisions (a third of a second); only the one country named needs loading.
    """
    return frozenset(holidays.registry.EntityLoader.get_country_codes(include_aliases=True))


def _subdivisions(country: str) -> list[str]:
    return list(getattr(holidays, country).subdivisions)


def _holiday_country(value: str) -> str:
    """``"CN"``, or a country with a subdivision: ``"US-NY"``."""
    country, _, subdivision = value.partition("-")
    country = country.upper()
    if country not in _country_codes():
        raise _error(
            "holiday_country",
            '"{value}" is not a country code the holidays package knows{hint}',
            value=value,
            hint=_country_hint(value.partition("-")[0]),
        )
    if subdivision and subdivision.upper() not in _subdivisions(country):
        raise _error(
            "holiday_country",
            '"{value}": {country} has no subdivision "{sub}" in the holidays package{hint}',
            value=value,
            country=country,
            sub=subdivision,
            hint=hint(subdivision.upper(), _subdivisions(country)),
        )
    return f"{country}-{subdivision.upper()}" if subdivision else country


def parse_days(value: str) -> frozenset[int]:
    """``"mon-fri"`` → {0..4}; ``"mon,wed,fri"``, ``"sat"``, ``"daily"``; ranges may wrap."""
    text = value.strip().lower()
    if text == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        ends = [end.strip() for end in part.split("-")]
        if len(ends) > 2 or not all(end in DAY_NAMES for end in ends):
            raise ValueError(f'"{value}" is not days like "mon-fri", "sat", "mon,wed,fri", "daily"')
        first, last = DAY_NAMES.index(ends[0]), DAY_NAMES.index(ends[-1])
        days.update((first + i) % 7 for i in range((last - first) % 7 + 1))
    return frozenset(days)


def _days(value: str) -> str:
    try:
        parse_days(value)
    except ValueError as exc:
        raise _error("days", str(exc)) from None
    return value


def parse_clock(value: str) -> int:
    """``"09:30"`` → 570 minutes after midnight; ``"24:00"`` → 1440."""
    match = _CLOCK.fullmatch(value)
    minutes = int(match.group(1)) * 60 + int(match.group(2)) if match else -1
    if not 0 <= minutes <= 1440:
        raise ValueError(f'"{value}" is not a time like "09:00" (00:00 to 24:00)')
    return minutes


def _clock(value: Any) -> Any:
    if isinstance(value, time):
        if value.second or value.microsecond:
            raise _error("clock_time", 'whole minutes only, like "09:00"')
        return value.strftime("%H:%M")
    if isinstance(value, str):
        try:
            parse_clock(value)
        except ValueError as exc:
            raise _error("clock_time", str(exc)) from None
    return value


def _channel_template(value: str) -> str:
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(value)]
    except ValueError:
        raise _error("channel", "unbalanced { } in the channel template") from None
    names = {name for name, _, _ in fields if name is not None}
    unknown = sorted(names - set(PLACEHOLDERS))
    if unknown:
        raise _error(
            "channel",
            "unknown placeholder {name}{hint}; known: {known}",
            name=f"{{{unknown[0]}}}",
            hint=hint(unknown[0], PLACEHOLDERS),
            known=", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
        )
    if any(spec or conv for name, spec, conv in fields if name is not None):
        raise _error("channel", "placeholders take no format spec or conversion")
    if not names & NUMBER_PLACEHOLDERS:
        raise _error("channel", "needs a number placeholder: {e164}, {number} or {national}")
    try:
        render_channel(value, _SAMPLE_E164, "9")
    except UnsafeDialInput as exc:
        raise _error("channel", str(exc).split(": ", 1)[-1]) from None
    return value


def _digits(value: str) -> str:
    if not _DIGITS.fullmatch(value):
        raise _error("caller_id", "digits only, with an optional leading +")
    return value


def _prefix(value: str) -> str:
    if not _PREFIX.fullmatch(value):
        raise _error("prefix", 'an E.164 prefix like "+86755": + then digits')
    return value


def _dial_prefix(value: str) -> str:
    if not re.fullmatch(r"[0-9*#]{0,16}", value):
        raise _error("dial_prefix", "at most 16 of 0-9 * #")
    return value


def _int_to_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


CampaignName = Annotated[str, AfterValidator(_campaign_name)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
Region = Annotated[str, AfterValidator(_region)]
HolidayCountry = Annotated[str, AfterValidator(_holiday_country)]
Days = Annotated[str, AfterValidator(_days)]
ClockTime = Annotated[str, BeforeValidator(_clock)]
ChannelTemplate = Annotated[str, AfterValidator(_channel_template)]
CallerId = Annotated[str, BeforeValidator(_int_to_str), AfterValidator(_digits)]
NumberPrefix = Annotated[str, AfterValidator(_prefix)]
DialPrefix = Annotated[str, AfterValidator(_dial_prefix)]
Context = Annotated[str, AfterValidator(_check(wire.check_context))]
Exten = Annotated[str, AfterValidator(_check(wire.check_exten))]
Priority = Annotated[str, BeforeValidator(_int_to_str), AfterValidator(_check(wire.check_priority))]
Application = Annotated[str, AfterValidator(_check(wire.check_application))]
AppData = Annotated[str, AfterValidator(_check(wire.check_data))]


class Strict(BaseModel):
    """Base of every table: unknown keys are errors, values are frozen once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)
