"""Ported numbers (携号转网): a CSV of ``number,carrier`` ops keep current, re-read on change.

A number ported to another carrier keeps its prefix, so the carrier ``phonenumbers``
reads from the prefix is wrong for it, and a carrier-specific caller ID would call
a China Mobile customer from the Unicom line (seed 003: a dismissal offence). The
file (setting ``carriers.ported_file``) overrides the prefix, and the list's own
``phoneN_carrier`` column. The dispatcher decides a dial's carrier when it builds
the dial, from :meth:`PortedCarriers.current`: a ``stat`` of the file per batch of
dials, and a re-read when it changed, so a dial never uses an answer the file no
longer gives. The importer asks :meth:`PortedCarriers.carrier_of` for each new
number, and :func:`apply_ported` rewrites the stored carrier of numbers already
loaded when the file changes (the daemon's job every ``carriers.check_s``: what
``phone_numbers.carrier`` shows; the dial does not wait for it).

Ops should replace the file in one step (write a new file, then ``mv`` it over the
old one): a file caught half-written is read again once it changes.

Format: UTF-8 (BOM allowed), an optional header ``number,carrier``, numbers as people
type them (normalised like contact lists, in ``region``). A bad line is skipped and
reported as ``path:line: field: message``; the rest of the file applies.
"""

from __future__ import annotations

import csv
import io
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from dialerd.db.models import ContactImport, PhoneNumber
from dialerd.domain.phones import Rejection, normalize
from dialerd.domain.states import NumberState
from dialerd.logconfig import get_logger

log = get_logger(__name__)
MAX_CARRIER = 64  # phone_numbers.carrier is VARCHAR(64)
CHUNK = 500  # numbers looked up per query


def parse_ported(text: str, path: str, region: str = "CN") -> tuple[dict[str, str], list[str]]:
    """E.164 → carrier, and the problems (``path:line: field: message``)."""
    found: dict[str, str] = {}
    problems: list[str] = []
    for line, row in enumerate(csv.reader(io.StringIO(text.removeprefix("\ufeff"))), start=1):
        if not row or not "".join(row).strip():
            continue
        if line == 1 and row[0].strip().lower() in {"number", "e164", "phone"}:
            continue
        if len(row) < 2 or not row[1].strip():
            problems.append(f"{path}:{line}: carrier: missing (number,carrier)")
            continue
        number = normalize(row[0], region)
        carrier = row[1].strip()
        if isinstance(number, Rejection):
            problems.append(f"{path}:{line}: number: {number.message}")
        elif len(carrier) > MAX_CARRIER:
            problems.append(f"{path}:{line}: carrier: longer than {MAX_CARRIER} characters")
        else:
            found[number.e164] = carrier
    return found, problems


_MISSING = (0, -1, 0, 0)
# A file changed this recently may change again within the file system's timestamp
# granularity (a few ms) without its stamp changing: it is read again until it is older.
RACY_NS = 2_000_000_000


@dataclass
class PortedCarriers:
    """The ported-numbers file, read again whenever it changes (mtime, size, inode, ctime).

    Thread-safe: the dispatcher and the daemon's job may ask at once.
    """

    path: Path
    region: str = "CN"
    _stamp: tuple[int, int, int, int] | None = field(default=None, init=False)
    _table: dict[str, str] = field(default_factory=dict, init=False)
    _read: bool = field(default=False, init=False)  # the file was read at least once
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def refresh(self) -> bool:
        """Re-read the file when it changed; True when what it lists did (or on the first
        read). A missing file is empty."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> bool:
        try:
            st = self.path.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns)
        except OSError:
            stamp = _MISSING
        if stamp == self._stamp:
            return False
        if stamp == _MISSING:
            log.warning("ported_file_missing", path=str(self.path))
            self._stamp, self._table = stamp, {}
            return True
        try:
            text = self.path.read_text(encoding="utf-8-sig", errors="replace")
        except OSError as exc:  # kept: the previous table stays; read again next time
            log.error("ported_file_unreadable", path=str(self.path), error=str(exc))
            return False
        table, problems = parse_ported(text, str(self.path), self.region)
        racy = time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_NS
        first, changed = not self._read, table != self._table
        # a new dict each time: callers may keep the old one
        self._stamp, self._table, self._read = (None if racy else stamp), table, True
        if not (changed or first):
            return False
        for problem in problems:
            log.warning("ported_file_line_skipped", problem=problem)
        log.info("ported_file_read", path=str(self.path), numbers=len(self._table))
        return True

    def current(self) -> Mapping[str, str]:
        """E.164 → carrier as the file reads now (one ``stat``; a re-read if it changed)."""
        with self._lock:
            self._refresh()
            return self._table

    def carrier_of(self, e164: str) -> str | None:
        """The carrier the number was ported to, if the file lists it."""
        return self.current().get(e164)

    @property
    def table(self) -> dict[str, str]:
        return dict(self.current())


@dataclass
class PortedRefresher:
    """The daemon's periodic job: apply the file when it changed or an import finished."""

    engine: Engine
    ported: PortedCarriers
    _last_import: int | None = field(default=None, init=False)

    def __call__(self) -> None:
        with Session(self.engine) as session:
            last = session.scalar(select(func.max(ContactImport.id)))
        changed = self.ported.refresh()
        if changed or last != self._last_import:
            self._last_import = last
            apply_ported(self.engine, self.ported)


def apply_ported(engine: Engine, ported: PortedCarriers) -> int:
    """Store the listed carrier on every dialable number the file names.

    Returns how many numbers changed carrier. Numbers no longer listed keep the
    carrier they were given (the file lists ports, it does not undo them).
    """
    items = list(ported.table.items())
    changed = 0
    with Session(engine) as session, session.begin():
        for start in range(0, len(items), CHUNK):
            chunk = dict(items[start : start + CHUNK])
            rows = session.execute(
                select(
                    PhoneNumber.id,
                    PhoneNumber.e164,
                    PhoneNumber.carrier,
                    PhoneNumber.carrier_source,
                ).where(
                    PhoneNumber.e164.in_(list(chunk)), PhoneNumber.state == NumberState.dialable
                )
            ).all()
            for number_id, e164, carrier, source in rows:
                if (carrier, source) == (chunk[e164], "ported"):
                    continue
                session.execute(
                    update(PhoneNumber)
                    .where(PhoneNumber.id == number_id)
                    .values(carrier=chunk[e164], carrier_source="ported")
                )
                changed += 1
    if changed:
        log.info("ported_carriers_applied", path=str(ported.path), numbers=changed)
    return changed
