"""Do-not-call matching: exact numbers, number prefixes and contact ids.

Entries come from the ``dnc_entries`` table (global and per campaign). Lookups are
set lookups: an exact number is one ``in``; a prefix is tried once per distinct
prefix length present, so a million entries cost the same per number as ten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

KINDS = ("number", "prefix", "contact")


@dataclass(frozen=True, slots=True)
class DncRule:
    """One entry: ``kind`` is ``number`` (E.164), ``prefix`` (``+86755*``) or ``contact``."""

    kind: str
    value: str
    reason: str = ""

    def describe(self) -> str:
        text = f"do-not-call {self.kind} {self.value}"
        return f"{text} ({self.reason})" if self.reason else text


class DncMatcher:
    """Answers "may this number of this contact be dialled?" for a set of rules."""

    def __init__(self, rules: Iterable[DncRule]) -> None:
        self._numbers: dict[str, DncRule] = {}
        self._prefixes: dict[str, DncRule] = {}
        self._contacts: dict[str, DncRule] = {}
        self._lengths: list[int] = []
        for rule in rules:
            self.add(rule)

    def add(self, rule: DncRule) -> None:
        if rule.kind == "number":
            self._numbers.setdefault(rule.value.strip(), rule)
        elif rule.kind == "prefix":
            prefix = rule.value.strip().rstrip("*")
            if prefix:
                self._prefixes.setdefault(prefix, rule)
        elif rule.kind == "contact":
            self._contacts.setdefault(rule.value.strip(), rule)
        else:
            raise ValueError(f"unknown do-not-call kind {rule.kind!r} (use {', '.join(KINDS)})")
        self._lengths = sorted({len(p) for p in self._prefixes})

    def __len__(self) -> int:
        return len(self._numbers) + len(self._prefixes) + len(self._contacts)

    def blocks(self, e164: str, external_id: str | None = None) -> str | None:
        """The description of the first rule that forbids dialling ``e164``, else None."""
        rule = self.rule_for(e164, external_id)
        return None if rule is None else rule.describe()

    def blocks_contact(self, external_id: str) -> str | None:
        """The description of the contact rule for ``external_id``, else None."""
        rule = self._contacts.get(external_id)
        return None if rule is None else rule.describe()

    def rule_for(self, e164: str, external_id: str | None = None) -> DncRule | None:
        if external_id is not None and self._contacts:
            rule = self._contacts.get(external_id)
            if rule is not None:
                return rule
        rule = self._numbers.get(e164)
        if rule is not None:
            return rule
        for length in self._lengths:
            if length > len(e164):
                break
            rule = self._prefixes.get(e164[:length])
            if rule is not None:
                return rule
        return None
