"""A contact list's columns: dialerd's field names, the ``[columns]`` table, header matching.

Lists arrive with the sending system's own headers (保单号, 投保人, 手机...). The
campaign file's ``[columns]`` table names, for each dialerd field, the header to
read it from; a list of headers means the first one the file has. A field not in
the table is read from a column of its own name, as before. Headers match trimmed
and case-insensitively. :func:`resolve` is the one matcher, used by the campaign
file check (with ``path:line`` problems) and by the importer.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Self

from pydantic import BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from dialerd.campaignfile.fields import Strict

MAX_PHONES = 4
TIME_FIELDS = ("deadline", "not_before", "appointment")
PHONE_FIELDS = tuple(f"phone{i}" for i in range(1, MAX_PHONES + 1))
THIRD_PARTY_FIELDS = tuple(f"phone{i}_third_party" for i in range(1, MAX_PHONES + 1))
CARRIER_FIELDS = tuple(f"phone{i}_carrier" for i in range(1, MAX_PHONES + 1))  # ported numbers
OPTIONAL_FIELDS = ("name", "timezone", "priority", *TIME_FIELDS)
FIELDS = (
    "external_id",
    *PHONE_FIELDS,
    *THIRD_PARTY_FIELDS,
    *CARRIER_FIELDS,
    *OPTIONAL_FIELDS,
)
_HEADER_BYTES = 64 * 1024
_BOM = b"\xef\xbb\xbf"

ColumnMap = Mapping[str, Sequence[str]]


def header_key(name: str) -> str:
    """How headers compare: trimmed (full-width spaces too), case-folded."""
    return name.strip().casefold()


@dataclass(frozen=True, slots=True)
class Missing:
    """A mapped field none of whose headers the file has."""

    field: str
    wanted: tuple[str, ...]
    near: str | None  # the file's header closest to one of ``wanted``

    def message(self, file_name: str) -> str:
        names = " or ".join(f'"{w}"' for w in self.wanted)
        hint = f'; did you mean "{self.near}"?' if self.near else ""
        return f"no column {names} in {file_name}{hint}"


@dataclass(frozen=True, slots=True)
class Resolved:
    """Field -> column index, which fields came from the table, and what is missing."""

    index: dict[str, int]
    mapped: frozenset[str]
    missing: tuple[Missing, ...]


def resolve(header: Sequence[str], mapping: ColumnMap | None = None) -> Resolved:
    """Where each dialerd field sits in ``header`` under ``mapping``."""
    mapping = mapping or {}
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        where.setdefault(header_key(name), i)
    index: dict[str, int] = {}
    missing: list[Missing] = []
    claimed = {header_key(h) for names in mapping.values() for h in names}
    for field in FIELDS:
        wanted = tuple(mapping.get(field, ()))
        if wanted:
            found = next((where[header_key(w)] for w in wanted if header_key(w) in where), None)
            if found is None:
                missing.append(Missing(field, wanted, _nearest(wanted, header)))
            else:
                index[field] = found
        elif field in where and field not in claimed:
            index[field] = where[field]
    return Resolved(index, frozenset(mapping), tuple(missing))


def _nearest(wanted: Sequence[str], header: Sequence[str]) -> str | None:
    """The header closest to any wanted name (difflib), else one that contains it."""
    names = [h.strip() for h in header if h.strip()]
    best: tuple[float, str] | None = None
    for w in wanted:
        for name in names:
            ratio = difflib.SequenceMatcher(None, header_key(w), header_key(name)).ratio()
            if ratio >= 0.6 and (best is None or ratio > best[0]):
                best = (ratio, name)
    if best is not None:
        return best[1]
    for w in wanted:
        for name in names:
            if header_key(w) in header_key(name) or header_key(name) in header_key(w):
                return name
    return None


def read_header(path: Path) -> list[str]:
    """A list's header row: UTF-8 (BOM or not), else GB18030, as the importer reads it.

    Raises ``OSError`` when the file cannot be read.
    """
    with path.open("rb") as fh:
        sample = fh.read(_HEADER_BYTES)
    sample = sample.removeprefix(_BOM)
    end = sample.find(b"\n")
    end = sample.find(b"\r") if end < 0 else end  # old Mac line ends
    line = sample if end < 0 else sample[:end]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        text = line.decode("gb18030", errors="replace")
    rows = list(csv.reader(io.StringIO(text.rstrip("\r"))))
    return rows[0] if rows else []


def _header_names(value: object) -> object:
    """One header, or a list of headers tried in order: always a tuple."""
    return (value,) if isinstance(value, str) else value


HeaderName = Annotated[str, Field(min_length=1, max_length=200)]
HeaderNames = Annotated[
    tuple[HeaderName, ...], BeforeValidator(_header_names), Field(min_length=1, max_length=20)
]


class ColumnsTable(Strict):
    """``[columns]``: the list's header(s) for each dialerd field (docs/contacts.md)."""

    external_id: HeaderNames | None = None
    name: HeaderNames | None = None
    phone1: HeaderNames | None = None
    phone2: HeaderNames | None = None
    phone3: HeaderNames | None = None
    phone4: HeaderNames | None = None
    phone1_third_party: HeaderNames | None = None
    phone2_third_party: HeaderNames | None = None
    phone3_third_party: HeaderNames | None = None
    phone4_third_party: HeaderNames | None = None
    phone1_carrier: HeaderNames | None = None
    phone2_carrier: HeaderNames | None = None
    phone3_carrier: HeaderNames | None = None
    phone4_carrier: HeaderNames | None = None
    timezone: HeaderNames | None = None
    deadline: HeaderNames | None = None
    not_before: HeaderNames | None = None
    appointment: HeaderNames | None = None
    priority: HeaderNames | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Self:
        owner: dict[str, str] = {}
        for field, names in self.mapping().items():
            for name in names:
                first = owner.setdefault(header_key(name), field)
                if first != field:
                    raise PydanticCustomError(
                        "columns",
                        'header "{name}" is mapped to both {first} and {field}',
                        {"name": name, "first": first, "field": field, "at": field},
                    )
        return self

    def mapping(self) -> dict[str, tuple[str, ...]]:
        """Field -> headers, for the fields the table names, in dialerd's field order."""
        return {f: names for f in FIELDS if (names := getattr(self, f)) is not None}
