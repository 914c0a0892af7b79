"""One CSV data row → a contact with its candidate numbers, or the reason it is refused.

The header is mapped once (:class:`Columns`, through the campaign's ``[columns]``
table when it has one); each row is then read by position. Fields: ``external_id``
(required), ``name``, ``phone1``..``phone4`` (at least one column, at least one
value per row), ``phoneN_third_party``, ``phoneN_carrier`` (the carrier a ported
number is on now: overrides the prefix), ``timezone`` (IANA), ``deadline``,
``not_before``, ``appointment`` (ISO 8601), ``priority`` (int). Every other column
goes into the contact's ``data``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dialerd.campaignfile.columns import (
    MAX_PHONES,
    OPTIONAL_FIELDS,
    PHONE_FIELDS,
    TIME_FIELDS,
    ColumnMap,
    header_key,
    resolve,
)
from dialerd.domain.phones import NormalizedNumber, Rejection, normalize

MAX_EXTERNAL_ID = 100  # contacts.external_id is VARCHAR(100)
MAX_TIMEZONE = 64
MAX_CARRIER = 64  # phone_numbers.carrier is VARCHAR(64)
_YES = frozenset({"yes", "y", "1", "true", "是"})
_NO = frozenset({"", "no", "n", "0", "false", "否"})


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each known field sits in a row (``None``: the file has no such column)."""

    names: tuple[str, ...]
    index: dict[str, int]
    phones: tuple[tuple[int, int, int | None], ...]  # (position, column, third_party column)
    data: tuple[tuple[str, int], ...]
    optional: tuple[tuple[str, int], ...]  # the OPTIONAL_FIELDS present, with their columns
    mapped: frozenset[str] = frozenset()  # fields read from a header the [columns] table names

    @classmethod
    def from_header(
        cls, header: list[str], mapping: ColumnMap | None = None, file_name: str = "the file"
    ) -> tuple[Columns, list[str]]:
        """The mapping, and the problems with the header (empty when usable).

        ``mapping`` is the campaign's ``[columns]`` table (field -> headers); every
        column no field takes goes to the contact's ``data``.
        """
        names = tuple(h.strip() for h in header)
        problems: list[str] = []
        seen: set[str] = set()
        for name in names:
            key = header_key(name)
            if key and key in seen:
                problems.append(f"column {name!r} appears twice")
            seen.add(key)
        found = resolve(names, mapping)
        index = found.index
        problems.extend(f"{gap.field}: {gap.message(file_name)}" for gap in found.missing)
        taken = set(index.values())
        data = tuple((name, i) for i, name in enumerate(names) if name and i not in taken)
        gaps = {gap.field for gap in found.missing}
        if "external_id" not in index and "external_id" not in gaps:
            problems.append("missing required column external_id")
        phones = tuple(
            (p, index[f"phone{p}"], index.get(f"phone{p}_third_party"))
            for p in range(1, MAX_PHONES + 1)
            if f"phone{p}" in index
        )
        if not phones and not gaps & set(PHONE_FIELDS):
            problems.append("missing phone column: need at least one of phone1..phone4")
        optional = tuple((f, index[f]) for f in OPTIONAL_FIELDS if f in index)
        return cls(names, index, phones, data, optional, found.mapped), problems

    def label(self, field: str) -> str:
        """How problems name ``field``: the list's own header when [columns] mapped it."""
        i = self.index.get(field)
        return self.names[i] if i is not None and field in self.mapped else field

    def get(self, values: list[str], field: str) -> str:
        i = self.index.get(field)
        return values[i].strip() if i is not None else ""


@dataclass(frozen=True, slots=True)
class NumberField:
    """One ``phoneN`` value: ``position`` is N, ``result`` its normalisation."""

    position: int
    raw: str
    third_party: bool
    result: NormalizedNumber | Rejection
    carrier: str | None = None  # the list's phoneN_carrier (a ported number's real carrier)


@dataclass(slots=True)
class ContactRow:
    line: int
    values: list[str]
    external_id: str
    name: str | None
    timezone: str | None
    deadline: datetime | None
    not_before: datetime | None
    appointment: datetime | None
    priority: int
    data: dict[str, str] | None
    numbers: list[NumberField]


@dataclass(frozen=True, slots=True)
class RowError:
    """A row refused as a whole; ``reason`` is a stable code, ``message`` says why."""

    line: int
    values: list[str]
    field: str
    reason: str
    message: str


class _Invalid(Exception):
    def __init__(self, field: str, message: str, reason: str = "invalid_value") -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason


def parse_row(
    columns: Columns, values: list[str], line: int, region: str, default_tz: tzinfo
) -> ContactRow | RowError:
    """Read one data row (already padded to the header's width)."""
    try:
        return _parse(columns, values, line, region, default_tz)
    except _Invalid as exc:
        return RowError(line, values, columns.label(exc.field), exc.reason, str(exc))


def _parse(
    columns: Columns, values: list[str], line: int, region: str, default_tz: tzinfo
) -> ContactRow:
    external_id = columns.get(values, "external_id")
    if not external_id:
        raise _Invalid("external_id", "is empty", "missing_external_id")
    if len(external_id) > MAX_EXTERNAL_ID:
        raise _Invalid("external_id", f"longer than {MAX_EXTERNAL_ID} characters")
    got = {field: text for field, i in columns.optional if (text := values[i].strip())}
    timezone = got.get("timezone")
    zone = _zone(timezone) if timezone else default_tz
    times = [_moment(f, got[f], zone) if f in got else None for f in TIME_FIELDS]
    priority_text = got.get("priority")
    try:
        priority = int(priority_text) if priority_text else 0
    except ValueError:
        raise _Invalid("priority", f"{priority_text!r} is not an integer") from None
    if not -1_000_000 <= priority <= 1_000_000:
        raise _Invalid("priority", "must be between -1000000 and 1000000")
    numbers = _numbers(columns, values, region)
    if not numbers:
        raise _Invalid(
            columns.names[columns.phones[0][1]] if columns.phones else "phone1",
            "no phone number in phone1..phone4",
            "no_number",
        )
    data = {name: values[i] for name, i in columns.data if values[i] != ""}
    return ContactRow(
        line=line,
        values=values,
        external_id=external_id,
        name=got.get("name"),
        timezone=timezone,
        deadline=times[0],
        not_before=times[1],
        appointment=times[2],
        priority=priority,
        data=data or None,
        numbers=numbers,
    )


def _numbers(columns: Columns, values: list[str], region: str) -> list[NumberField]:
    found = []
    for position, col, tp_col in columns.phones:
        raw = values[col]
        if not raw.strip(" "):
            continue
        third_party = False
        if tp_col is not None:
            flag = values[tp_col].strip().lower()
            if flag in _YES:
                third_party = True
            elif flag not in _NO:
                raise _Invalid(
                    columns.names[tp_col], f"{values[tp_col]!r} is not yes/no/1/0/true/false"
                )
        listed = columns.get(values, f"phone{position}_carrier") or None
        if listed is not None and len(listed) > MAX_CARRIER:
            field = columns.label(f"phone{position}_carrier")
            raise _Invalid(field, f"longer than {MAX_CARRIER} characters")
        found.append(NumberField(position, raw, third_party, normalize(raw, region), listed))
    return found


def _zone(name: str) -> ZoneInfo:
    if len(name) > MAX_TIMEZONE:
        raise _Invalid("timezone", "not an IANA time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Invalid("timezone", f"{name!r} is not an IANA time zone") from None


def _moment(field: str, text: str, zone: tzinfo) -> datetime | None:
    """ISO 8601; without an offset the time is in ``zone``; a bare date is its 00:00.

    A bare-date ``deadline`` means the end of that day (the next day's 00:00).
    """
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _Invalid(field, f"{text!r} is not an ISO 8601 date or time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if field == "deadline" and len(text) == 10:
        moment = (moment + timedelta(days=1)).replace(tzinfo=moment.tzinfo)
    return moment
