"""Durations in campaign files: unit always written, serialised back the same way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from dialerd.campaignfile.durations import Duration, format_duration, parse_duration


class _M(BaseModel):
    d: Duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6h", 21_600),
        ("30s", 30),
        ("1h30m", 5_400),
        ("90m", 5_400),
        ("2d", 172_800),
        ("1d2h3m4s", 93_784),
        (" 1H 30M ", 5_400),
        ("0s", 0),
    ],
)
def test_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "30", "6 hours", "1.5h", "30m1h", "-5s", "h", "5x"])
def test_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like"):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**7))
def test_format_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


def test_format_is_compact() -> None:
    assert format_duration(timedelta(minutes=90)) == "1h30m"
    assert format_duration(timedelta(hours=6)) == "6h"


@pytest.mark.parametrize("value", [30, 30.0, True])
def test_bare_numbers_are_refused_as_ambiguous(value: object) -> None:
    with pytest.raises(ValidationError, match="write the unit"):
        _M(d=value)


def test_field_dumps_to_json_as_written() -> None:
    assert _M(d="1h30m").model_dump(mode="json") == {"d": "1h30m"}
    assert _M(d="90m").d == timedelta(minutes=90)
