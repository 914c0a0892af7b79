"""Scripted callee behaviour for both simulators: which number does what.

A scenario is an ordered list of rules; each maps numbers (a ``*`` glob such as
``"+86138*"``, ``re:`` and a regular expression, or a compiled pattern; numbers
match with or without their ``+``) to one behaviour, or to probabilities of
behaviours. The first matching rule wins; probabilities summing below 1 leave the
rest, like a number no rule matches, to the simulator's default: the recorded test
dialplan, where the number's last digit chooses (0 answered … 9 no user responding).

Scenario files (``dialerd simulate --scenario``, ``python -m dialerd.pbx.simulator
--scenario``) are TOML::

    seed = 7
    [[rules]]
    match = "+86138*"
    outcomes = { answered = 0.3, busy = 0.2 }   # or: outcome = "busy"

Named presets (:data:`PRESETS`) stand in for a file: ``typical`` (what
``dialerd simulate`` plays by default, :data:`TYPICAL_MIX`) and ``last-digit``
(the test dialplan alone).
"""

from __future__ import annotations

import fnmatch
import random
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dialerd.errors import ConfigError

Pattern = str | re.Pattern[str]
RuleSpec = tuple[Pattern, str | Mapping[str, float]]

# The virtual PBX's behaviours: the test dialplan's, in last-digit order ...
LAST_DIGIT = (
    "answered",
    "busy",
    "no_answer",
    "vacant",
    "rejected",
    "congestion",
    "powered_off",
    "early_hangup",
    "answering_machine",
    "no_user_responding",
)
# ... and answered calls whose call flow then sets a disposition.
BEHAVIOURS = (
    *LAST_DIGIT,
    "completed",
    "refused",
    "not_present",
    "inconvenient",
    "callback",
    "dnc_requested",
)


# The callee mix ``dialerd simulate`` plays by default: a person answers 60 % of dials
# (answered, an appointment, a refusal), the rest ring out, are busy, switched off,
# rejected, a machine, a little vacant. An assumption for previews, not a measurement:
# the rulebooks (docs/rulebook.md, seeds 001-004) give no outbound answer rates; docs/operations.md
# ("Preview a campaign") says so and how to play a campaign's own figures instead.
TYPICAL_MIX: Mapping[str, float] = {
    "answered": 0.52,
    "callback": 0.04,
    "refused": 0.02,
    "not_present": 0.02,
    "no_answer": 0.18,
    "busy": 0.06,
    "powered_off": 0.07,
    "rejected": 0.04,
    "answering_machine": 0.02,
    "vacant": 0.03,
}
# Preset name -> rules; the empty rule list leaves every number to the last digit.
PRESETS: Mapping[str, tuple[RuleSpec, ...]] = {
    "typical": (("*", TYPICAL_MIX),),
    "last-digit": (),
}
DEFAULT_PRESET = "typical"


def matches(pattern: Pattern, number: str) -> bool:
    """Whether ``number`` (with or without its ``+``) matches the rule's pattern."""
    return matcher(pattern)(number)


def matcher(pattern: Pattern) -> Callable[[str], bool]:
    """:func:`matches` for one pattern, its expression compiled once (``*``: every number)."""
    if pattern == "*":
        return _every
    if isinstance(pattern, str) and pattern.startswith("re:"):
        pattern = re.compile(pattern[3:])
    test = (
        pattern.fullmatch
        if isinstance(pattern, re.Pattern)
        else re.compile(fnmatch.translate(pattern)).match  # as fnmatch.fnmatchcase
    )

    def match(number: str) -> bool:
        if number.startswith("+"):
            return bool(test(number) or test(number[1:]))
        return bool(test(number) or test("+" + number))

    return match


def _every(number: str) -> bool:
    return True


class RuleSet:
    """Ordered rules; ``pick`` draws a name for a number, or None for the default."""

    def __init__(
        self, rules: Sequence[RuleSpec], *, seed: int | None, check: Callable[[str], object]
    ) -> None:
        for pattern, what in rules:
            for name in [what] if isinstance(what, str) else list(what):
                check(name)  # raises ValueError for a name the simulator cannot play
            if not isinstance(what, str):
                if any(p < 0 for p in what.values()) or sum(what.values()) > 1.000001:
                    raise ValueError(f"the probabilities for {pattern!r} must be >= 0, sum <= 1")
        self.rules = tuple(rules)
        self._tests = tuple((matcher(pattern), what) for pattern, what in self.rules)
        self._rng = random.Random(seed)

    def pick(self, number: str) -> str | None:
        for test, what in self._tests:
            if not test(number):
                continue
            if isinstance(what, str):
                return what
            draw = self._rng.random()
            for name, probability in what.items():
                if draw < probability:
                    return name
                draw -= probability
            return None
        return None


def load_rules(path: Path) -> tuple[list[RuleSpec], int | None]:
    """The rules and seed of a scenario file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    rules: list[RuleSpec] = []
    for i, rule in enumerate(data.get("rules", [])):
        what = rule.get("outcomes", rule.get("outcome"))
        if "match" not in rule or what is None:
            raise ConfigError(f"{path}: rules[{i}]: needs match and outcome or outcomes")
        rules.append((str(rule["match"]), what))
    seed = data.get("seed")
    return rules, int(seed) if seed is not None else None


def _behaviour(name: str) -> str:
    if name not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {name!r} (known: {', '.join(BEHAVIOURS)})")
    return name


@dataclass
class Scenario:
    """The virtual PBX's script (``dialerd simulate``): number -> behaviour."""

    rules: Sequence[RuleSpec] = ()
    seed: int | None = None
    _set: RuleSet = field(init=False, repr=False)

    def __post_init__(self) -> None:
        try:
            self._set = RuleSet(self.rules, seed=self.seed, check=_behaviour)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc

    @classmethod
    def load(cls, path: Path, seed: int | None = None) -> Scenario:
        rules, file_seed = load_rules(path)
        try:
            return cls(rules=rules, seed=seed if seed is not None else file_seed)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from exc

    @classmethod
    def preset(cls, name: str, seed: int | None = None) -> Scenario:
        """A named scenario of :data:`PRESETS`."""
        if name not in PRESETS:
            known = ", ".join(PRESETS)
            raise ConfigError(f"no scenario preset {name!r} (known: {known}; or a TOML file)")
        return cls(rules=PRESETS[name], seed=seed)

    @classmethod
    def named_or_file(cls, what: str, seed: int | None = None) -> Scenario:
        """``--scenario``: a preset's name, else a scenario file's path."""
        if what in PRESETS:
            return cls.preset(what, seed)
        path = Path(what)
        if not path.is_file():
            known = ", ".join(PRESETS)
            raise ConfigError(f"--scenario {what!r}: neither a preset ({known}) nor a file")
        return cls.load(path, seed)

    def behaviour(self, number: str) -> str:
        """What the callee at ``number`` does on this dial."""
        picked = self._set.pick(number)
        if picked is not None:
            return picked
        digits = [c for c in number if c.isdigit()]
        return LAST_DIGIT[int(digits[-1])] if digits else "no_answer"
