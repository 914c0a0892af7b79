"""Caller ID and trunk choice per callee: by number prefix and by carrier (docs/rulebook.md §6).

Never call a China Mobile customer from a China Unicom or China Telecom number:
a campaign lists rules such as "carrier China Mobile → caller ID X on trunk
``PJSIP/{number}@cmcc``". Rules are tried in the order written; the first that
matches wins; no match gives the campaign's default caller ID and channel.

A rule matches when every condition it names holds: ``prefix`` (the E.164 number
starts with it, e.g. ``+86755``) and ``carrier`` (equal to the name
``phonenumbers.carrier.name_for_number(n, "en")`` gives, e.g. ``China Mobile``,
compared without case). Safety: once any rule names a carrier, a number whose
carrier is unknown matches no rule at all and gets the default, which should
therefore be a carrier-neutral line (a 400 number, say).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallerIdRule:
    """One rule; ``None`` in ``caller_id`` or ``channel`` keeps the campaign default."""

    carrier: str | None = None
    prefix: str | None = None
    caller_id: str | None = None
    channel: str | None = None

    def __post_init__(self) -> None:
        if self.carrier is None and self.prefix is None:
            raise ValueError("a caller ID rule needs a carrier or a prefix")

    def matches(self, number_e164: str, carrier: str | None) -> bool:
        if self.prefix is not None and not number_e164.startswith(self.prefix):
            return False
        if self.carrier is not None:
            return carrier is not None and _same(self.carrier, carrier)
        return True


@dataclass(frozen=True, slots=True)
class CallerIdRules:
    """A campaign's default caller ID and channel template, and its rules in order."""

    default_caller_id: str
    default_channel: str
    rules: tuple[CallerIdRule, ...] = ()

    @property
    def carrier_aware(self) -> bool:
        """True when some rule depends on the carrier."""
        return any(rule.carrier is not None for rule in self.rules)

    def choose(self, number_e164: str, carrier: str | None) -> tuple[str, str]:
        """``(caller_id, channel_template)`` for one number."""
        known = carrier.strip() if carrier else None
        if known or not self.carrier_aware:
            for rule in self.rules:
                if rule.matches(number_e164, known):
                    return (
                        rule.caller_id or self.default_caller_id,
                        rule.channel or self.default_channel,
                    )
        return self.default_caller_id, self.default_channel


def _same(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


# -- the carrier a number really has (携号转网: ported numbers) ---------------------------

CARRIER_SOURCES = ("ported", "list", "prefix")  # first that knows wins


def effective_carrier(
    prefix: str | None, listed: str | None = None, ported: str | None = None
) -> tuple[str | None, str]:
    """The carrier the caller-ID rules use, and where it came from.

    A number ported to another carrier (携号转网) keeps its prefix, so the prefix
    carrier can be wrong: the ported-numbers lookup ops keep current wins, then the
    carrier the contact list gives (``phoneN_carrier``), then the prefix.
    """
    for name, source in zip((ported, listed, prefix), CARRIER_SOURCES, strict=True):
        if name:
            return name, source
    return None, "prefix"
