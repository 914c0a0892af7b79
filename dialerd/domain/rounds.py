"""A round's result: one outcome chosen from the results of its dials, by precedence.

The manual keeps every number's result and picks one per round for the contact
(docs/rulebook.md §1: 四个结果均需备注). dialerd picks the result that says the most
about *the person*, most definite first:

1. the person was reached and it settled the contact: ``completed``, ``answered``,
   ``dnc_requested``, ``refused``;
2. the person was reached, without settling it: ``callback_requested``,
   ``inconvenient``, ``not_present``, ``early_hangup``;
3. the phone reacted to the call: ``rejected``, ``busy``, ``powered_off``, ``no_answer``;
4. the network was in the way: ``out_of_service_area``, ``arrears``, ``line_fault``;
5. the number will not reach the person: ``answering_machine``, ``suspended``,
   ``incoming_barred``, ``vacant``;
6. our own failures (normally replaced by the redial's result): ``abandoned`` (the
   person answered, no agent was free), ``internal_failure``, ``interrupted``.

Since a contact-terminal result ends the round, it is always the round's last
dial; ranking those first makes the round result name why the contact closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from dialerd.domain.outcomes import Outcome

PRECEDENCE: tuple[Outcome, ...] = (
    Outcome.completed,
    Outcome.answered,
    Outcome.dnc_requested,
    Outcome.refused,
    Outcome.callback_requested,
    Outcome.inconvenient,
    Outcome.not_present,
    Outcome.early_hangup,
    Outcome.rejected,
    Outcome.busy,
    Outcome.powered_off,
    Outcome.no_answer,
    Outcome.out_of_service_area,
    Outcome.arrears,
    Outcome.line_fault,
    Outcome.answering_machine,
    Outcome.suspended,
    Outcome.incoming_barred,
    Outcome.vacant,
    Outcome.abandoned,
    Outcome.internal_failure,
    Outcome.interrupted,
)

RANK: Mapping[Outcome, int] = MappingProxyType({o: i for i, o in enumerate(PRECEDENCE)})

if set(RANK) != set(Outcome) or len(PRECEDENCE) != len(
    Outcome
):  # pragma: no cover - guards edits of the list above
    raise AssertionError("PRECEDENCE must rank every outcome exactly once")


def round_result(outcomes: Iterable[Outcome]) -> Outcome | None:
    """The outcome that stands for a round; None for a round without results."""
    return min(outcomes, key=RANK.__getitem__, default=None)
