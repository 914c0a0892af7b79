"""What the reliability run measures and the one table it prints.

The PBX's truth comes from the simulator's process: each accepted Originate
(``originates.jsonl``: key, number, when) and each ended call (``ends.jsonl``:
key, when, whether it was answered). The daemons' side comes from the database
at the end and their JSON logs.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from dialerd.db.models import Attempt, CampaignEvent
from tests.recordings import LAST_DIGIT_OUTCOMES

# What dialerd records for each last digit when nothing goes wrong (one table, shared
# with the simulator and real-Asterisk tests).
EXPECTED = LAST_DIGIT_OUTCOMES
AMD_OUTCOMES = ("answering_machine", "early_hangup")  # told by AMD() alone
IN_TRANSIT_S = 0.2  # an Originate this soon after a window opened left before it opened


@dataclass(frozen=True)
class Check:
    """One figure of the table; ``met`` None when it is a count with no target."""

    scenario: str
    measure: str
    target: str
    value: str
    met: bool | None = None


def zero(scenario: str, measure: str, value: int) -> Check:
    return Check(scenario, measure, "0", str(value), value == 0)


def info(scenario: str, measure: str, value: object) -> Check:
    return Check(scenario, measure, "", str(value))


def table(checks: Sequence[Check]) -> str:
    lines = ["| scenario | measure | target | measured | met |", "|---|---|---:|---:|:---:|"]
    last = None
    for c in checks:
        name = c.scenario if c.scenario != last else ""
        last = c.scenario
        met = "" if c.met is None else ("yes" if c.met else "**no**")
        lines.append(f"| {name} | {c.measure} | {c.target} | {c.value} | {met} |")
    return "\n".join(lines)


# -- the PBX's truth and the daemons' logs --------------------------------------------------
@dataclass
class Truth:
    originates: list[dict[str, Any]]  # key, number, at (epoch seconds)
    ends: dict[str, dict[str, Any]]  # key -> at, answered

    @classmethod
    def read(cls, root: Path) -> Truth:
        ends = {e["key"]: e for e in _jsonl(root / "ends.jsonl")}
        return cls(_jsonl(root / "originates.jsonl"), ends)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def log_events(path: Path, *names: str) -> list[dict[str, Any]]:
    """The JSON log lines of ``path`` whose event is one of ``names``, with ``at`` (epoch)."""
    found = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") in names:
            event["at"] = datetime.fromisoformat(event["timestamp"]).timestamp()
            found.append(event)
    return found


def windows(path: Path, opened: str, closed: str, end: float) -> list[tuple[float, float]]:
    """Spans from each ``opened`` event to the next ``closed`` one (or ``end``)."""
    spans, start = [], None
    for e in log_events(path, opened, closed):
        if e["event"] == opened and start is None:
            start = e["at"]
        elif e["event"] == closed and start is not None:
            spans.append((start, e["at"]))
            start = None
    if start is not None:
        spans.append((start, end))
    return spans


def inside(at: float, spans: Iterable[tuple[float, float]]) -> bool:
    return any(start + IN_TRANSIT_S < at < stop for start, stop in spans)


# -- the measures every dialling scenario shares --------------------------------------------
@dataclass
class Run:
    """One dialling scenario's end state."""

    scenario: str
    truth: Truth
    attempts: dict[str, Any]  # key -> row (key, id, number, status, outcome, instance_id)
    corrected: int  # late results that corrected an ``interrupted``
    seconds: float
    from_records: set[int]  # attempts settled from the PBX's call records (the daemons' logs)

    @classmethod
    def read(cls, scenario: str, root: Path, engine: Engine, seconds: float) -> Run:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    Attempt.key,
                    Attempt.id,
                    Attempt.number,
                    Attempt.status,
                    Attempt.outcome,
                    Attempt.instance_id,
                )
            ).all()
            late = conn.execute(
                select(func.count()).where(CampaignEvent.kind == "late_result")
            ).scalar_one()
        settled = {
            int(e["attempt_id"])
            for log in sorted(root.glob("*.log"))
            for e in log_events(log, "call_settled_from_records")
        }
        return cls(
            scenario, Truth.read(root), {r.key: r for r in rows}, int(late), seconds, settled
        )

    def lost(self) -> list[str]:
        """Dials the PBX took whose attempt ends ``interrupted`` or still dialling."""
        keys = {o["key"] for o in self.truth.originates}
        return [
            k
            for k, a in self.attempts.items()
            if k in keys and (a.status == "dialing" or a.outcome == "interrupted")
        ]

    def wrong(self) -> list[str]:
        """Dials recorded with another outcome than the one the PBX played."""
        keys = {o["key"] for o in self.truth.originates}
        return [
            k
            for k, a in self.attempts.items()
            if k in keys
            and a.outcome not in (None, "interrupted")
            and a.outcome != EXPECTED[a.number[-1]]
        ]

    def machines(self) -> list[str]:
        """Calls AMD judged (a machine, an early hang-up) settled from the call records,
        by the verdict the records carry (``amd=`` in the userfield, docs/asterisk.md)."""
        return [
            k
            for k, a in self.attempts.items()
            if a.id in self.from_records and EXPECTED[a.number[-1]] in AMD_OUTCOMES
        ]

    def checks(self) -> list[Check]:
        s, originates = self.scenario, self.truth.originates
        keys = Counter(o["key"] for o in originates)
        numbers = Counter(o["number"].lstrip("+") for o in originates)
        answered = {
            o["number"].lstrip("+")
            for o in originates
            if self.truth.ends.get(o["key"], {}).get("answered")
        }
        interrupted = sum(1 for a in self.attempts.values() if a.outcome == "interrupted")
        return [
            info(s, "dials (Originates the PBX accepted)", len(originates)),
            zero(s, "one attempt dialled twice", sum(n - 1 for n in keys.values() if n > 1)),
            zero(s, "dials inside min_spacing", sum(n - 1 for n in numbers.values() if n > 1)),
            zero(s, "answered calls redialled", sum(numbers[n] - 1 for n in answered)),
            zero(s, "results lost (ends interrupted or dialing)", len(self.lost())),
            zero(s, "outcome other than the PBX's", len(self.wrong())),
            info(s, "settled from the call records", len(self.from_records)),
            info(s, "… AMD's machines, early hang-ups among them", len(self.machines())),
            info(s, "settled interrupted, corrected by the real result", self.corrected),
            info(s, "still interrupted at the end", interrupted),
            info(s, "run", f"{self.seconds:.0f} s"),
        ]
