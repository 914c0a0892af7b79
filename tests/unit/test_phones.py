"""Number normalisation: the forms people type, the refusals, and the dial-string placeholders."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from dialerd.domain import phones
from dialerd.domain.phones import (
    NormalizedNumber,
    Rejection,
    normalize,
    render_channel,
    render_dial_number,
)
from dialerd.errors import UnsafeDialInput


@pytest.mark.parametrize(
    "raw",
    [
        "+86 138 0013 8000",
        "0086 13800138000",
        "138 0013 8000",
        "13800138000",
        "013800138000",
        " 138-0013-8000 ",
        "(138) 0013.8000",
    ],
)
def test_cn_mobile_forms(raw: str) -> None:
    found = normalize(raw, "CN")
    assert found == NormalizedNumber("+8613800138000", "mobile", "China Mobile", "CN")


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("010-62345678", "+861062345678"),
        ("(021) 6234 5678", "+862162345678"),
        ("0755-1234 5678", "+8675512345678"),
        ("+86 10 6234 5678", "+861062345678"),
    ],
)
def test_cn_landlines_with_area_code(raw: str, e164: str) -> None:
    found = normalize(raw, "CN")
    assert isinstance(found, NormalizedNumber)
    assert (found.e164, found.number_type, found.carrier) == (e164, "fixed_line", None)


def test_region_is_case_insensitive_and_other_regions_work() -> None:
    assert isinstance(normalize("13800138000", "cn"), NormalizedNumber)
    found = normalize("(202) 555-0173", "US")
    assert isinstance(found, NormalizedNumber)
    assert found.e164 == "+12025550173"


@pytest.mark.parametrize(
    "raw",
    [
        "62345678",  # a landline without its area code
        "12345",
        "1380013800",  # one digit short
        "138001380001",  # one digit long
        "12000000000",  # no such mobile range
        "+86 999",
        "+86 138 0013 80001",
    ],
)
def test_invalid_numbers_are_rejected(raw: str) -> None:
    found = normalize(raw, "CN")
    assert isinstance(found, Rejection)
    assert found.reason == "invalid_number"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000\r\nAction: Command",
        "13800138000\r",
        "13800138000\n",
        "\n13800138000",
        "13800138000;1",
        "13800138000@trunk",
        "13800138000,w123",
        "1380013800O",  # a letter O
        "138\t0013 8000",
        "１３８００１３８０００\r\n",  # full-width digits are digits; the CR/LF is not
        "13800138000；1",  # a full-width semicolon is a semicolon
        "13800138000﹫trunk",  # so is a small commercial at
        "1380013800Ｏ",  # and a full-width letter O
        "13800138000&PJSIP/x",
        "13800138000\x00",
    ],
)
def test_characters_that_could_reach_the_wire_are_refused(raw: str) -> None:
    found = normalize(raw, "CN")
    assert isinstance(found, Rejection)
    assert found.reason == "unsafe_characters"
    assert "not allowed" in found.message


def test_empty_and_overlong() -> None:
    assert normalize("   ", "CN") == Rejection("empty", "no number")
    found = normalize("1" * 65, "CN")
    assert isinstance(found, Rejection)
    assert found.reason == "too_long"


def test_landline_without_area_code_says_so() -> None:
    found = normalize("6234 5678", "CN")
    assert isinstance(found, Rejection)
    assert "area code" in found.message


@pytest.mark.timeout(120)  # 7,000 parses: 1 s on an idle machine, 3.6 s with both cores busy
def test_cn_mobile_fast_path_agrees_with_a_full_parse() -> None:
    """Every 5-digit mobile prefix (the cache key), each with a random rest of the number."""
    rng = random.Random(7)
    for prefix in range(13000, 20000):
        national = f"{prefix}{rng.randrange(10**6):06d}"
        slow = phones._parse(national, "CN")
        fast = normalize(national, "CN")
        if isinstance(slow, Rejection):
            assert isinstance(fast, Rejection), national
        else:
            assert fast == slow, national


def _national_the_long_way(e164: str) -> str:
    formatted = phonenumbers.format_number(
        phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    return "".join(ch for ch in formatted if ch.isascii() and ch.isdigit())


@pytest.mark.timeout(120)  # 1.7 s on an idle machine, 5 s with both cores busy
def test_national_digits_short_cut_agrees_with_parse_and_format() -> None:
    """Every region's example numbers, each with random digits changed, added or dropped."""
    rng = random.Random(11)
    short_cut = checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in range(11):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            for _ in range(8):
                digits = list(e164[1:])
                for _ in range(rng.randint(0, 4)):
                    digits[rng.randrange(len(digits))] = str(rng.randint(0, 9))
                if rng.random() < 0.2:
                    digits.pop()
                if rng.random() < 0.2:
                    digits.append(str(rng.randint(0, 9)))
                number = "+" + "".join(digits)
                try:
                    expected = _national_the_long_way(number)
                except phonenumbers.NumberParseException:
                    continue
                checked += 1
                short_cut += phones._national_fast(number) is not None
                assert phones.national_digits(number) == expected, number
    assert short_cut > 0.9 * checked > 5000  # the short cut is the common case


@pytest.mark.parametrize(
    ("placeholder", "e164", "expected"),
    [
        ("e164", "+8613800138000", "+8613800138000"),
        ("number", "+8613800138000", "8613800138000"),
        ("national", "+8613800138000", "13800138000"),
        ("national", "+861062345678", "01062345678"),
        ("national", "+8675512345678", "075512345678"),
        ("prefix", "+8613800138000", "9"),
    ],
)
def test_placeholders(placeholder: str, e164: str, expected: str) -> None:
    assert render_dial_number(e164, placeholder, "9") == expected


def test_render_channel() -> None:
    assert (
        render_channel("PJSIP/{prefix}{national}@carrier", "+861062345678", "9")
        == "PJSIP/901062345678@carrier"
    )
    assert render_channel("PJSIP/{number}@gw", "+8613800138000") == "PJSIP/8613800138000@gw"


@pytest.mark.parametrize(
    ("template", "prefix"),
    [
        ("PJSIP/{nope}@carrier", ""),
        ("PJSIP/{prefix}{e164}@carrier", "9\r\nAction: Command"),
        ("PJSIP/{prefix}{e164}@carrier", "9&"),
        ("PJSIP/{e164}@carrier&PJSIP/x", ""),
    ],
)
def test_render_channel_refuses_unsafe_results(template: str, prefix: str) -> None:
    with pytest.raises(UnsafeDialInput):
        render_channel(template, "+8613800138000", prefix)
