"""The light verbs' SQLite text is what their Core statements compile to, converted alike."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Boolean
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import make_url

from dialerd.db import clock, engine, statements
from dialerd.db.lite import database
from dialerd.db.lite.convert import from_sqlite, to_sqlite
from dialerd.db.lite.runner import prepare
from dialerd.db.lite.sql import STATEMENTS
from dialerd.db.lite.url import sqlite_path
from dialerd.db.litegen import compile_all, render
from dialerd.db.types import Json, StrEnumText, UtcDateTime
from dialerd.domain.states import CampaignState, NumberState
from dialerd.process.dbfile import sqlite_file

DIALECT = sqlite.dialect()


def test_the_stored_statements_are_the_core_statements_compiled_for_sqlite() -> None:
    """Fails after a statement changes until `python -m dialerd.db.litegen` writes them again."""
    assert compile_all() == STATEMENTS
    assert set(STATEMENTS) == set(statements.named())
    namespace: dict[str, object] = {}
    exec(render(), namespace)  # what the writer writes holds the same
    assert namespace["STATEMENTS"] == STATEMENTS


@pytest.mark.parametrize("name", sorted(STATEMENTS))
def test_each_text_is_sqlalchemys_own_for_sqlite3_named_parameters_aside(name: str) -> None:
    """As SQLAlchemy runs it on SQLite (``?`` parameters), every conversion named known."""
    found = STATEMENTS[name]
    qmark = statements.named()[name].compile(dialect=DIALECT).string
    assert re.sub(r":[a-z_0-9]+", "?", found.sql) == qmark
    for kind in [k for _, k in found.params] + [k for _, k in found.columns]:
        assert callable(to_sqlite(kind)) and callable(from_sqlite(kind))


def test_the_clock_and_the_pragmas_are_the_engines() -> None:
    assert clock._SQL["sqlite"] == database.CLOCK_SQL
    assert engine.SQLITE_CACHE_KIB == database.CACHE_KIB


MOMENTS = [
    datetime(2026, 12, 7, 8, 30, 1, 123456, tzinfo=UTC),
    datetime(2026, 3, 1, 0, 0, tzinfo=timezone(timedelta(hours=8))),
    datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
]


@pytest.mark.parametrize("moment", [*MOMENTS, None])
def test_timestamps_convert_as_utc_datetime_does(moment: datetime | None) -> None:
    bind = UtcDateTime().bind_processor(DIALECT)
    result = UtcDateTime().result_processor(DIALECT, None)
    assert bind is not None and result is not None
    stored = to_sqlite("utc")(moment)
    assert stored == bind(moment)
    assert from_sqlite("utc")(stored) == result(stored)
    if moment is not None:
        assert from_sqlite("utc")(stored) == moment
        assert from_sqlite("utc")(stored).tzinfo is UTC


def test_a_naive_timestamp_is_refused_alike() -> None:
    with pytest.raises(ValueError, match="naive"):
        to_sqlite("utc")(datetime(2026, 1, 1))


@pytest.mark.parametrize(
    "value", [None, {"from": CampaignState.active, "to": "paused"}, {"é": [1, 2.5, None]}, "x"]
)
def test_json_converts_as_the_json_column_does(value: object) -> None:
    impl = Json().dialect_impl(DIALECT)
    bind = impl.bind_processor(DIALECT)
    result = impl.result_processor(DIALECT, None)
    assert bind is not None and result is not None
    assert to_sqlite("json")(value) == bind(value)
    assert from_sqlite("json")(bind(value)) == result(bind(value))
    assert from_sqlite("json")(None) is None


def test_booleans_and_enums_convert_as_their_columns_do() -> None:
    result = Boolean().result_processor(DIALECT, None)  # type: ignore[no-untyped-call]
    assert result is not None
    for stored in (0, 1, None):
        assert from_sqlite("bool")(stored) == result(stored)
    column = StrEnumText(NumberState)
    assert to_sqlite("enum:NumberState")("dnc") == column.process_bind_param("dnc", DIALECT)
    assert from_sqlite("enum:NumberState")("dnc") is NumberState.dnc
    with pytest.raises(ValueError):
        to_sqlite("enum:NumberState")("nonsense")
    with pytest.raises(ValueError):
        from_sqlite("enum:CampaignState")("nonsense")


def test_an_in_list_is_spread_as_sqlalchemy_names_it() -> None:
    sql, params = prepare(STATEMENTS["take_numbers_out"], {"ids": [7, 8, 9]})
    assert "IN (:ids_1, :ids_2, :ids_3)" in sql
    assert params == {"ids_1": 7, "ids_2": 8, "ids_3": 9, "state": "dnc", "next_dial_at": None}
    sql, params = prepare(STATEMENTS["dialling_campaign_files"], {})
    assert "IN (:state_1_1, :state_1_2)" in sql
    assert params == {"state_1_1": "active", "state_1_2": "paused"}
    with pytest.raises(ValueError):
        prepare(STATEMENTS["take_numbers_out"], {"ids": []})
    with pytest.raises(TypeError):
        prepare(STATEMENTS["campaign_id"], {"nmae": "x"})


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///var/dialerd.db",
        "sqlite:////tmp/x.db",
        "sqlite:///a%20b/c.db",
        "sqlite:///a#b.db",
        "sqlite+pysqlite:///y.db",
    ],
)
def test_a_plain_sqlite_url_names_the_file_sqlalchemy_opens(url: str) -> None:
    found = sqlite_path(url)
    assert found is not None
    assert str(found) == make_url(url).database
    assert found.absolute() == sqlite_file(url)


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:///x.db?timeout=5",
        "sqlite:///file:x.db?mode=ro&uri=true",
        "postgresql://u:p@h/db",
        "postgresql+psycopg://u@h/db",
        "sqlite+aiosqlite:///x.db",
    ],
)
def test_any_other_url_is_left_to_sqlalchemy(url: str) -> None:
    assert sqlite_path(url) is None


def test_the_details_of_an_event_are_written_as_sqlalchemy_writes_them() -> None:
    _, params = prepare(
        STATEMENTS["record_event"],
        {
            "campaign_id": 1,
            "now": MOMENTS[0],
            "kind": "campaign_paused",
            "actor": "a@b",
            "details": {"from": CampaignState.active, "to": CampaignState.paused},
        },
    )
    assert params["details"] == json.dumps({"from": "active", "to": "paused"})
    assert params["now"] == "2026-12-07 08:30:01.123456"
