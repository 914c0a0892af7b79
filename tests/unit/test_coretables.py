"""The Core tables of the light verbs agree with the models, column by column."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite

import dialerd.db.models  # noqa: F401  (registers every table on Base.metadata)
from dialerd.db import coretables
from dialerd.db.base import Base

# Tables the light verbs insert into or read whole: every column of the model is here.
COMPLETE = ("campaigns", "campaign_events", "dnc_entries", "instances")
DIALECTS = (sqlite.dialect(), postgresql.dialect())  # type: ignore[no-untyped-call]


def _shape(column: Column[object]) -> tuple[object, ...]:
    types = tuple(column.type.compile(dialect=d) for d in DIALECTS)
    keys = sorted((fk.target_fullname, fk.ondelete) for fk in column.foreign_keys)
    return (types, column.nullable, column.primary_key, keys)


@pytest.mark.parametrize("name", sorted(coretables.metadata.tables))
def test_each_column_is_the_models(name: str) -> None:
    light: Table = coretables.metadata.tables[name]
    model: Table = Base.metadata.tables[name]
    assert {c.name for c in light.columns} <= {c.name for c in model.columns}
    for column in light.columns:
        assert _shape(column) == _shape(model.columns[column.name]), column.name
    if name in COMPLETE:
        assert [c.name for c in light.columns] == [c.name for c in model.columns]


def test_the_json_columns_bind_and_read_as_the_models() -> None:
    light = coretables.campaign_events.c.details.type
    model = Base.metadata.tables["campaign_events"].c.details.type
    for dialect in DIALECTS:
        light_bind = light.dialect_impl(dialect).bind_processor(dialect)
        model_bind = model.dialect_impl(dialect).bind_processor(dialect)
        value = {"from": "active", "to": "paused", "n": [1, 2]}
        as_light = light_bind(value) if light_bind else value
        as_model = model_bind(value) if model_bind else value
        assert repr(as_light) == repr(as_model)  # psycopg's Jsonb wrapper has no ==
