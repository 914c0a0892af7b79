"""The simulator's call records: a Master.csv row per channel, as Asterisk's cdr_csv writes.

Columns as :data:`dialerd.pbx.cdr.MASTER_COLUMNS` (``loguniqueid``,
``loguserfield``, ``usegmtime``); ``accountcode`` is the Originate's ``Account``.
The disposition follows Asterisk's CDR engine: answered calls ``ANSWERED``, else
by the hangup cause (17 ``BUSY``, 34 ``CONGESTION``, 3 and 20 ``FAILED``, the
rest ``NO ANSWER``). A call whose AMD gave a verdict has it in the originated
channel's ``userfield`` (``amd=MACHINE amdcause=...``), as the recipe's hangup
handler writes it (docs/asterisk.md).
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

_UNANSWERED: Mapping[int, str] = MappingProxyType(
    {17: "BUSY", 34: "CONGESTION", 3: "FAILED", 20: "FAILED"}
)


def disposition(answered: bool, cause: int) -> str:
    """Asterisk's CDR disposition of a channel."""
    return "ANSWERED" if answered else _UNANSWERED.get(cause, "NO ANSWER")


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What the simulator knows of an ended call."""

    channel: str
    number: str
    caller_id: str
    account: str
    uniqueids: tuple[str, ...]  # ;1's, then ;2's
    start: float  # wall-clock seconds
    answer: float | None
    end: float
    cause: int
    amd: tuple[str, str] | None = None  # (AMDSTATUS, AMDCAUSE) when AMD gave a verdict


def userfield(amd: tuple[str, str] | None) -> str:
    """The userfield the recipe's hangup handler writes: ``amd=<status> amdcause=<cause>``."""
    return "" if amd is None else f"amd={amd[0]} amdcause={amd[1]}"


def _stamp(at: float | None) -> str:
    if at is None:
        return ""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def master_rows(rec: CallRecord) -> list[list[str]]:
    """The call's Master.csv rows, one per channel."""
    answered = rec.answer is not None
    billsec = int(rec.end - rec.answer) if rec.answer is not None else 0
    rows = []
    for half, uid in enumerate(rec.uniqueids, start=1):
        rows.append(
            [
                rec.account,
                rec.caller_id,
                rec.number,
                "callee-sim",
                f'"" <{rec.caller_id}>',
                f"{rec.channel};{half}",
                "",
                "AppDial2" if half == 1 else "Wait",
                "",
                _stamp(rec.start),
                _stamp(rec.answer),
                _stamp(rec.end),
                str(int(rec.end - rec.start)),
                str(billsec),
                disposition(answered, rec.cause),
                "DOCUMENTATION",
                uid,
                userfield(rec.amd) if half == 1 else "",
            ]
        )
    return rows


class MasterCsv:
    """Appends records to a Master.csv file, a whole call per write."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def write(self, rec: CallRecord) -> None:
        out = io.StringIO()
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(master_rows(rec))
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(out.getvalue())
