"""The campaigns folder and the ``campaigns`` table: load every file, record each load."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dialerd.campaignfile.errors import FileProblems, Problem
from dialerd.campaignfile.loader import LoadedCampaign, check_file
from dialerd.campaignfile.locate import KeyLines
from dialerd.db.models import Campaign, CampaignEvent
from dialerd.domain.states import CampaignState

RegisterResult = Literal["campaign_loaded", "campaign_updated", "campaign_unchanged"]


def load_directory(
    path: Path, *, lists_dirs: Sequence[Path] = ()
) -> tuple[list[LoadedCampaign], list[FileProblems]]:
    """Every ``*.toml`` in ``path``, sorted by name: see :func:`load_files`."""
    return load_files(sorted(path.glob("*.toml")), lists_dirs=lists_dirs)


def load_files(
    files: Iterable[Path], *, lists_dirs: Sequence[Path] = ()
) -> tuple[list[LoadedCampaign], list[FileProblems]]:
    """Check each file in order; a bad file never stops the others.

    A campaign name already taken by an earlier file is an error of the later file.
    Files that load with warnings are in both lists.
    """
    loaded: list[LoadedCampaign] = []
    problems: list[FileProblems] = []
    seen: dict[str, Path] = {}
    for file in files:
        campaign, found = check_file(file, lists_dirs=lists_dirs)
        if campaign is not None and campaign.name in seen:
            line = KeyLines(file.read_text("utf-8-sig")).line_of(("name",))
            message = f'campaign "{campaign.name}" is already defined in {seen[campaign.name]}'
            found = [*found, Problem(str(file), line, "name", message)]
            campaign = None
        if campaign is not None:
            seen[campaign.name] = file
            loaded.append(campaign)
        if found:
            problems.append(FileProblems(str(file), tuple(found)))
    return loaded, problems


def register(
    session: Session, loaded: LoadedCampaign, *, now: datetime, actor: str
) -> tuple[Campaign, RegisterResult]:
    """Insert or update the campaign's row and write the audit event; ``state`` is kept.

    The caller commits. Returns the row and the event kind written.
    """
    model = loaded.model
    config = model.model_dump(mode="json")
    row = session.scalars(select(Campaign).where(Campaign.name == model.name)).one_or_none()
    details: dict[str, Any] = {"source_path": str(loaded.path), "sha256": loaded.sha256}
    kind: RegisterResult
    if row is None:
        row = Campaign(name=model.name, state=CampaignState.active, created_at=now, config={})
        session.add(row)
        kind = "campaign_loaded"
    elif row.config == config and row.source_path == str(loaded.path):
        kind = "campaign_unchanged"
        row.config_sha256 = loaded.sha256  # comments or layout may have changed
    else:
        kind = "campaign_updated"
        details["previous_sha256"] = row.config_sha256
        details["changed"] = sorted(
            key
            for key in config.keys() | row.config.keys()
            if config.get(key) != row.config.get(key)
        )
    if kind != "campaign_unchanged":
        row.description = model.description
        row.source_path = str(loaded.path)
        row.config = config
        row.config_sha256 = loaded.sha256
        row.timezone = model.timezone
        row.start_date = model.start
        row.end_date = model.end
        row.max_rounds = model.dialing.max_rounds
        row.min_spacing_s = int(model.dialing.min_spacing.total_seconds())
        row.updated_at = now
    session.flush()
    session.add(CampaignEvent(campaign_id=row.id, at=now, kind=kind, actor=actor, details=details))
    session.flush()
    return row, kind
