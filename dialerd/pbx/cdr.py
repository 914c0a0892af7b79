"""Asterisk's own call records (CDR): results of calls that ended while no daemon listened.

``cdr_csv`` writes one row per channel to ``Master.csv`` when the channel hangs up,
whether dialerd is connected or not. The default column order (``cdr_csv.c``,
``loguniqueid``/``loguserfield`` on) is :data:`MASTER_COLUMNS`; a ``cdr_custom``
template may add ``hangupcause`` (docs/asterisk.md). A row belongs to a dial when
its ``accountcode`` (the Originate's ``Account``: both Local halves carry it), its
``uniqueid`` (``key`` or ``key-2``: the ChannelIds earlier versions assigned), its
``linkedid`` or a word of its ``userfield`` names the dial's key.

The ``userfield`` is words separated by spaces: ``amd=<AMDSTATUS>`` and
``amdcause=<AMDCAUSE>`` are the AMD verdict the recipe's hangup handler writes
(docs/asterisk.md), read as the live path reads them from ``VarSet``; a word
without ``=`` is a dial key.

:func:`signals_from_rows` is the pure mapping row(s) → :class:`PbxSignals`;
:class:`CdrFile` reads the file incrementally from a remembered offset, starts
over when the file was rotated (another inode, or shorter than the offset), and
keeps the latest ``keep`` dials' rows in memory (a dial that ended while no
daemon ran is among the latest).
"""

from __future__ import annotations

import csv
import io
import os
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from dialerd.domain.ports import PbxSignals
from dialerd.logconfig import get_logger

log = get_logger("dialerd.cdr")

MASTER_COLUMNS: tuple[str, ...] = (
    "accountcode",
    "src",
    "dst",
    "dcontext",
    "clid",
    "channel",
    "dstchannel",
    "lastapp",
    "lastdata",
    "start",
    "answer",
    "end",
    "duration",
    "billsec",
    "disposition",
    "amaflags",
    "uniqueid",
    "userfield",
)
"""Master.csv's columns with ``loguniqueid = yes`` and ``loguserfield = yes``;
``newcdrcolumns = yes`` appends ``peeraccount``, ``linkedid``, ``sequence``."""

NEW_COLUMNS: tuple[str, ...] = (*MASTER_COLUMNS, "peeraccount", "linkedid", "sequence")

# CDR disposition → the DialStatus it stands for (classification's own vocabulary).
DISPOSITIONS: Mapping[str, str] = MappingProxyType(
    {
        "ANSWERED": "ANSWER",
        "NO ANSWER": "NOANSWER",
        "BUSY": "BUSY",
        "CONGESTION": "CONGESTION",
        "FAILED": "CHANUNAVAIL",
    }
)
_CALLEE_SUFFIX = "-2"
AMD_TAG = "amd"
AMD_CAUSE_TAG = "amdcause"


def userfield_tags(userfield: str) -> tuple[dict[str, str], list[str]]:
    """``userfield`` → (its ``name=value`` words, its other words: dial keys)."""
    tags: dict[str, str] = {}
    words: list[str] = []
    for word in userfield.split():
        name, eq, value = word.partition("=")
        if eq:
            tags.setdefault(name.strip().lower(), value.strip())
        else:
            words.append(word)
    return tags, words


@dataclass(frozen=True, slots=True)
class CdrRow:
    """The fields of one CDR row dialerd uses."""

    uniqueid: str
    disposition: str
    channel: str = ""
    start: datetime | None = None
    answer: datetime | None = None
    end: datetime | None = None
    billsec: int | None = None
    accountcode: str = ""
    userfield: str = ""
    linkedid: str = ""
    hangupcause: int | None = None
    amd_status: str | None = None
    amd_cause: str | None = None

    @property
    def callee(self) -> bool:
        """The called half (``;2``; Uniqueid ``key-2`` in earlier versions' records)
        rather than the originated channel."""
        return self.channel.endswith(";2") or self.uniqueid.endswith(_CALLEE_SUFFIX)

    def keys(self) -> set[str]:
        """Every dial key this row may belong to."""
        found = {self.accountcode, self.linkedid, *userfield_tags(self.userfield)[1]}
        uid = self.uniqueid
        found.add(uid.removesuffix(_CALLEE_SUFFIX))
        found.discard("")
        return found


class CdrError(ValueError):
    """A row that cannot be read; the message names the field."""


def _time(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _int(text: str) -> int | None:
    text = text.strip()
    return int(text) if text else None


def parse_row(values: Sequence[str], columns: Sequence[str] = MASTER_COLUMNS) -> CdrRow:
    """One CSV row (times in UTC: ``usegmtime = yes``) → :class:`CdrRow`."""
    if len(values) < len(columns):
        raise CdrError(f"{len(values)} columns, expected {len(columns)}")
    row = dict(zip(columns, values, strict=False))
    if not row.get("uniqueid") and not row.get("accountcode"):
        raise CdrError("uniqueid: empty")
    field = ""
    try:
        field = "start"
        start = _time(row.get("start", ""))
        field = "answer"
        answer = _time(row.get("answer", ""))
        field = "end"
        end = _time(row.get("end", ""))
        field = "billsec"
        billsec = _int(row.get("billsec", ""))
        field = "hangupcause"
        cause = _int(row.get("hangupcause", ""))
    except ValueError as exc:
        raise CdrError(f"{field}: {exc}") from None
    userfield = row.get("userfield", "").strip()
    tags = userfield_tags(userfield)[0]
    return CdrRow(
        uniqueid=row.get("uniqueid", ""),
        disposition=row.get("disposition", "").strip().upper(),
        channel=row.get("channel", "").strip(),
        start=start,
        answer=answer,
        end=end,
        billsec=billsec,
        accountcode=row.get("accountcode", "").strip(),
        userfield=userfield,
        linkedid=row.get("linkedid", "").strip(),
        hangupcause=cause,
        amd_status=tags.get(AMD_TAG) or None,
        amd_cause=tags.get(AMD_CAUSE_TAG) or None,
    )


def signals_from_rows(rows: Sequence[CdrRow]) -> PbxSignals:
    """A dial's CDR rows → the signals classification reads.

    Answered when any row of the dial was answered (a queue or transfer forks
    CDRs); then the answer time is the earliest and the end the latest. Otherwise
    the originated channel's row decides (the called half's when it is the only
    one), its disposition read as the DialStatus it stands for; a hangup cause
    (``cdr_custom`` template) comes along. The AMD verdict of an answered dial
    (``amd=`` in a row's userfield) comes along as ``AMDSTATUS``/``AMDCAUSE`` do
    live; a record without one says what a live dial without ``AMDSTATUS`` says.
    """
    if not rows:
        raise ValueError("no rows")
    answered = [r for r in rows if r.disposition == "ANSWERED"]
    main = next((r for r in rows if not r.callee), rows[0])
    callee = next((r for r in rows if r.callee), None)
    ends = [r.end for r in rows if r.end is not None]
    raw = {
        "source": "cdr",
        "disposition": main.disposition,
        "billsec": main.billsec,
        "uniqueid": main.uniqueid,
    }
    if answered:
        answers = [t for t in (r.answer or r.start for r in answered) if t is not None]
        answered_at = min(answers) if answers else None
        billsec = max((r.billsec or 0) for r in answered)
        end = max(ends) if ends else None
        if answered_at is not None and end is None:
            end = answered_at
        amd = next((r for r in (main, *rows) if r.amd_status), None)
        return PbxSignals(
            dial_status="ANSWER",
            answered_at=answered_at,
            ended_at=end,
            amd_status=amd.amd_status if amd else None,
            amd_cause=amd.amd_cause if amd else None,
            raw={**raw, "disposition": "ANSWERED", "billsec": billsec},
        )
    return PbxSignals(
        dial_status=DISPOSITIONS.get(main.disposition),
        hangup_cause=main.hangupcause,
        callee_cause=callee.hangupcause if callee is not None else None,
        ended_at=max(ends) if ends else None,
        raw=raw,
    )


def read_rows(
    text: str, columns: Sequence[str] = MASTER_COLUMNS, *, where: str = "", first_line: int = 1
) -> tuple[list[CdrRow], list[str]]:
    """Parse complete lines of CDR CSV; bad rows become ``path:line: field: message``."""
    rows: list[CdrRow] = []
    problems: list[str] = []
    reader = csv.reader(io.StringIO(text))
    for values in reader:
        if not values:
            continue
        try:
            rows.append(parse_row(values, columns))
        except CdrError as exc:
            problems.append(f"{where}:{first_line + reader.line_num - 1}: {exc}")
    return rows, problems


class CdrFile:
    """A ``cdr_csv``/``cdr_custom`` file, read as it grows; rows kept by dial key."""

    def __init__(
        self, path: Path, columns: Sequence[str] = MASTER_COLUMNS, keep: int = 20_000
    ) -> None:
        self.path, self.columns, self.keep = path, tuple(columns), keep
        self._inode: int | None = None
        self._offset = 0
        self._line = 1
        self._rows: OrderedDict[str, list[CdrRow]] = OrderedDict()

    @property
    def offset(self) -> int:
        """Bytes of the current file read so far."""
        return self._offset

    def refresh(self) -> set[str]:
        """Read what was appended since the last call; returns the dial keys with new rows."""
        try:
            with self.path.open("rb") as f:
                st = os.fstat(f.fileno())
                if st.st_ino != self._inode or st.st_size < self._offset:
                    if self._inode is not None:
                        log.info("cdr_file_rotated", path=str(self.path))
                    self._inode, self._offset, self._line = st.st_ino, 0, 1
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return set()
        except OSError as exc:
            log.warning("cdr_file_unreadable", path=str(self.path), error=str(exc))
            return set()
        complete = data.rfind(b"\n") + 1  # a row still being written waits for its newline
        if complete == 0:
            return set()
        text = data[:complete].decode("utf-8", errors="replace")
        rows, problems = read_rows(text, self.columns, where=str(self.path), first_line=self._line)
        for problem in problems[:10]:
            log.warning("cdr_row_unreadable", problem=problem)
        self._offset += complete
        self._line += text.count("\n")
        return self._add(rows)

    def _add(self, rows: Iterable[CdrRow]) -> set[str]:
        fresh: set[str] = set()
        for row in rows:
            for key in row.keys():
                self._rows.setdefault(key, []).append(row)
                self._rows.move_to_end(key)
                fresh.add(key)
        while len(self._rows) > self.keep:
            self._rows.popitem(last=False)
        return fresh & self._rows.keys()  # a long file's oldest rows are not kept

    def signals(self, keys: Iterable[str]) -> dict[str, PbxSignals]:
        """The CDR's signals of the dials in ``keys`` that have a record."""
        found: dict[str, PbxSignals] = {}
        for key in keys:
            rows = self._rows.get(key)
            if rows:
                found[key] = signals_from_rows(rows)
        return found
