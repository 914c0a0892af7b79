"""dialerd.db.rowreads: its shortcut conversions give what the column types give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql, sqlite

from dialerd.db import rowreads, tables
from dialerd.db.types import UtcDateTime
from dialerd.domain.states import AttemptStatus

_FROM_TEXT = UtcDateTime().result_processor(sqlite.dialect(), None)
TEXTS = st.builds(
    lambda minutes, micro, offset: (
        (datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=minutes, microseconds=micro))
        .astimezone(timezone(timedelta(hours=offset)))
        .isoformat(" ", "microseconds")
    ),
    st.integers(0, 60 * 24 * 400),
    st.integers(0, 999_999),
    st.sampled_from([0, 8, -5]),
)


@given(st.lists(TEXTS, min_size=1, max_size=50))
def test_sqlite_moments_cached_equal_the_types_own(texts: list[str]) -> None:
    assert _FROM_TEXT is not None
    for text in texts + [t[:26] for t in texts] + texts:  # aware text, naive UTC text, again
        assert rowreads._sqlite_moment(text) == _FROM_TEXT(text)
        assert rowreads._sqlite_moment(text).tzinfo is UTC  # type: ignore[union-attr]
    assert rowreads._sqlite_moment(None) is None
    assert len(rowreads._MOMENTS) <= rowreads._MOMENTS_MAX


DIALECTS = (sqlite.dialect(), postgresql.dialect())  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_enum_columns_convert_as_the_type_does(dialect: object) -> None:
    column = tables.attempts.c.status
    convert = rowreads._processor(column, dialect, None)  # type: ignore[arg-type]
    assert convert is not None
    for value in [*(s.value for s in AttemptStatus), None]:
        expected = column.type.process_result_value(value, dialect)  # type: ignore[attr-defined]
        assert convert(value) == expected and type(convert(value)) is type(expected)
    with pytest.raises(ValueError):
        convert("no such status")


def test_rows_convert_only_the_columns_with_a_processor() -> None:
    def one(value: object) -> object:
        return ("one", value)

    assert rowreads._converter([None, None]) is rowreads._same
    convert = rowreads._converter([None, one, None])
    assert convert((1, 2, 3)) == (1, ("one", 2), 3)
