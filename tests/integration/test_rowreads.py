"""dialerd.db.rowreads: a Read gives the values SQLAlchemy gives, in its transaction."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, bindparam, insert, select
from sqlalchemy.exc import DBAPIError

from dialerd.db import tables
from dialerd.db.failures import database_error
from dialerd.db.rowreads import Read
from dialerd.errors import SchemaOutOfDate

_cp = tables.campaigns
_CAMPAIGNS = select(
    _cp.c.id,
    _cp.c.name,
    _cp.c.config,
    _cp.c.start_date,
    _cp.c.state,
    _cp.c.created_at,
    _cp.c.updated_at,
).where(_cp.c.max_rounds >= bindparam("rounds"))
_BY_NAME = _CAMPAIGNS.order_by(_cp.c.name)


def _campaigns(engine: Engine) -> None:
    plus8 = timezone(timedelta(hours=8))
    rows = [
        {
            "name": f"c{i}",
            "config": config,
            "config_sha256": "0" * 64,
            "timezone": "Asia/Shanghai",
            "start_date": start,
            "max_rounds": i,
            "min_spacing_s": 60,
            "state": state,
            "created_at": datetime(2026, 11, 23, 9, 30, 0, i, tzinfo=plus8),
            "updated_at": datetime(2026, 11, 23, 1, 30, tzinfo=UTC),
        }
        for i, (config, start, state) in enumerate(
            [
                ({"a": 1, "b": [1, "x"]}, date(2026, 11, 23), "active"),
                ({}, None, "paused"),
                ({"nested": {"k": None}}, date(2027, 1, 1), "stopped"),
            ],
            start=1,
        )
    ]
    with engine.begin() as conn:
        conn.execute(insert(_cp), rows)


def test_a_read_gives_the_values_sqlalchemy_gives(engine: Engine) -> None:
    _campaigns(engine)
    read = Read(lambda _d: _BY_NAME, ["rounds"])
    with engine.connect() as conn:
        for rounds in (1, 2, 9, 1):  # the conversion is made once, then reused
            expected = [tuple(r) for r in conn.execute(_BY_NAME, {"rounds": rounds})]
            got = read.rows(conn, rounds)
            assert got == expected
            assert [[type(v) for v in r] for r in got] == [[type(v) for v in r] for r in expected]
    assert [r[1] for r in expected] == ["c1", "c2", "c3"]
    assert expected[0][5] == datetime(2026, 11, 23, 1, 30, 0, 1, tzinfo=UTC)


def test_raw_columns_come_as_the_driver_gives_them(engine: Engine) -> None:
    _campaigns(engine)
    read = Read(lambda _d: _BY_NAME, ["rounds"], raw=["state"])
    with engine.connect() as conn:
        states = [r[4] for r in read.rows(conn, 1)]
    assert states == ["active", "paused", "stopped"]
    assert all(type(s) is str for s in states)


def test_a_read_runs_in_the_connections_transaction(engine: Engine) -> None:
    _campaigns(engine)
    read = Read(lambda _d: _BY_NAME, ["rounds"])
    with engine.connect() as conn:
        assert not conn.in_transaction()
        assert len(read.rows(conn, 1)) == 3
        assert conn.in_transaction()  # begun as SQLAlchemy begins one
        conn.execute(_cp.delete().where(_cp.c.name == "c1"))
        assert [r[1] for r in read.rows(conn, 1)] == ["c2", "c3"]  # sees its own writes
        conn.rollback()
        assert [r[1] for r in read.rows(conn, 1)] == ["c1", "c2", "c3"]
        conn.rollback()


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(engine: Engine) -> None:
    nowhere = Table("nowhere", MetaData(), Column("id", Integer))
    read = Read(lambda _d: select(nowhere.c.id), [])
    with engine.connect() as conn, pytest.raises(DBAPIError) as raised:
        read.rows(conn)
    assert isinstance(database_error(raised.value), SchemaOutOfDate)
