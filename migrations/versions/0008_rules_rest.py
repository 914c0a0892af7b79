"""rules rest: rows refused at import, so Useless Data counts records, not numbers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:40:00

``imports.rows_refused`` holds the rows an import refused whole (no contact
loaded: no usable number, duplicate row, every number on the DNC list). The
``rejected`` counters also hold single numbers dropped from rows whose contact
loaded, so ``v_campaign_figures`` counted numbers as useless records: the
example list of 20 rows showed 21.7 % where seed 003's definition gives
2 ÷ 20 = 10 %. The view now reads ``rows_refused`` (older imports, where it is
NULL, keep the old count).

``phone_numbers.carrier_source``: where the stored carrier came from (``prefix``,
``list``: the contact list's ``phoneN_carrier``, ``ported``: the ported-numbers
file); ported numbers (携号转网) get the caller ID of the carrier they are on now.

``attempts.recording_file``: the recording the answered leg reported
(``DIALERD_RECORDING_FILE``), for the supervisors' spot checks.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VIEW = "v_campaign_figures"
COLUMNS = (
    ("imports", "rows_refused"),
    ("phone_numbers", "carrier_source"),
    ("attempts", "recording_file"),
)


def _views_0002() -> ModuleType:
    """The 0002 revision's view bodies (a file name starting with a digit: no plain import)."""
    path = Path(__file__).with_name("0002_reporting_views.py")
    spec = importlib.util.spec_from_file_location("dialerd_migration_0002", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _figures(*, rows_refused: bool) -> str:
    m = _views_0002()
    x = m._sql(op.get_bind().dialect.name)
    body: str = m._views(x)[VIEW]
    old = f'SUM({x["rejected_sum"]} + i.duplicates + i.dnc_suppressed) AS rejected_at_import'
    assert old in body, "0002's v_campaign_figures changed: update 0008"
    if not rows_refused:
        return body
    new = (
        f"SUM(COALESCE(i.rows_refused, {x['rejected_sum']} + i.duplicates + i.dnc_suppressed))"
        " AS rejected_at_import"
    )
    return body.replace(old, new)


def _replace_view(body: str) -> None:
    bind = op.get_bind()
    bind.exec_driver_sql(f"DROP VIEW IF EXISTS {VIEW}")
    bind.exec_driver_sql(f"CREATE VIEW {VIEW} AS {body}")


def upgrade() -> None:
    op.add_column("imports", sa.Column("rows_refused", sa.Integer(), nullable=True))
    op.add_column("phone_numbers", sa.Column("carrier_source", sa.String(length=8), nullable=True))
    op.add_column("attempts", sa.Column("recording_file", sa.String(length=255), nullable=True))
    _replace_view(_figures(rows_refused=True))


def downgrade() -> None:
    old = _figures(rows_refused=False)
    bind = op.get_bind()
    bind.exec_driver_sql(f"DROP VIEW IF EXISTS {VIEW}")
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would break the views on the table.
    for table, column in COLUMNS:
        bind.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
    _replace_view(old)
