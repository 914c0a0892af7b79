"""``import_contacts``: a contact CSV into a campaign, with its rejects and its summary.

Rules (docs/contacts.md):

* a number that is invalid, a duplicate (twice in a contact, or already in the
  campaign, in the database or earlier in the file) or on the do-not-call list is
  dropped and written to the rejects file; the contact keeps its other numbers and
  is refused (``no_number_left``) only when none remains;
* positions are renumbered 1..n in file order after dropping numbers;
* a contact whose ``deadline`` is not after the import's ``now`` is refused
  (``deadline_passed``): no dial may start, so it is never loaded;
* a row whose external id is already in the campaign is skipped (``already_loaded``):
  re-importing a file adds nothing, importing a new one into a running campaign appends;
* each contact's first dial is queued where the domain's ``plan_next`` puts it:
  the first number at max(now, not_before), or at its appointment (not_before still
  holds), without the calling window: the dispatcher fits each dial to it.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dialerd.campaignfile.columns import ColumnMap
from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.callerid import effective_carrier
from dialerd.domain.due import may_start, plan_next
from dialerd.domain.phones import Rejection
from dialerd.domain.policy import DialPolicy
from dialerd.domain.states import ContactState, NumberState
from dialerd.domain.views import ContactView, NumberView
from dialerd.domain.workdays import RelativeTimes
from dialerd.errors import DialerdError
from dialerd.importer.bulkload import BulkLoader, NewContact, NewNumber
from dialerd.importer.keyset import KeySet, text_key
from dialerd.importer.known import Known, existing_ids, load_known
from dialerd.importer.ported import PortedCarriers
from dialerd.importer.reader import ContactReader
from dialerd.importer.record import finish_import, start_import
from dialerd.importer.rejects import RejectsWriter, default_rejects_path
from dialerd.importer.relative import BadRelativeValue, place
from dialerd.importer.rows import ContactRow, RowError

BATCH_CONTACTS = 10_000
CONFIRM_BATCH = 1_000  # ids checked against the database per query
DUPLICATE_REASONS = frozenset({"duplicate_external_id", "duplicate_number"})
DNC_REASON = "dnc"
DEADLINE_REASON = "deadline_passed"  # a contact whose deadline passed before its import
POLICY = DialPolicy()  # a contact with no dial yet: only not_before and appointments apply


@dataclass
class ImportSummary:
    """What one import did; ``rejected`` counts rejects-file lines by reason.

    Of those, ``contacts_rejected`` are whole rows refused (no contact loaded) and
    ``numbers_rejected`` single numbers dropped from a row (whose contact may still
    load with its other numbers). Duplicates and do-not-call refusals are counted
    apart (``duplicates``, ``dnc_suppressed``), not in ``rejected``.
    """

    loaded: int = 0
    numbers: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    rejected_numbers: dict[str, int] = field(default_factory=dict)  # the numbers' part, by reason
    duplicates: int = 0
    dnc_suppressed: int = 0
    already_loaded: int = 0
    rejects_file: str | None = None
    rows: int = 0
    rows_refused: int = 0  # rows that loaded no contact (rejected, duplicate row, all DNC)
    import_id: int | None = None
    encoding: str = ""

    @property
    def numbers_rejected(self) -> int:
        return sum(self.rejected_numbers.values())

    @property
    def contacts_rejected(self) -> int:
        return sum(self.rejected.values()) - self.numbers_rejected

    def as_dict(self) -> dict[str, Any]:
        return {
            "loaded": self.loaded,
            "numbers": self.numbers,
            "rejected": dict(self.rejected),
            "contacts_rejected": self.contacts_rejected,
            "numbers_rejected": self.numbers_rejected,
            "duplicates": self.duplicates,
            "dnc_suppressed": self.dnc_suppressed,
            "rejects_file": self.rejects_file,
            "already_loaded": self.already_loaded,
            "rows": self.rows,
            "rows_refused": self.rows_refused,
            "import_id": self.import_id,
            "encoding": self.encoding,
        }


def import_contacts(
    engine: Engine,
    *,
    campaign_id: int,
    path: Path,
    region: str,
    default_timezone: str,
    rejects_path: Path | None = None,
    encoding: str | None = None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    actor: str = "dialerd import",
    columns: ColumnMap | None = None,
    ported: PortedCarriers | None = None,
    relative: tuple[RelativeTimes, CallingCalendar] | None = None,
) -> ImportSummary:
    """Import ``path`` into the campaign; ``progress`` receives bytes read since its last call.

    ``columns`` is the campaign's ``[columns]`` table (field -> the list's headers);
    ``ported`` (the ``carriers.ported_file`` lookup) overrides a number's prefix carrier;
    ``relative`` (the campaign's reminder / callback_within rules and its calendar) places
    rows' ``not_before`` / ``deadline`` (:mod:`dialerd.importer.relative`).
    Raises :class:`~dialerd.importer.reader.ContactFileError` when the file cannot be
    read at all (before anything is written).
    """
    summary = ImportSummary()
    with ContactReader(
        path,
        region=region,
        default_timezone=default_timezone,
        encoding=encoding,
        on_read=progress,
        columns=columns,
    ) as reader:
        summary.encoding = reader.encoding
        out = rejects_path or default_rejects_path(path)
        _check_writable(out)
        known = load_known(engine, campaign_id)
        summary.import_id = start_import(engine, campaign_id, path, reader.encoding, now)
        loader = BulkLoader(engine, campaign_id=campaign_id, import_id=summary.import_id, now=now)
        try:
            with RejectsWriter(out, reader.header) as rejects:
                confirm = partial(existing_ids, engine, campaign_id)
                _Pass(reader, known, rejects, summary, now, confirm, ported, relative).run(loader)
            if rejects.written:
                summary.rejects_file = str(out)
            _tally(summary, dict(rejects.counts), dict(rejects.number_counts))
        finally:
            loader.close()
    finish_import(engine, campaign_id, summary, now, actor)
    return summary


class _Pass:
    """One pass over the file: decides each row, batches the accepted contacts."""

    def __init__(
        self,
        reader: ContactReader,
        known: Known,
        rejects: RejectsWriter,
        summary: ImportSummary,
        now: datetime,
        confirm: Callable[[list[str]], set[str]],
        ported: PortedCarriers | None = None,
        relative: tuple[RelativeTimes, CallingCalendar] | None = None,
    ) -> None:
        self.reader, self.known, self.rejects = reader, known, rejects
        self.summary, self.now = summary, now
        self.confirm = confirm
        self.ported = ported
        self.relative = relative
        self.file_ids = KeySet()
        self.pending: list[ContactRow] = []
        self.id_field = reader.columns.label("external_id")

    def run(self, loader: BulkLoader) -> None:
        batch: list[NewContact] = []
        for row in self.reader:
            self.summary.rows += 1
            if isinstance(row, RowError):
                self.rejects.write(row.values, row.line, row.field, row.reason, row.message)
            elif text_key(row.external_id) in self.known.external_ids:
                self.pending.append(row)
                if len(self.pending) >= CONFIRM_BATCH:
                    self.settle(batch)
            else:
                self.take(row, batch)
            if len(batch) >= BATCH_CONTACTS:
                loader.load(batch)
                batch = []
        self.settle(batch)
        loader.load(batch)

    def settle(self, batch: list[NewContact]) -> None:
        """Rows whose id key is in the campaign: skip those really there, take the others."""
        there = self.confirm([row.external_id for row in self.pending])
        for row in self.pending:
            if row.external_id in there:
                self.summary.already_loaded += 1
            else:  # a 64-bit key collision with another id: a new contact after all
                self.take(row, batch)
        self.pending = []

    def take(self, row: ContactRow, batch: list[NewContact]) -> None:
        contact = self.accept(row)
        if contact is not None:
            batch.append(contact)

    def accept(self, row: ContactRow) -> NewContact | None:
        """The contact to insert, or None (refused and written to the rejects file)."""
        id_key = text_key(row.external_id)
        if not self.file_ids.add(id_key):
            self.rejects.write(
                row.values, row.line, self.id_field, "duplicate_external_id", row.external_id
            )
            return None
        if not may_start(row.deadline, self.now):  # never dialled: report it now
            when = row.deadline.isoformat() if row.deadline else ""
            self.rejects.write(
                row.values, row.line, "deadline", DEADLINE_REASON, f"deadline {when} has passed"
            )
            return None
        blocked = self.known.dnc.blocks_contact(row.external_id)
        if blocked is not None:
            self.rejects.write(row.values, row.line, self.id_field, DNC_REASON, blocked)
            return None
        if self.relative is not None:
            try:
                place(row, *self.relative, self.reader.default_timezone, self.now)
            except BadRelativeValue as exc:
                self.rejects.write(row.values, row.line, exc.field, "invalid_value", str(exc))
                return None
        kept = self.numbers(row)
        if not kept:
            self.rejects.write(
                row.values, row.line, "row", "no_number_left", "no dialable number left"
            )
            return None
        step = plan_next(_fresh(row, len(kept)), now=self.now, policy=POLICY, calendar=None)
        if step.position is not None:
            first = kept[step.position - 1]
            first.next_dial_at, first.next_is_appointment = step.at, step.is_appointment
        self.summary.loaded += 1
        self.summary.numbers += len(kept)
        return NewContact(
            external_id=row.external_id,
            name=row.name,
            timezone=row.timezone,
            deadline=row.deadline,
            priority=row.priority,
            not_before=row.not_before,
            appointment_at=row.appointment,
            data=json.dumps(row.data, ensure_ascii=False) if row.data else None,
            source_line=row.line,
            numbers=kept,
        )

    def numbers(self, row: ContactRow) -> list[NewNumber]:
        """The row's numbers that may be dialled; the others go to the rejects file."""
        kept: list[NewNumber] = []
        for number in row.numbers:
            where = self.reader.phone_field(number.position)
            result = number.result
            if isinstance(result, Rejection):
                self.rejects.write(
                    row.values, row.line, where, result.reason, result.message, number=True
                )
                continue
            number_key = int(result.e164[1:])
            if number_key in self.known.numbers:
                self.rejects.write(
                    row.values, row.line, where, "duplicate_number", result.e164, number=True
                )
                continue
            rule = self.known.dnc.blocks(result.e164)
            if rule is not None:
                self.rejects.write(row.values, row.line, where, DNC_REASON, rule, number=True)
                continue
            self.known.numbers.add(number_key)
            ported = self.ported.carrier_of(result.e164) if self.ported is not None else None
            carrier, source = effective_carrier(result.carrier, number.carrier, ported)
            kept.append(
                NewNumber(
                    e164=result.e164,
                    raw=number.raw.strip(),
                    number_type=result.number_type,
                    carrier=carrier,
                    carrier_source=source,
                    third_party=number.third_party,
                    next_dial_at=None,
                    next_is_appointment=False,
                )
            )
        return kept


def _fresh(row: ContactRow, numbers: int) -> ContactView:
    """A contact about to be loaded, as the policy sees it: no dial yet."""
    return ContactView(
        state=ContactState.active,
        rounds_started=0,
        round_started_at=None,
        refusals=0,
        numbers=_undialled(numbers),
        round_results={},
        not_before=row.not_before,
        appointment_at=row.appointment,
    )


@cache
def _undialled(count: int) -> tuple[NumberView, ...]:
    """``count`` dialable numbers never dialled (the same for every contact: built once)."""
    return tuple(NumberView(p, NumberState.dialable, None) for p in range(1, count + 1))


def _tally(summary: ImportSummary, counts: dict[str, int], numbers: dict[str, int]) -> None:
    summary.duplicates = sum(counts.get(r, 0) for r in DUPLICATE_REASONS)
    summary.dnc_suppressed = counts.get(DNC_REASON, 0)
    summary.rejected = {
        reason: count
        for reason, count in sorted(counts.items())
        if reason not in DUPLICATE_REASONS and reason != DNC_REASON
    }
    summary.rejected_numbers = {
        reason: numbers[reason] for reason in summary.rejected if numbers.get(reason)
    }
    summary.rows_refused = sum(counts.values()) - sum(numbers.values())


def _check_writable(path: Path) -> None:
    """Fail before loading anything when the rejects file could not be written; drop an old one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(path.parent, os.W_OK):
            raise PermissionError(errno.EACCES, "permission denied")
        path.unlink(missing_ok=True)  # the previous import's rejects
    except OSError as exc:
        raise DialerdError(f"cannot write the rejects file {path}: {exc.strerror}") from None
