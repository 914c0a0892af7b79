"""Bulk writes of contacts and their numbers, the fastest way each backend offers.

One transaction per batch. Contact ids are allocated up front so numbers can point
at them without a round trip per row: on SQLite ``MAX(id)`` under the batch's
``BEGIN IMMEDIATE`` lock, then one ``executemany`` per table; on PostgreSQL
``nextval`` over ``generate_series``, then ``COPY ... FROM STDIN`` per table.
Column defaults that only exist in the ORM (``state``, counters) are written here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from dialerd.domain.states import ContactState, NumberState

CONTACT_COLUMNS = (
    "id",
    "campaign_id",
    "external_id",
    "name",
    "timezone",
    "deadline",
    "priority",
    "not_before",
    "appointment_at",
    "data",
    "state",
    "rounds_started",
    "refusals",
    "import_id",
    "source_line",
    "created_at",
    "updated_at",
)
NUMBER_COLUMNS = (
    "contact_id",
    "campaign_id",
    "position",
    "e164",
    "raw",
    "number_type",
    "carrier",
    "carrier_source",
    "third_party",
    "state",
    "dial_count",
    "next_dial_at",
    "next_is_appointment",
    "priority",
    "deadline",
)


@dataclass(slots=True)
class NewContact:
    """A contact to insert (``data`` is JSON text) with its numbers, in position order."""

    external_id: str
    name: str | None
    timezone: str | None
    deadline: datetime | None
    priority: int
    not_before: datetime | None
    appointment_at: datetime | None
    data: str | None
    source_line: int
    numbers: list[NewNumber]


@dataclass(slots=True)
class NewNumber:
    e164: str
    raw: str
    number_type: str
    carrier: str | None
    third_party: bool
    next_dial_at: datetime | None
    next_is_appointment: bool
    carrier_source: str = "prefix"


def sqlite_time(moment: datetime | None) -> str | None:
    """The text SQLAlchemy's SQLite DateTime stores: naive UTC with microseconds."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


class BulkLoader:
    """Inserts batches of :class:`NewContact` for one campaign and one import run."""

    def __init__(self, engine: Engine, *, campaign_id: int, import_id: int, now: datetime):
        self._campaign_id = campaign_id
        self._import_id = import_id
        self._now = now
        self._sqlite = engine.dialect.name == "sqlite"
        self._raw = engine.raw_connection()
        self._conn: Any = self._raw.driver_connection

    def close(self) -> None:
        self._raw.close()

    def load(self, batch: Sequence[NewContact]) -> None:
        if batch:
            (self._load_sqlite if self._sqlite else self._load_postgresql)(batch)

    def _rows(
        self, batch: Sequence[NewContact], ids: Sequence[int], sqlite: bool
    ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        cid, iid, now_at = self._campaign_id, self._import_id, self._now
        now = sqlite_time(now_at) if sqlite else now_at

        def at(moment: datetime | None) -> Any:
            if moment is None or not sqlite:
                return moment
            return now if moment is now_at else sqlite_time(moment)

        contacts: list[tuple[Any, ...]] = []
        numbers: list[tuple[Any, ...]] = []
        for contact_id, c in zip(ids, batch, strict=True):
            deadline = at(c.deadline)
            contacts.append(
                (
                    contact_id,
                    cid,
                    c.external_id,
                    c.name,
                    c.timezone,
                    deadline,
                    c.priority,
                    at(c.not_before),
                    at(c.appointment_at),
                    c.data,
                    ContactState.active.value,
                    0,
                    0,
                    iid,
                    c.source_line,
                    now,
                    now,
                )
            )
            for position, n in enumerate(c.numbers, start=1):
                numbers.append(
                    (
                        contact_id,
                        cid,
                        position,
                        n.e164,
                        n.raw,
                        n.number_type,
                        n.carrier,
                        n.carrier_source,
                        n.third_party,
                        NumberState.dialable.value,
                        0,
                        at(n.next_dial_at),
                        n.next_is_appointment,
                        c.priority,
                        deadline,
                    )
                )
        return contacts, numbers

    def _load_sqlite(self, batch: Sequence[NewContact]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            (top,) = conn.execute("SELECT COALESCE(MAX(id), 0) FROM contacts").fetchone()
            ids = range(top + 1, top + 1 + len(batch))
            contacts, numbers = self._rows(batch, ids, sqlite=True)
            conn.executemany(_insert_sql("contacts", CONTACT_COLUMNS), contacts)
            conn.executemany(_insert_sql("phone_numbers", NUMBER_COLUMNS), numbers)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _load_postgresql(self, batch: Sequence[NewContact]) -> None:
        conn = self._conn
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT nextval(pg_get_serial_sequence('contacts', 'id'))"
                    " FROM generate_series(1, %s)",
                    (len(batch),),
                )
                ids = [row[0] for row in cur.fetchall()]
                contacts, numbers = self._rows(batch, ids, sqlite=False)
                copy_rows(cur, "contacts", CONTACT_COLUMNS, contacts)
                copy_rows(cur, "phone_numbers", NUMBER_COLUMNS, numbers)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def copy_rows(cur: Any, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """``COPY table (columns) FROM STDIN`` with psycopg 3."""
    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
