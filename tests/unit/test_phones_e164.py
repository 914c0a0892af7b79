"""``domain.phones.e164`` reads numbers exactly as ``domain.phones.normalize`` does.

It skips ``normalize``'s carrier and type look-ups (the carrier tables are a third
of a ``dialerd dnc add`` run); the E.164 value and every refusal must stay the same.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dialerd.actions import dnc_targets
from dialerd.domain.phones import Rejection, e164, normalize

RAW = [
    "+86 138 0013 8000",
    "0086 13800138000",
    "138 0013 8000",
    "013800138000",
    " 138-0013-8000 ",
    "(138) 0013.8000",
    "１３８－００１３　８０００",
    "＋８６ １３８ ００１３ ８０００",
    "\u200b13800138000\ufeff",
    "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits
    "010-62345678",
    "(021) 6234 5678",
    "0755-1234 5678",
    "+86 10 6234 5678",
    "(202) 555-0173",
    "+1 202 555 0173",
    "+44 20 7946 0958",
    "62345678",
    "12345",
    "1380013800",
    "138001380001",
    "12000000000",
    "19200000000",
    "+86 999",
    "+86 138 0013 80001",
    "13800138000\r\nAction: Command",
    "13800138000;1",
    "13800138000、13900139000",
    "13800138000, 13900139000",
    "1380013800Ｏ",
    "   ",
    "",
    "1" * 65,
    "+",
    "++8613800138000",
    "abc",
]
REGIONS = ["CN", "cn", "US", "GB", "HK"]


def _expected(raw: str, region: str) -> str | Rejection:
    found = normalize(raw, region)
    return found if isinstance(found, Rejection) else found.e164


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("raw", RAW)
def test_numbers_read_as_normalize_reads_them(raw: str, region: str) -> None:
    assert e164(raw, region) == _expected(raw, region)


def test_every_cn_mobile_prefix_reads_as_normalize_reads_it() -> None:
    rng = random.Random(11)
    for first in range(130, 200):
        for _ in range(3):
            raw = f"{first}{rng.randrange(10**8):08d}"
            assert e164(raw, "CN") == _expected(raw, "CN"), raw


@given(st.text(alphabet="0123456789 +-().１２３＋－　、,;*xO\u200b", max_size=24))
def test_any_typed_text_reads_as_normalize_reads_it(raw: str) -> None:
    assert e164(raw, "CN") == _expected(raw, "CN")


def test_the_dnc_module_still_offers_the_reader() -> None:
    from dialerd.actions import dnc

    assert dnc.parse_target is dnc_targets.parse_target
    assert dnc.DncInputError is dnc_targets.DncInputError
    assert dnc.parse_target("138 0013 8000", "CN") == dnc_targets.Target("number", "+8613800138000")
