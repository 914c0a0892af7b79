"""The record of an import run: the ``imports`` row and the ``contacts_imported`` event."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from dialerd.db.models import CampaignEvent, ContactImport

if TYPE_CHECKING:
    from dialerd.importer.service import ImportSummary


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def start_import(engine: Engine, campaign_id: int, path: Path, encoding: str, now: datetime) -> int:
    with Session(engine) as session, session.begin():
        run = ContactImport(
            campaign_id=campaign_id,
            path=str(path),
            sha256=file_sha256(path),
            encoding=encoding,
            started_at=now,
            rejected={},
        )
        session.add(run)
        session.flush()
        return run.id


def finish_import(
    engine: Engine, campaign_id: int, summary: ImportSummary, now: datetime, actor: str
) -> None:
    with Session(engine) as session, session.begin():
        run = session.get_one(ContactImport, summary.import_id)
        run.finished_at = now
        run.rows = summary.rows
        run.loaded = summary.loaded
        run.numbers = summary.numbers
        run.already_loaded = summary.already_loaded
        run.rejected = summary.rejected
        run.duplicates = summary.duplicates
        run.dnc_suppressed = summary.dnc_suppressed
        run.rows_refused = summary.rows_refused
        run.rejects_file = summary.rejects_file
        details = {**summary.as_dict(), "path": run.path, "sha256": run.sha256}
        session.add(
            CampaignEvent(
                campaign_id=campaign_id,
                at=now,
                kind="contacts_imported",
                actor=actor,
                details=details,
            )
        )
