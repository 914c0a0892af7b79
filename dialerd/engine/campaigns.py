"""Campaign files → database rows and contact imports → the engine's runtimes.

Used at start-up and on SIGHUP. A file that fails validation is refused with its
problems while its previous version (if any) keeps running; a removed file stops
its campaign's dialling; a changed contact list appends (importing is idempotent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from dialerd.campaignfile.convert import to_relative_times
from dialerd.campaignfile.errors import FileProblems
from dialerd.campaignfile.loader import LoadedCampaign
from dialerd.db.models import Campaign, ContactImport
from dialerd.domain.calendar import CallingCalendar
from dialerd.domain.ports import AnsweredTarget
from dialerd.domain.workdays import RelativeTimes
from dialerd.engine.registry import load_directory, register
from dialerd.engine.runtime import CampaignRuntime
from dialerd.importer import ImportSummary, import_contacts
from dialerd.logconfig import get_logger

log = get_logger("dialerd.campaigns")
IMPORT_LOCK = 0x696D7074  # "impt": the advisory lock space of contact-list imports


def runtime_from(loaded: LoadedCampaign, campaign_id: int) -> CampaignRuntime:
    d = loaded.model.dialing
    return CampaignRuntime(
        id=campaign_id,
        name=loaded.name,
        policy=loaded.policy,
        calendar=loaded.calendar,
        caller_ids=loaded.caller_ids,
        answered=AnsweredTarget(
            context=d.answered.context,
            exten=d.answered.exten,
            priority=d.answered.priority,
            application=d.answered.application,
            data=d.answered.data,
        ),
        record=d.record,
        max_concurrent=d.max_concurrent,
        calls_per_second=d.calls_per_second,
        priority=d.priority,
        weight=d.weight,
        dial_prefix=d.dial_prefix,
        pacing=loaded.pacing,
        queue=loaded.model.pacing.queue,
    )


@dataclass
class CampaignSet:
    """The campaigns a daemon runs, by database id, plus the files it refused."""

    runtimes: dict[int, CampaignRuntime] = field(default_factory=dict)
    files: dict[str, LoadedCampaign] = field(default_factory=dict)  # by file path
    ids: dict[str, int] = field(default_factory=dict)  # file path -> campaign id
    problems: list[FileProblems] = field(default_factory=list)


def _file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _already_imported(session: Session, campaign_id: int, path: Path, sha: str) -> bool:
    return (
        session.scalars(
            select(ContactImport.id).where(
                ContactImport.campaign_id == campaign_id,
                ContactImport.sha256 == sha,
                ContactImport.finished_at.is_not(None),
            )
        ).first()
        is not None
    )


def import_lists(
    engine: Engine, loaded: LoadedCampaign, campaign_id: int, *, now: datetime, actor: str
) -> list[tuple[Path, ImportSummary | None]]:
    """Import the campaign's contact lists; a list already imported in this exact form is
    skipped (None), so a reload reads only what changed. Returns each list's summary."""
    done: list[tuple[Path, ImportSummary | None]] = []
    with importing(engine, campaign_id):
        for path in loaded.contact_paths:
            if not path.is_file():
                log.error("contact_list_missing", campaign=loaded.name, path=str(path))
                continue
            done.append((path, _import_list(engine, loaded, campaign_id, path, now, actor)))
    return done


@contextmanager
def importing(engine: Engine, campaign_id: int) -> Iterator[None]:
    """One daemon at a time imports a campaign's lists: peers starting together on
    PostgreSQL would otherwise COPY the same rows at once (a unique-key violation).
    A session-level advisory lock, on a connection of its own, held for the import;
    SQLite's write lock already serialises each batch."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(select(func.pg_advisory_lock(IMPORT_LOCK, campaign_id)))
        conn.commit()  # the lock outlives the transaction: no transaction is left idle
        try:
            yield
        finally:
            try:
                conn.execute(select(func.pg_advisory_unlock(IMPORT_LOCK, campaign_id)))
                conn.commit()
            except DBAPIError:  # never back into the pool holding the lock
                conn.invalidate()  # closed: the server drops the lock with its session


def _import_list(
    engine: Engine, loaded: LoadedCampaign, campaign_id: int, path: Path, now: datetime, actor: str
) -> ImportSummary | None:
    """Import one list; None when it was already imported in this exact form."""
    sha = _file_sha(path)
    with Session(engine) as session:
        if _already_imported(session, campaign_id, path, sha):
            return None
    summary = import_contacts(
        engine,
        campaign_id=campaign_id,
        path=path,
        region=loaded.model.region,
        default_timezone=loaded.model.timezone,
        now=now,
        actor=actor,
        columns=loaded.model.column_map(),
        relative=_relative(loaded),
    )
    log.info("contacts_imported", campaign=loaded.name, path=str(path), **summary.as_dict())
    return summary


def _relative(loaded: LoadedCampaign) -> tuple[RelativeTimes, CallingCalendar] | None:
    """The campaign's reminder / callback_within rules with its calendar, for the importer."""
    rules = to_relative_times(loaded.model)
    return None if rules is None else (rules, loaded.calendar)


def install(
    engine: Engine, loaded: LoadedCampaign, *, now: datetime, actor: str
) -> CampaignRuntime:
    """Register the campaign (row and audit event), import its lists, build its runtime."""
    with Session(engine) as session:
        row, kind = register(session, loaded, now=now, actor=actor)
        session.commit()
        campaign_id = row.id
    if kind != "campaign_unchanged":
        log.info(kind, campaign=loaded.name, path=str(loaded.path))
    import_lists(engine, loaded, campaign_id, now=now, actor=actor)
    return runtime_from(loaded, campaign_id)


def load_campaigns(
    engine: Engine,
    directory: Path,
    *,
    now: datetime,
    actor: str,
    previous: CampaignSet | None = None,
    lists_dirs: Sequence[Path] = (),
) -> CampaignSet:
    """Read every campaign file; register, import and build runtimes for the valid ones."""
    loaded, problems = load_directory(directory, lists_dirs=lists_dirs)
    valid = {str(c.path) for c in loaded}
    result = CampaignSet(problems=[p for p in problems if p.path not in valid])
    for file_problems in problems:
        event = "campaign_file_warning" if file_problems.path in valid else "campaign_file_invalid"
        for p in file_problems.problems:
            (log.warning if file_problems.path in valid else log.error)(
                event, path=p.path, line=p.line, field=p.field, message=p.message
            )
    for refused in result.problems:
        if previous is not None and refused.path in previous.files:
            keep = refused.path  # its previous version keeps running
            result.files[keep] = previous.files[keep]
            result.ids[keep] = previous.ids[keep]
            result.runtimes[previous.ids[keep]] = previous.runtimes[previous.ids[keep]]
            log.warning("campaign_kept_previous_version", path=keep)
    for campaign in loaded:
        runtime = install(engine, campaign, now=now, actor=actor)
        key = str(campaign.path)
        result.files[key] = campaign
        result.ids[key] = runtime.id
        result.runtimes[runtime.id] = runtime
    if previous is not None:
        for gone in previous.ids.keys() - result.ids.keys():
            log.warning("campaign_file_removed", path=gone, campaign_id=previous.ids[gone])
    return result


def campaign_states(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        return {int(i): str(s) for i, s in conn.execute(select(Campaign.id, Campaign.state))}
