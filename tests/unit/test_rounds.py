"""A round's result by precedence."""

from __future__ import annotations

import pytest

from dialerd.domain.outcomes import Group, Outcome, info
from dialerd.domain.rounds import PRECEDENCE, RANK, round_result

O = Outcome  # noqa: E741


def test_every_outcome_ranked_once() -> None:
    assert sorted(PRECEDENCE) == sorted(Outcome)
    assert len(RANK) == len(Outcome)


def test_empty_round_has_no_result() -> None:
    assert round_result([]) is None


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ([O.no_answer, O.busy, O.vacant, O.completed], O.completed),
        ([O.busy, O.answered], O.answered),
        ([O.no_answer, O.dnc_requested], O.dnc_requested),
        ([O.refused, O.callback_requested], O.refused),
        ([O.no_answer, O.callback_requested], O.callback_requested),
        ([O.not_present, O.inconvenient], O.inconvenient),
        ([O.busy, O.not_present], O.not_present),
        ([O.early_hangup, O.rejected], O.early_hangup),
        ([O.no_answer, O.busy, O.rejected], O.rejected),
        ([O.no_answer, O.powered_off, O.busy], O.busy),
        ([O.no_answer, O.powered_off], O.powered_off),
        ([O.line_fault, O.no_answer], O.no_answer),
        ([O.vacant, O.line_fault, O.answering_machine], O.line_fault),
        ([O.vacant, O.suspended], O.suspended),
        ([O.vacant, O.internal_failure], O.vacant),
        ([O.interrupted], O.interrupted),
    ],
)
def test_precedence(results: list[Outcome], expected: Outcome) -> None:
    assert round_result(results) is expected
    assert round_result(reversed(results)) is expected


def test_reaching_the_person_beats_everything_else() -> None:
    reached = [o for o in PRECEDENCE if info(o).group is Group.reached]
    assert list(PRECEDENCE[: len(reached)]) == reached
