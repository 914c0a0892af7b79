"""Attempt keys: unique, and never a prefix of one another (Asterisk's ChannelId check)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from hypothesis import given
from hypothesis import strategies as st

from dialerd.engine.claims import DueRow, attempt_key

ids = st.integers(min_value=1, max_value=10**7)
small = st.integers(min_value=1, max_value=999)
keys = st.tuples(ids, ids, st.integers(1, 4), st.integers(1, 40), small)


def _key(campaign: int, contact: int, position: int, round_: int, try_no: int) -> str:
    row: Any = SimpleNamespace(contact_id=contact, position=position, round=round_, try_no=try_no)
    return attempt_key(campaign, cast(DueRow, row))


def test_the_try_is_fixed_width() -> None:
    assert _key(1, 2, 1, 1, 1) == "1-2-1-1-001"
    assert not _key(1, 2, 1, 1, 10).startswith(_key(1, 2, 1, 1, 1))


@given(keys, keys)
def test_no_key_is_a_prefix_of_another(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    ka, kb = _key(*a), _key(*b)
    if a != b:
        assert ka != kb
        assert not kb.startswith(ka)
        assert not (kb + "-2").startswith(ka + "-")  # nor of the other's ;2 half
