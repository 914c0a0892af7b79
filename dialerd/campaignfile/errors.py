"""Problems found in a campaign file, each tied to a file, a line and a field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from dialerd.errors import DialerdError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding, printed as ``path:line: field: message``."""

    path: str
    line: int
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        note = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {self.field}: {note}{self.message}"


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
