"""A finding in an input file (campaign or contact list), tied to its file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
