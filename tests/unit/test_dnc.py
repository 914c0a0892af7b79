"""Do-not-call matching: exact numbers, prefixes, contact ids."""

from __future__ import annotations

import pytest

from dialerd.domain.dnc import DncMatcher, DncRule


def test_exact_number() -> None:
    dnc = DncMatcher([DncRule("number", "+8613800138000", "complained")])
    assert dnc.blocks("+8613800138000") == "do-not-call number +8613800138000 (complained)"
    assert dnc.blocks("+8613800138001") is None


@pytest.mark.parametrize("value", ["+86755*", "+86755"])
def test_prefix_with_or_without_star(value: str) -> None:
    dnc = DncMatcher([DncRule("prefix", value)])
    assert dnc.blocks("+8675512345678") == f"do-not-call prefix {value}"
    assert dnc.blocks("+862162345678") is None
    assert dnc.blocks("+8675") is None


def test_contact_rule_by_external_id() -> None:
    dnc = DncMatcher([DncRule("contact", "C-42", "exempt")])
    assert dnc.blocks("+8613800138000", "C-42") == "do-not-call contact C-42 (exempt)"
    assert dnc.blocks_contact("C-42") is not None
    assert dnc.blocks("+8613800138000", "C-43") is None
    assert dnc.blocks("+8613800138000") is None


def test_several_prefix_lengths_and_many_entries() -> None:
    rules = [DncRule("number", f"+86139{i:08d}") for i in range(50_000)]
    rules += [DncRule("prefix", "+861"), DncRule("prefix", "+8621*")]
    dnc = DncMatcher(rules)
    assert len(dnc) == 50_002
    assert dnc.blocks("+8613900000007") == "do-not-call number +8613900000007"
    assert dnc.blocks("+8618900000007") == "do-not-call prefix +861"
    assert dnc.blocks("+862162345678") == "do-not-call prefix +8621*"
    assert dnc.blocks("+8675512345678") is None


def test_unknown_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown do-not-call kind"):
        DncMatcher([DncRule("email", "x@example.com")])
