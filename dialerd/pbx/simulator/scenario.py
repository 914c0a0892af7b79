"""Scripted callee behaviour: which recorded outcome a dialled number gets.

By default the fixtures' dialplan: an exact-number variant if one matches,
else the last digit 0-9 (answered human, busy, no answer, vacant, rejected,
congestion, powered off, early hangup, answering machine, no user responding).
Rules map numbers (a glob string such as ``"+86138*"``, a compiled regex or a
``"re:..."`` string)
to one outcome or to outcome probabilities; the first matching rule wins, and
probabilities summing below 1 leave the rest to the default rule::

    Scenario(rules=[("+86138*", {"answered": 0.3, "busy": 0.2})], seed=1)

Outcomes are dialerd outcome codes (``answered``, ``busy``, ``no_answer``,
``vacant``, ``rejected``, ``line_fault``, ``powered_off``, ``early_hangup``,
``answering_machine``, ``no_user_responding``; ``congestion`` = ``line_fault``)
or a recording's name.
"""

from __future__ import annotations

import fnmatch
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = ["DIGIT_OUTCOMES", "EXACT_NUMBERS", "OUTCOME_TEMPLATES", "Scenario", "template_name"]

OUTCOME_TEMPLATES: Mapping[str, str] = {
    "answered": "answered-human",
    "busy": "busy",
    "no_answer": "no-answer",
    "vacant": "unallocated",
    "rejected": "rejected",
    "line_fault": "congestion",
    "powered_off": "subscriber-absent",
    "early_hangup": "answered-early-hangup",
    "answering_machine": "answering-machine",
    "no_user_responding": "no-user-responding",
}
DIGIT_OUTCOMES = tuple(OUTCOME_TEMPLATES)  # index = last digit of the number
ALIASES: Mapping[str, str] = {"congestion": "congestion"}  # the virtual PBX's vocabulary
EXACT_NUMBERS: Mapping[str, str] = {
    "13900000000": "x-answered-after-ringing",
    "13900000001": "x-cause17-no-busy-indication",
    "13900000002": "x-no-answer-no-ringing",
    "13900000005": "x-cause34-circuit-congestion",
    "13900000015": "x-cause38-network-out-of-order",
    "13900000008": "x-answered-dead-air",
    "13900000009": "x-cause19-no-answer",
}
OTHER_TEMPLATES = frozenset(
    {"nonexistent-callee-context", "bad-channel-tech", "answered-application-wait"}
)
KNOWN_TEMPLATES = (
    frozenset(OUTCOME_TEMPLATES.values()) | set(EXACT_NUMBERS.values()) | OTHER_TEMPLATES
)

Pattern = str | re.Pattern[str]
Rule = tuple[Pattern, str | Mapping[str, float]]


def template_name(outcome: str) -> str:
    """The recording that plays ``outcome`` (an outcome code or a recording name)."""
    name = OUTCOME_TEMPLATES.get(outcome) or ALIASES.get(outcome, outcome)
    if name not in KNOWN_TEMPLATES:
        raise ValueError(f"unknown simulated outcome {outcome!r}")
    return name


def _matches(pattern: Pattern, number: str) -> bool:
    candidates = (number, "+" + number) if not number.startswith("+") else (number, number[1:])
    if isinstance(pattern, str) and pattern.startswith("re:"):
        pattern = re.compile(pattern[3:])
    if isinstance(pattern, re.Pattern):
        return any(pattern.fullmatch(c) for c in candidates)
    return any(fnmatch.fnmatchcase(c, pattern) for c in candidates)


@dataclass
class Scenario:
    """Number -> recording choice; deterministic for a given ``seed``."""

    rules: Sequence[Rule] = ()
    seed: int | None = None
    contexts: frozenset[str] | None = None  # dialplan contexts that exist; None: all but no-such-*
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        for _, outcome in self.rules:
            for name in [outcome] if isinstance(outcome, str) else list(outcome):
                template_name(name)
            if not isinstance(outcome, str) and sum(outcome.values()) > 1.000001:
                raise ValueError("outcome probabilities of one rule sum above 1")

    def has_context(self, context: str) -> bool:
        """Whether the simulated dialplan has this context."""
        if self.contexts is None:
            return not context.startswith("no-such-")
        return context in self.contexts

    def template_for(self, number: str) -> str:
        """The recording to play for a call to ``number``."""
        for pattern, outcome in self.rules:
            if not _matches(pattern, number):
                continue
            if isinstance(outcome, str):
                return template_name(outcome)
            draw = self._rng.random()
            for name, probability in outcome.items():
                if draw < probability:
                    return template_name(name)
                draw -= probability
            break
        return default_template(number)


def default_template(number: str) -> str:
    """The fixtures' dialplan: exact-number variants, else the last digit."""
    digits = "".join(ch for ch in number if ch.isdigit())
    for exact, name in EXACT_NUMBERS.items():
        if digits == exact or (digits.endswith(exact) and len(digits) - len(exact) <= 3):
            return name
    if not digits:
        return OUTCOME_TEMPLATES["vacant"]
    return OUTCOME_TEMPLATES[DIGIT_OUTCOMES[int(digits[-1])]]
