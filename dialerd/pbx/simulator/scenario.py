"""Scripted callee behaviour: which recorded outcome a dialled number gets.

By default the dialplan the recordings were made with ([callee-sim] in
dialerd/pbx/transcripts/extensions.conf): an exact-number variant if one
matches, else the last digit 0-9 (answered human, busy, no answer, vacant,
rejected, congestion, powered off, early hangup, answering machine, no user
responding).
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

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from dialerd.pbx.scenario import RuleSet, RuleSpec

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

Rule = RuleSpec


def template_name(outcome: str) -> str:
    """The recording that plays ``outcome`` (an outcome code or a recording name)."""
    name = OUTCOME_TEMPLATES.get(outcome) or ALIASES.get(outcome, outcome)
    if name not in KNOWN_TEMPLATES:
        raise ValueError(f"unknown simulated outcome {outcome!r}")
    return name


@dataclass
class Scenario:
    """Number -> recording choice; deterministic for a given ``seed``."""

    rules: Sequence[Rule] = ()
    seed: int | None = None
    contexts: frozenset[str] | None = None  # dialplan contexts that exist; None: all but no-such-*
    _set: RuleSet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._set = RuleSet(self.rules, seed=self.seed, check=template_name)

    def has_context(self, context: str) -> bool:
        """Whether the simulated dialplan has this context."""
        if self.contexts is None:
            return not context.startswith("no-such-")
        return context in self.contexts

    def template_for(self, number: str) -> str:
        """The recording to play for a call to ``number``."""
        picked = self._set.pick(number)
        return template_name(picked) if picked is not None else default_template(number)


def default_template(number: str) -> str:
    """The recordings' dialplan ([callee-sim]): exact-number variants, else the last digit."""
    digits = "".join(ch for ch in number if ch.isdigit())
    for exact, name in EXACT_NUMBERS.items():
        if digits == exact or (digits.endswith(exact) and len(digits) - len(exact) <= 3):
            return name
    if not digits:
        return OUTCOME_TEMPLATES["vacant"]
    return OUTCOME_TEMPLATES[DIGIT_OUTCOMES[int(digits[-1])]]
