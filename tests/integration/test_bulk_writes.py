"""dialerd.db.bulk: rows written as tuples store what SQLAlchemy's executemany stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, bindparam, event, insert, select, update

from dialerd.db import tables
from dialerd.db.bulk import InsertMany, Many

_ev = tables.campaign_events
_dnc = tables.dnc_entries

_EVENT = (
    update(_ev)
    .where(_ev.c.id == bindparam("b_id"))
    .values(at=bindparam("b_at"), details=bindparam("b_details"), kind="rewritten")
)


def _events(engine: Engine, n: int) -> list[int]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        rows = [{"at": at, "kind": "k", "actor": "a", "details": None} for _ in range(n)]
        conn.execute(insert(_ev), rows)
        return list(conn.execute(select(_ev.c.id).order_by(_ev.c.id)).scalars())


def test_many_stores_what_executemany_stores(engine: Engine) -> None:
    ids = _events(engine, 6)
    plus8 = timezone(timedelta(hours=8))
    values = [
        (datetime(2026, 11, 23, 9, 30, tzinfo=UTC), {"a": 1, "b": [1, "x"]}),
        (datetime(2026, 11, 23, 9, 30, 0, 5, tzinfo=UTC), {"lost": True}),
        (datetime(2026, 11, 23, 17, 30, tzinfo=plus8), None),
    ]
    with engine.begin() as conn:
        conn.execute(
            _EVENT,
            [
                {"b_id": i, "b_at": at, "b_details": d}
                for i, (at, d) in zip(ids[:3], values, strict=True)
            ],
        )
        Many(_EVENT, ("b_id", "b_at", "b_details")).execute(
            conn, [(i, at, d) for i, (at, d) in zip(ids[3:], values, strict=True)]
        )
    with engine.connect() as conn:
        # the driver's values, as stored: SQLite's text, PostgreSQL's timestamptz and jsonb
        raw = conn.exec_driver_sql(
            "SELECT at, details, kind FROM campaign_events ORDER BY id"
        ).all()
        typed = conn.execute(select(_ev.c.at, _ev.c.details).order_by(_ev.c.id)).all()
    assert raw[:3] == raw[3:]
    assert all(kind == "rewritten" for _, _, kind in raw)
    assert [tuple(r) for r in typed[3:]] == [(at.astimezone(UTC), d) for at, d in values]


def test_many_with_no_rows_runs_nothing(engine: Engine) -> None:
    ids = _events(engine, 1)
    with engine.begin() as conn:
        Many(_EVENT, ("b_id", "b_at", "b_details")).execute(conn, [])
        kind = conn.execute(select(_ev.c.kind).where(_ev.c.id == ids[0])).scalar_one()
    assert kind == "k"


def test_insert_many_returns_only_the_rows_inserted(engine: Engine) -> None:
    inserts = InsertMany(
        _dnc,
        ("id", "kind", "value", "reason", "source", "created_at"),
        conflict=["id"],
        returning=["id", "value"],
    )
    now = datetime(2026, 11, 23, tzinfo=UTC)
    first = [(i, "number", f"+86138{i:08d}", "", "test", now) for i in range(1, 4)]
    # more rows than one statement takes: the chunks' returned rows add up
    more = [(i, "number", f"+86139{i:08d}", "", "test", now) for i in range(2, 1203)]
    with engine.begin() as conn:
        assert sorted(inserts.execute(conn, first)) == [(i, f"+86138{i:08d}") for i in (1, 2, 3)]
        again = inserts.execute(conn, more)
        assert inserts.execute(conn, []) == []
    assert sorted(again) == [(i, f"+86139{i:08d}") for i in range(4, 1203)]
    with engine.connect() as conn:
        stored = conn.execute(select(_dnc.c.created_at).where(_dnc.c.id == 1000)).scalar_one()
        count = len(conn.execute(select(_dnc.c.id)).scalars().all())
    assert stored == now
    assert count == 1202


def test_insert_many_uses_a_few_statement_texts_for_any_batch_size(engine: Engine) -> None:
    inserts = InsertMany(
        _dnc, ("kind", "value", "reason", "source", "created_at"), conflict=["id"], returning=["id"]
    )
    now = datetime(2026, 11, 23, tzinfo=UTC)
    texts: set[str] = set()

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("INSERT"):
            texts.add(statement)

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.begin() as conn:
            returned = [
                inserts.execute(
                    conn, [("number", f"+86{n:03d}{i:08d}", "", "t", now) for i in range(n)]
                )
                for n in range(1, 301)
            ]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert [len(r) for r in returned] == list(range(1, 301))
    assert len(texts) == 9  # 1, 2, 4, ... 256 rows
