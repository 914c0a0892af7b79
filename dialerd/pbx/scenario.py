"""Scripted callee behaviour: which number does what, for the simulators.

A scenario maps numbers (exact, ``*`` globs or ``re:`` regular expressions) to
behaviours, each rule either one behaviour or a probability mix; the first
matching rule wins. Without a match, the recorded test dialplan's rule applies:
the number's last digit chooses (0 answered … 9 no user responding).
"""

from __future__ import annotations

import fnmatch
import random
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dialerd.errors import ConfigError

# What the callee (or the network) does, in the test dialplan's last-digit order ...
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


@dataclass(frozen=True)
class Rule:
    pattern: str
    mix: tuple[tuple[str, float], ...]

    def matches(self, number: str) -> bool:
        if self.pattern.startswith("re:"):
            return re.fullmatch(self.pattern[3:], number) is not None
        return fnmatch.fnmatchcase(number, self.pattern)


@dataclass
class Scenario:
    rules: Sequence[Rule] = ()
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    @classmethod
    def of(
        cls, rules: Sequence[tuple[str, str | Mapping[str, float]]], seed: int | None = None
    ) -> Scenario:
        built = []
        for pattern, what in rules:
            mix = {what: 1.0} if isinstance(what, str) else dict(what)
            unknown = set(mix) - set(BEHAVIOURS)
            if unknown:
                raise ConfigError(
                    f"unknown behaviour {sorted(unknown)[0]!r} for {pattern!r} "
                    f"(known: {', '.join(BEHAVIOURS)})"
                )
            if any(p < 0 for p in mix.values()) or sum(mix.values()) <= 0:
                raise ConfigError(f"the probabilities for {pattern!r} must be positive")
            built.append(Rule(pattern, tuple(mix.items())))
        return cls(rules=tuple(built), seed=seed)

    @classmethod
    def load(cls, path: Path) -> Scenario:
        """``seed = 1`` and ``[[rules]] match = "+86138*"; outcomes = { busy = 0.2, ... }``."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        rules = []
        for i, rule in enumerate(data.get("rules", [])):
            if "match" not in rule or not ({"outcome", "outcomes"} & rule.keys()):
                raise ConfigError(f"{path}: rules[{i}]: needs match and outcome(s)")
            rules.append((str(rule["match"]), rule.get("outcomes", rule.get("outcome"))))
        return cls.of(rules, seed=data.get("seed"))

    def behaviour(self, number: str) -> str:
        """What the callee at ``number`` does on this dial."""
        for rule in self.rules:
            if rule.matches(number):
                names = [n for n, _ in rule.mix]
                weights = [w for _, w in rule.mix]
                return self._rng.choices(names, weights)[0] if len(names) > 1 else names[0]
        digits = [c for c in number if c.isdigit()]
        return LAST_DIGIT[int(digits[-1])] if digits else "no_answer"
