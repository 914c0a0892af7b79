"""Caller ID and trunk choice by prefix and carrier (docs/rulebook.md §6)."""

from __future__ import annotations

import pytest

from dialerd.domain.callerid import CallerIdRule, CallerIdRules

DEFAULT = ("4006589888", "PJSIP/{number}@carrier")
CMCC = CallerIdRule(carrier="China Mobile", caller_id="13900000001", channel="PJSIP/{number}@cmcc")
SHENZHEN = CallerIdRule(prefix="+86755", caller_id="075512345678")


def rules(*items: CallerIdRule) -> CallerIdRules:
    return CallerIdRules(DEFAULT[0], DEFAULT[1], items)


def test_no_rules_gives_the_default() -> None:
    assert rules().choose("+8613800138000", "China Mobile") == DEFAULT


def test_carrier_rule_picks_caller_id_and_trunk() -> None:
    chosen = rules(CMCC).choose("+8613800138000", "China Mobile")
    assert chosen == ("13900000001", "PJSIP/{number}@cmcc")


def test_carrier_comparison_ignores_case_and_spaces() -> None:
    assert rules(CMCC).choose("+8613800138000", " china mobile ")[0] == "13900000001"


def test_other_carrier_gets_the_default() -> None:
    assert rules(CMCC).choose("+8613000000000", "China Unicom") == DEFAULT


def test_prefix_rule_keeps_default_channel_when_it_names_none() -> None:
    assert rules(SHENZHEN).choose("+8675512345678", None) == ("075512345678", DEFAULT[1])
    assert rules(SHENZHEN).choose("+861062345678", None) == DEFAULT


def test_first_matching_rule_wins_in_written_order() -> None:
    number, carrier = "+8675512345678", "China Mobile"
    assert rules(SHENZHEN, CMCC).choose(number, carrier)[0] == "075512345678"
    assert rules(CMCC, SHENZHEN).choose(number, carrier)[0] == "13900000001"


def test_rule_naming_carrier_and_prefix_needs_both() -> None:
    both = CallerIdRule(carrier="China Telecom", prefix="+86755", caller_id="075500000000")
    assert rules(both).choose("+8675512345678", "China Telecom")[0] == "075500000000"
    assert rules(both).choose("+8675512345678", "China Unicom") == DEFAULT
    assert rules(both).choose("+8613300000000", "China Telecom") == DEFAULT


@pytest.mark.parametrize("carrier", [None, "", "  "])
def test_unknown_carrier_skips_every_rule_once_rules_name_carriers(carrier: str | None) -> None:
    # The prefix rule would match, but with carrier routing in force an unknown
    # carrier must not get a carrier-specific line: the neutral default is used.
    assert rules(SHENZHEN, CMCC).choose("+8675512345678", carrier) == DEFAULT


def test_unknown_carrier_still_uses_prefix_rules_without_carrier_rules() -> None:
    assert rules(SHENZHEN).choose("+8675512345678", None)[0] == "075512345678"
    assert not rules(SHENZHEN).carrier_aware
    assert rules(SHENZHEN, CMCC).carrier_aware


def test_rule_needs_a_condition() -> None:
    with pytest.raises(ValueError, match="carrier or a prefix"):
        CallerIdRule(caller_id="4000")
