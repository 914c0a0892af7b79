"""Scripted callee behaviour shared by the virtual PBX and the AMI simulator."""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from pathlib import Path

import pytest

from dialerd.errors import ConfigError
from dialerd.pbx.scenario import TYPICAL_MIX, Scenario, load_rules, matcher, matches
from dialerd.pbx.simulator.scenario import Scenario as AmiScenario


def test_patterns_match_with_or_without_plus() -> None:
    assert matches("+86138*", "8613800138000") and matches("+86138*", "+8613800138000")
    assert matches("re:\\+?86755\\d+", "+8675512345678")
    assert not matches("+86139*", "+8613800138000")


def test_default_is_the_test_dialplans_last_digit() -> None:
    s = Scenario()
    assert [s.behaviour(f"+861380013800{d}") for d in (0, 1, 3, 8)] == [
        "answered",
        "busy",
        "vacant",
        "answering_machine",
    ]


def test_probabilities_are_shares_and_the_rest_goes_to_the_default() -> None:
    s = Scenario(rules=[("+86138*", {"completed": 0.5})], seed=4)
    got = Counter(s.behaviour("+8613800138001") for _ in range(2000))
    assert set(got) == {"completed", "busy"}  # busy: the number's last digit
    assert 850 < got["completed"] < 1150


def test_file_format_is_one_for_both_simulators(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(
        'seed = 3\n[[rules]]\nmatch = "+86139*"\noutcome = "busy"\n'
        '[[rules]]\nmatch = "*"\noutcomes = { vacant = 1.0 }\n',
        encoding="utf-8",
    )
    rules, seed = load_rules(path)
    assert seed == 3
    assert Scenario.load(path).behaviour("+8613900000000") == "busy"
    assert AmiScenario(rules=rules, seed=seed).template_for("+8613800138000") == "unallocated"


def test_bad_scenarios_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown behaviour"):
        Scenario(rules=[("*", "singing")])
    with pytest.raises(ConfigError, match="sum <= 1"):
        Scenario(rules=[("*", {"busy": 0.8, "vacant": 0.5})])
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nmatch = "*"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="needs match and outcome"):
        load_rules(bad)
    with pytest.raises(ValueError, match="unknown simulated outcome"):
        AmiScenario(rules=[("*", "completed")])  # a disposition the AMI simulator cannot play


def test_the_typical_preset_plays_its_documented_shares() -> None:
    s = Scenario.preset("typical", seed=5)
    got = Counter(s.behaviour(f"+86138001380{i % 100:02d}") for i in range(20_000))
    person = sum(got[b] for b in ("answered", "callback", "refused", "not_present"))
    assert 0.58 < person / 20_000 < 0.62, "a person answers 60 % of dials"
    for behaviour, share in TYPICAL_MIX.items():
        assert abs(got[behaviour] / 20_000 - share) < 0.015, behaviour
    assert abs(sum(TYPICAL_MIX.values()) - 1) < 1e-9, "no dial is left to the last digit"


def test_presets_by_name_and_files_by_path(tmp_path: Path) -> None:
    last = Scenario.named_or_file("last-digit")
    assert last.behaviour("+8613800138003") == "vacant"
    path = tmp_path / "s.toml"
    path.write_text('[[rules]]\nmatch = "*"\noutcome = "busy"\n', encoding="utf-8")
    assert Scenario.named_or_file(str(path)).behaviour("+8613800138000") == "busy"
    with pytest.raises(ConfigError, match="neither a preset"):
        Scenario.named_or_file("typcal")


def _glob(pattern: str, number: str) -> bool:
    """A glob's meaning, as fnmatch gives it, with or without the ``+``."""
    other = number[1:] if number.startswith("+") else "+" + number
    return fnmatch.fnmatchcase(number, pattern) or fnmatch.fnmatchcase(other, pattern)


def test_a_compiled_glob_matches_as_fnmatch_does() -> None:
    numbers = ["+8613800138000", "8613800138000", "+86755123", "1234", "+1", ""]
    for pattern in ["*", "+86138*", "86755*", "+8613?00138000", "[18]*", "*000", "+*"]:
        test = matcher(pattern)
        for number in numbers:
            assert test(number) == _glob(pattern, number), (pattern, number)
    assert matcher(re.compile(r"86\d+"))("+8613800138000")
    assert matcher("re:\\+86\\d+")("8613800138000")
    assert not matcher("re:86\\d+")("+86")
