"""Problems found in a campaign file, each tied to a file, a line and a field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from dialerd.errors import DialerdError
from dialerd.problems import Problem, Severity


@dataclass(frozen=True, slots=True)
class FileProblems:
    """Everything wrong with one file (warnings included)."""

    path: str
    problems: Sequence[Problem] = field(default_factory=tuple)

    @property
    def has_errors(self) -> bool:
        return has_errors(self.problems)


def has_errors(problems: Iterable[Problem]) -> bool:
    return any(p.severity == "error" for p in problems)


class CampaignFileError(DialerdError):
    """The campaign file is invalid."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or None)


__all__ = ["CampaignFileError", "FileProblems", "Problem", "Severity", "has_errors"]
