"""Digits as people type them: full-width and other Unicode digits, Chinese separators."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialerd.domain.phones import NormalizedNumber, Rejection, fold_digits, normalize

MOBILE = "+8613800138000"
# Decimal digit zero of some scripts: ASCII, full-width, Arabic-Indic, Devanagari,
# Bengali, Thai, mathematical bold (NFKC), mathematical monospace (NFKC).
ZEROS = ("0", "\uff10", "\u0660", "\u0966", "\u09e6", "\u0e50", "\U0001d7ce", "\U0001d7f6")
SEPARATORS = ("", " ", "\u3000", "-", "\uff0d", "\u2014", "\u2013", "\u00a0", "\u200b", ".")


@pytest.mark.parametrize(
    "raw",
    [
        "１３８００１３８０００",  # full-width, as Chinese Excel exports write it
        "１３８　００１３　８０００",  # with ideographic spaces
        "＋８６－１３８－００１３－８０００",  # full-width plus and hyphens
        "138—0013—8000",  # em dashes
        "138–0013–8000",  # en dashes
        "138\u00a00013\u00a08000",  # no-break spaces
        "\u200b13800138000\u200e",  # zero-width space, direction mark
        "\ufeff13800138000",  # a stray BOM in the cell
        "١٣٨٠٠١٣٨٠٠٠",  # Arabic-Indic digits
        "（０１３８）００１３．８０００",  # full-width parentheses and full stop
    ],
)
def test_typed_forms_of_one_mobile(raw: str) -> None:
    found = normalize(raw, "CN")
    assert isinstance(found, NormalizedNumber), found
    assert found.e164 == MOBILE


def test_typed_landline() -> None:
    found = normalize("（０２１）６２３４　５６７８", "CN")
    assert isinstance(found, NormalizedNumber) and found.e164 == "+862162345678"


@pytest.mark.parametrize(
    ("raw", "separator"),
    [
        ("13800138000、13900139000", "、"),
        ("13800138000，13900139000", ","),
        ("13800138000; 13900139000", ";"),
        ("13800138000/13900139000", "/"),
    ],
)
def test_two_numbers_in_one_value_are_refused_with_their_own_reason(
    raw: str, separator: str
) -> None:
    found = normalize(raw, "CN")
    assert isinstance(found, Rejection)
    assert found.reason == "several_numbers"
    assert repr(separator) in found.message and "phone1..phone4" in found.message


def test_fold_digits_leaves_ascii_alone_and_names_what_it_cannot_fold() -> None:
    assert fold_digits("+86 138-0013 8000") == "+86 138-0013 8000"
    assert fold_digits("＋８６　１３８") == "+86 138"
    assert fold_digits("１３８号") == "138号"
    found = normalize("１３８号", "CN")
    assert isinstance(found, Rejection) and "'号'" in found.message


def _typed(national: str, data: st.DataObject) -> str:
    out = []
    for ch in national:
        zero = data.draw(st.sampled_from(ZEROS))
        out.append(chr(ord(zero) + int(ch)))
        out.append(data.draw(st.sampled_from(SEPARATORS)))
    return "".join(out)


@settings(deadline=None)  # no timing: the first parse loads phonenumbers' metadata
@given(
    rest=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
    data=st.data(),
)
def test_any_digit_script_and_separators_read_like_ascii(rest: str, data: st.DataObject) -> None:
    typed = _typed(rest, data)
    assert normalize(typed, "CN") == normalize(rest, "CN")


@settings(deadline=None)
@given(st.text(max_size=40))
def test_nothing_but_digits_ever_comes_out(raw: str) -> None:
    found = normalize(raw, "CN")
    if isinstance(found, NormalizedNumber):
        assert re.fullmatch(r"\+[0-9]{2,15}", found.e164)
        assert not re.search(r"[\r\n;,@&|]", fold_digits(raw))
    else:
        assert found.reason in {
            "empty",
            "unsafe_characters",
            "several_numbers",
            "too_long",
            "invalid_number",
        }


@settings(deadline=None)
@given(st.text(max_size=40))
def test_fold_digits_is_idempotent(raw: str) -> None:
    once = fold_digits(raw)
    assert fold_digits(once) == once
